// SafeFile and IQueueFileSystem: owns durable file writes for the local queue and the seam through
// which tests inject faults (the idea of chasquid's internal/safeio, our own code).
// A durable write is: create a temporary file in the target directory, write, fsync the file,
// rename over the target, fsync the directory (rename(2) and fsync(2) as POSIX specifies them;
// see Postfix's cleanup/qmgr notes on "fsync before rename" for why every step is needed).
using System.Runtime.InteropServices;

namespace Mta.Queue;

/// <summary>
/// The file operations the local queue uses; the one place a test can make a step fail (or make the
/// "process" stop) to check crash recovery. All paths are absolute or relative to the process.
/// Every method throws <see cref="IOException"/> (or a subclass) on failure.
/// </summary>
public interface IQueueFileSystem
{
    /// <summary>Creates a new file for writing; fails when it exists (O_CREAT|O_EXCL).</summary>
    Stream CreateNew(string path);
    /// <summary>Flushes <paramref name="stream"/> (from <see cref="CreateNew"/>) to stable storage (fsync).</summary>
    void Fsync(Stream stream);
    /// <summary>Renames a file atomically, replacing <paramref name="destination"/> when it exists (rename(2)).</summary>
    void Rename(string source, string destination);
    /// <summary>Makes the directory entries of <paramref name="directory"/> durable (fsync of the directory; a no-op on Windows).</summary>
    void FsyncDirectory(string directory);
    /// <summary>Removes a file; no error when it is already gone.</summary>
    void Delete(string path);
    /// <summary>True when a regular file exists at <paramref name="path"/>.</summary>
    bool FileExists(string path);
    /// <summary>Opens a file for reading (shared read, delete allowed).</summary>
    /// <exception cref="FileNotFoundException">it does not exist.</exception>
    Stream OpenRead(string path);
    /// <summary>The full paths of the regular files directly in <paramref name="directory"/>; empty when it does not exist.</summary>
    IEnumerable<string> EnumerateFiles(string directory);
    /// <summary>Creates a directory and its parents when missing.</summary>
    void CreateDirectory(string directory);
}

/// <summary>The real file system (System.IO plus fsync(2) of directories through libc on Unix).</summary>
public sealed partial class PhysicalQueueFileSystem : IQueueFileSystem
{
    /// <summary>The one instance.</summary>
    public static PhysicalQueueFileSystem Instance { get; } = new();

    private PhysicalQueueFileSystem() { }

    /// <inheritdoc/>
    public Stream CreateNew(string path) =>
        new FileStream(path, PrivateCreate);

    /// <inheritdoc/>
    public void Fsync(Stream stream)
    {
        if (stream is FileStream fs) fs.Flush(flushToDisk: true);
        else stream.Flush();
    }

    /// <inheritdoc/>
    public void Rename(string source, string destination) => File.Move(source, destination, overwrite: true);

    /// <inheritdoc/>
    public void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return; // NTFS metadata is journaled; directories cannot be opened for fsync.
        int fd = NativeOpen(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"open({directory}) for fsync failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            if (NativeFsync(fd) != 0) throw new IOException($"fsync({directory}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally { _ = NativeClose(fd); }
    }

    /// <inheritdoc/>
    public void Delete(string path) => File.Delete(path);

    /// <inheritdoc/>
    public bool FileExists(string path) => File.Exists(path);

    /// <inheritdoc/>
    public Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 65536, FileOptions.SequentialScan);

    /// <inheritdoc/>
    public IEnumerable<string> EnumerateFiles(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory) : [];

    /// <inheritdoc/>
    public void CreateDirectory(string directory)
    {
        // Queued mail is private: 0700 directories, 0600 files (as Postfix's queue, which only postfix reads).
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static FileStreamOptions PrivateCreate
    {
        get
        {
            var o = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 65536 };
            if (!OperatingSystem.IsWindows()) o.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            return o;
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not enable.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int NativeOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);
    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int NativeFsync(int fd);
    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int NativeClose(int fd);
#pragma warning restore SYSLIB1054
}

/// <summary>
/// Durable whole-file writes over an <see cref="IQueueFileSystem"/>. The target either keeps its old
/// content or has the complete new content, also after a crash or power loss at any point. Directory fsyncs
/// go through a <see cref="DirectorySync"/> (group commit).
/// Temporary files are named <c>.tmp.&lt;name&gt;.&lt;random&gt;</c> in the target's directory
/// (see <see cref="IsTemporaryName"/>); a crash can leave one behind, and queue recovery removes them.
/// </summary>
public sealed class SafeFile
{
    private const string TempPrefix = ".tmp.";
    private readonly IQueueFileSystem _fs;
    private readonly DirectorySync _directorySync;

    /// <param name="fileSystem">the seam; <see cref="PhysicalQueueFileSystem.Instance"/> in production.</param>
    /// <param name="directorySync">shared group commit of directory fsyncs (one per queue); a private one when null.</param>
    public SafeFile(IQueueFileSystem fileSystem, DirectorySync? directorySync = null)
    {
        _fs = fileSystem;
        _directorySync = directorySync ?? new DirectorySync(fileSystem);
    }

    /// <summary>True for a file name (not path) that <see cref="WriteAsync(string, Func{Stream, CancellationToken, Task}, CancellationToken)"/> uses for its temporary files.</summary>
    public static bool IsTemporaryName(string fileName) => fileName.StartsWith(TempPrefix, StringComparison.Ordinal);

    /// <summary>Durably writes <paramref name="data"/> to <paramref name="path"/>, replacing any old file.</summary>
    /// <exception cref="IOException">any step failed; the target is unchanged (a temporary file may remain).</exception>
    public Task WriteAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        WriteAsync(path, (s, ct) => s.WriteAsync(data, ct).AsTask(), cancellationToken);

    /// <summary>
    /// Durably writes what <paramref name="writer"/> writes to the stream it is given to
    /// <paramref name="path"/>, replacing any old file: temp file, write, fsync, rename, fsync directory.
    /// </summary>
    /// <exception cref="IOException">any step failed; the target is unchanged (a temporary file may remain).</exception>
    /// <exception cref="OperationCanceledException">cancelled before the rename; the target is unchanged.</exception>
    public async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> writer, CancellationToken cancellationToken)
    {
        // fsync blocks: leave a socket's I/O thread (completions run inline there, Program.cs) for the thread pool.
        await Task.Yield();
        string directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        string temp = Path.Combine(directory, TempPrefix + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N")[..12]);
        bool renamed = false;
        try
        {
            var stream = _fs.CreateNew(temp);
            await using (stream.ConfigureAwait(false))
            {
                await writer(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                _fs.Fsync(stream);
            }
            cancellationToken.ThrowIfCancellationRequested();
            _fs.Rename(temp, path);
            renamed = true;
            await _directorySync.SyncAsync(directory).ConfigureAwait(false);
        }
        finally
        {
            if (!renamed)
            {
                try { _fs.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }
}
