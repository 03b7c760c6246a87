// MessageSpool: the received message bytes (after dot-unstuffing), kept in memory up to a threshold
// and in a temporary file beyond it, readable any number of times. Owns no protocol logic.
namespace Mta.Smtp.Content;

/// <summary>
/// Append-only store for one message's content, CRLF line endings, as received after DATA/BDAT.
/// The first <c>memoryThreshold</c> bytes live in memory; once exceeded, everything moves to an
/// unlinked-on-dispose temporary file in <c>tempDirectory</c>. Not thread-safe for concurrent writes;
/// after writing completes, <see cref="OpenRead"/> may be called concurrently.
/// </summary>
public sealed class MessageSpool : IDisposable
{
    private readonly int _memoryThreshold;
    private readonly string _tempDirectory;
    private byte[] _buffer = [];
    private int _bufferLength;
    private FileStream? _file;
    private string? _filePath;

    /// <param name="memoryThreshold">bytes kept in memory before spilling to a file (0 = always a file).</param>
    /// <param name="tempDirectory">directory for the spill file; created when missing.</param>
    public MessageSpool(int memoryThreshold, string tempDirectory)
    {
        _memoryThreshold = memoryThreshold;
        _tempDirectory = tempDirectory;
    }

    private bool _readOnlyFile;

    /// <summary>
    /// A read-only spool over an existing file (e.g. queued content). <see cref="Write"/> throws;
    /// <see cref="Dispose"/> does not delete the file.
    /// </summary>
    /// <exception cref="IOException">the file cannot be opened.</exception>
    public static MessageSpool OpenExisting(string path)
    {
        var spool = new MessageSpool(0, Path.GetDirectoryName(path) ?? ".");
        spool._file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        spool._filePath = path;
        spool._readOnlyFile = true;
        spool.Length = spool._file.Length;
        return spool;
    }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>True once the content spilled to a temporary file.</summary>
    public bool IsOnDisk => _file != null;

    /// <summary>Appends bytes.</summary>
    /// <exception cref="IOException">the spill file could not be written.</exception>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (_readOnlyFile || _complete) throw new InvalidOperationException("spool is complete or read-only");
        if (data.IsEmpty) return;
        if (_file == null && _bufferLength + data.Length > _memoryThreshold) Spill();
        if (_file != null)
        {
            _file.Write(data);
        }
        else
        {
            if (_buffer.Length < _bufferLength + data.Length)
                Array.Resize(ref _buffer, Math.Min(Math.Max(_buffer.Length * 2, _bufferLength + data.Length), Math.Max(_memoryThreshold, _bufferLength + data.Length)));
            data.CopyTo(_buffer.AsSpan(_bufferLength));
            _bufferLength += data.Length;
        }
        Length += data.Length;
    }

    private void Spill()
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(_tempDirectory);
        else if (!Directory.Exists(_tempDirectory)) Directory.CreateDirectory(_tempDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _filePath = Path.Combine(_tempDirectory, "spool-" + Guid.NewGuid().ToString("N"));
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.Read | FileShare.Delete, BufferSize = 65536 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite; // message content is private
        _file = new FileStream(_filePath, options);
        _file.Write(_buffer, 0, _bufferLength);
        _buffer = [];
        _bufferLength = 0;
    }

    private bool _complete;

    /// <summary>
    /// Ends writing: flushes buffered file writes so readers see every byte. After this,
    /// <see cref="OpenRead"/> may be called concurrently and <see cref="Write"/> throws.
    /// </summary>
    public void Flush()
    {
        if (!_readOnlyFile) _file?.Flush();
        _complete = true;
    }

    /// <summary>A new independent read-only stream over everything written so far.</summary>
    public Stream OpenRead()
    {
        if (_file != null)
        {
            if (!_readOnlyFile && !_complete) _file.Flush();
            return new FileStream(_filePath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 65536, FileOptions.SequentialScan);
        }
        return new MemoryStream(_buffer, 0, _bufferLength, writable: false);
    }

    /// <summary>The content as one array (for small messages and tests). Reads the file when spilled.</summary>
    public byte[] ToArray()
    {
        if (_file == null) return _buffer.AsSpan(0, _bufferLength).ToArray();
        using var s = OpenRead();
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Discards the content and removes the spill file.</summary>
    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        if (_filePath != null && !_readOnlyFile) { try { File.Delete(_filePath); } catch (IOException) { } _filePath = null; }
        _buffer = [];
        _bufferLength = 0;
        Length = 0;
    }
}
