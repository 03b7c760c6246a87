// Group commit of directory fsyncs: every caller is covered by an fsync that started after its call,
// and callers arriving while one runs share the next one.
using Mta.Queue;

namespace Mta.Tests.Queue;

public class DirectorySyncTests
{
    /// <summary>Counts FsyncDirectory calls; the first one blocks until released.</summary>
    private sealed class GatedFileSystem : IQueueFileSystem
    {
        public readonly ManualResetEventSlim FirstStarted = new();
        public readonly ManualResetEventSlim ReleaseFirst = new();
        public int Syncs;
        public Exception? FailWith;
        public void FsyncDirectory(string directory)
        {
            if (Interlocked.Increment(ref Syncs) == 1)
            {
                FirstStarted.Set();
                ReleaseFirst.Wait(TimeSpan.FromSeconds(10));
            }
            if (FailWith != null) throw FailWith;
        }
        public Stream CreateNew(string path) => throw new NotSupportedException();
        public void Fsync(Stream stream) => throw new NotSupportedException();
        public void Rename(string source, string destination) => throw new NotSupportedException();
        public void Delete(string path) => throw new NotSupportedException();
        public bool FileExists(string path) => throw new NotSupportedException();
        public Stream OpenRead(string path) => throw new NotSupportedException();
        public IEnumerable<string> EnumerateFiles(string directory) => throw new NotSupportedException();
        public void CreateDirectory(string directory) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Callers_during_a_running_fsync_wait_for_the_next_one_and_share_it()
    {
        var fs = new GatedFileSystem();
        var sync = new DirectorySync(fs);
        var first = Task.Run(() => sync.SyncAsync("/q/envelope"));
        Assert.True(fs.FirstStarted.Wait(TimeSpan.FromSeconds(10)));
        var later = Enumerable.Range(0, 20).Select(_ => sync.SyncAsync("/q/envelope")).ToArray();
        await Task.Delay(50);
        Assert.All(later, t => Assert.False(t.IsCompleted));   // the running fsync may have started before their renames
        fs.ReleaseFirst.Set();
        await first;
        await Task.WhenAll(later).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, fs.Syncs);
    }

    [Fact]
    public async Task Sequential_callers_each_get_their_own_fsync()
    {
        var fs = new GatedFileSystem();
        fs.ReleaseFirst.Set();
        var sync = new DirectorySync(fs);
        for (int i = 0; i < 5; i++) await sync.SyncAsync("/q/content");
        Assert.Equal(5, fs.Syncs);
    }

    [Fact]
    public async Task A_failed_fsync_fails_every_caller_it_covered()
    {
        var fs = new GatedFileSystem { FailWith = new IOException("fsync(/q/envelope) failed: errno 5") };
        var sync = new DirectorySync(fs);
        var first = Task.Run(() => sync.SyncAsync("/q/envelope"));
        Assert.True(fs.FirstStarted.Wait(TimeSpan.FromSeconds(10)));
        var later = Enumerable.Range(0, 3).Select(_ => sync.SyncAsync("/q/envelope")).ToArray();
        fs.ReleaseFirst.Set();
        await Assert.ThrowsAsync<IOException>(() => first);
        foreach (var t in later) await Assert.ThrowsAsync<IOException>(() => t.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
