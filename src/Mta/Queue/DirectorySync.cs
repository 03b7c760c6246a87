// DirectorySync: group commit of directory fsyncs for the local queue. A durable rename needs an
// fsync(2) of its directory that starts after the rename (POSIX: fsync of a directory makes its
// entries durable). While one fsync of a directory runs, every caller that arrives meanwhile shares
// the next one, so N sessions enqueueing at once cost about two directory fsyncs, not N.
using System.Collections.Concurrent;

namespace Mta.Queue;

/// <summary>Coalesces directory fsyncs per directory (group commit). Thread-safe.</summary>
public sealed class DirectorySync
{
    private readonly IQueueFileSystem _fs;
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);

    private sealed class Group
    {
        public readonly object Gate = new();
        public bool Running;
        public TaskCompletionSource? Next;
    }

    /// <param name="fileSystem">does the fsync (<see cref="IQueueFileSystem.FsyncDirectory"/>).</param>
    public DirectorySync(IQueueFileSystem fileSystem) => _fs = fileSystem;

    /// <summary>Completes once an fsync of <paramref name="directory"/> that started after this call has finished.
    /// The caller that finds no fsync running does it on its own thread; later callers share the next one.</summary>
    /// <exception cref="IOException">the fsync that covered this call failed (every caller it covered gets the error).</exception>
    public Task SyncAsync(string directory)
    {
        var g = _groups.GetOrAdd(directory, static _ => new Group());
        Task mine;
        lock (g.Gate)
        {
            g.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            mine = g.Next.Task;
            if (g.Running) return mine;
            g.Running = true;
        }
        RunOne(directory, g);
        return mine;
    }

    /// <summary>Takes the waiting batch, fsyncs for it, then hands any batch that formed meanwhile to the thread pool.</summary>
    private void RunOne(string directory, Group g)
    {
        TaskCompletionSource batch;
        lock (g.Gate)
        {
            batch = g.Next!;
            g.Next = null;
        }
        try
        {
            _fs.FsyncDirectory(directory);
            batch.SetResult();
        }
        catch (Exception e)
        {
            batch.SetException(e);
        }
        lock (g.Gate)
        {
            if (g.Next is null) { g.Running = false; return; }
        }
        _ = Task.Run(() => RunOne(directory, g));
    }
}
