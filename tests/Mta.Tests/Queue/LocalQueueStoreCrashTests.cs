// Crash-safety of LocalQueueStore: a simulated crash at every step of Enqueue and Update, then
// RecoverAsync on the real file system; plus quarantine of corrupt envelope records.
using Microsoft.Extensions.Time.Testing;
using Mta.Configuration;
using Mta.Queue;
using static Mta.Tests.Queue.QueueTestData;

namespace Mta.Tests.Queue;

public sealed class LocalQueueStoreCrashTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly CancellationToken Ct = CancellationToken.None;
    private QueueOptions Options => new() { QueueDirectory = _dir.Path };

    public void Dispose() => _dir.Dispose();

    private static bool InDir(string path, string dir) => System.IO.Path.GetFileName(System.IO.Path.GetDirectoryName(path)) == dir || System.IO.Path.GetFileName(path) == dir;

    private IEnumerable<string> Files(string sub) => Directory.EnumerateFiles(System.IO.Path.Combine(_dir.Path, sub)).Select(System.IO.Path.GetFileName)!;

    [Theory]
    [InlineData("create", "content", false)]
    [InlineData("fsync", "content", false)]
    [InlineData("rename", "content", false)]
    [InlineData("fsyncdir", "content", false)]
    [InlineData("create", "envelope", false)]
    [InlineData("fsync", "envelope", false)]
    [InlineData("rename", "envelope", false)]
    [InlineData("fsyncdir", "envelope", true)]
    public async Task Crash_during_enqueue_leaves_either_nothing_or_the_whole_message(string op, string dir, bool committed)
    {
        var fs = new FaultInjectingFileSystem((o, p) => o == op && InDir(p, dir));
        var store = new LocalQueueStore(Options, fileSystem: fs);
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("CRASH1", "a@b.c", Rcpt("d@e.f")), Content(SampleMessage), Ct));
        Assert.True(fs.Crashed);

        // Restart on the real file system.
        var recovered = new LocalQueueStore(Options);
        var report = await recovered.RecoverAsync(Ct);
        var list = new List<QueuedMessage>();
        await foreach (var m in recovered.ListAsync(Ct)) list.Add(m);

        if (committed)
        {
            Assert.Equal("CRASH1", Assert.Single(list).QueueId);
            using var s = await recovered.OpenContentAsync("CRASH1", Ct);
            using var r = new StreamReader(s);
            Assert.Equal(SampleMessage, await r.ReadToEndAsync());
            Assert.Equal(1, report.Messages);
        }
        else
        {
            Assert.Empty(list);
            Assert.Empty(Files("content"));
            Assert.Empty(Files("envelope"));
            Assert.Equal(0, report.Messages);
        }
        Assert.Empty(Files("corrupt"));
    }

    [Fact]
    public async Task Content_written_but_no_envelope_is_removed_at_recovery()
    {
        var fs = new FaultInjectingFileSystem((o, p) => o == "create" && InDir(p, "envelope"));
        var store = new LocalQueueStore(Options, fileSystem: fs);
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("ORPHAN1", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct));
        Assert.Equal(["ORPHAN1"], Files("content"));   // the crash left it behind

        var report = await new LocalQueueStore(Options).RecoverAsync(Ct);
        Assert.Equal(1, report.OrphanedContentRemoved);
        Assert.Empty(Files("content"));
    }

    [Fact]
    public async Task Envelope_temp_written_but_not_renamed_is_removed_and_content_too()
    {
        var fs = new FaultInjectingFileSystem((o, p) => o == "rename" && InDir(p, "envelope"));
        var store = new LocalQueueStore(Options, fileSystem: fs);
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("TEMP1", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct));
        Assert.Contains(Files("envelope"), n => SafeFile.IsTemporaryName(n));

        var report = await new LocalQueueStore(Options).RecoverAsync(Ct);
        Assert.Equal(1, report.TemporaryFilesRemoved);
        Assert.Equal(1, report.OrphanedContentRemoved);
        Assert.Empty(Files("envelope"));
        Assert.Empty(Files("content"));
    }

    [Theory]
    [InlineData("create")]
    [InlineData("fsync")]
    [InlineData("rename")]
    public async Task Crash_during_update_keeps_the_old_record(string op)
    {
        var m = Message("UPD2", "a@b.c", Rcpt("d@e.f"));
        await new LocalQueueStore(Options).EnqueueAsync(m, Content("x"), Ct);
        var fs = new FaultInjectingFileSystem((o, p) => o == op && InDir(p, "envelope"));
        await Assert.ThrowsAnyAsync<IOException>(() => new LocalQueueStore(Options, fileSystem: fs).UpdateAsync(m with { Attempts = 9 }, Ct));

        var recovered = new LocalQueueStore(Options);
        await recovered.RecoverAsync(Ct);
        var loaded = await recovered.LoadAsync("UPD2", Ct);
        Assert.Equal(0, loaded!.Attempts);
        Assert.DoesNotContain(Files("envelope"), SafeFile.IsTemporaryName);
    }

    [Fact]
    public async Task Crash_after_envelope_unlink_in_delete_leaves_content_that_recovery_removes()
    {
        await new LocalQueueStore(Options).EnqueueAsync(Message("DEL2", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        var fs = new FaultInjectingFileSystem((o, p) => o == "delete" && InDir(p, "content"));
        await Assert.ThrowsAnyAsync<IOException>(() => new LocalQueueStore(Options, fileSystem: fs).DeleteAsync("DEL2", Ct));
        var recovered = new LocalQueueStore(Options);
        Assert.Equal(1, (await recovered.RecoverAsync(Ct)).OrphanedContentRemoved);
        Assert.Null(await recovered.LoadAsync("DEL2", Ct));
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("{\"version\":1,\"queueId\":\"BAD1\"}")]
    [InlineData("{\"version\":1,\"queueId\":\"OTHER\",\"sender\":{},\"envelopeRecipients\":[],\"recipients\":[]}")]
    [InlineData("{\"version\":1,\"queueId\":\"BAD1\",\"sender\":{},\"envelopeRecipients\":[],\"recipients\":[{\"localPart\":\"a\",\"domain\":\"b\",\"state\":\"Exploded\"}]}")]
    [InlineData("{\"version\":1,\"queueId\":\"BAD1\",\"sender\":{},\"envelopeRecipients\":[],\"recipients\":[{\"localPart\":\"a\",\"domain\":\"b\",\"lastReply\":{\"code\":999}}]}")]
    [InlineData("")]
    public async Task Corrupt_envelope_is_moved_to_corrupt_and_skipped(string json)
    {
        var logger = new ListLogger<LocalQueueStore>();
        var store = new LocalQueueStore(Options, logger, time: new FakeTimeProvider(T0));
        await store.EnqueueAsync(Message("GOOD1", "a@b.c", Rcpt("d@e.f")), Content("good"), Ct);
        await store.EnqueueAsync(Message("BAD1", "a@b.c", Rcpt("d@e.f")), Content("bad"), Ct);
        await File.WriteAllTextAsync(store.EnvelopePath("BAD1"), json);

        var ids = new List<string>();
        await foreach (var m in store.ListAsync(Ct)) ids.Add(m.QueueId);
        Assert.Equal(["GOOD1"], ids);
        Assert.Null(await store.LoadAsync("BAD1", Ct));
        Assert.Contains(Files("corrupt"), n => n.StartsWith("BAD1.") && n.EndsWith(".json"));
        Assert.Contains(Files("corrupt"), n => n.StartsWith("BAD1.") && n.EndsWith(".content"));
        Assert.Contains(logger.Lines, l => l.StartsWith("BAD1: envelope record unusable"));
    }

    [Fact]
    public async Task Record_of_a_newer_schema_is_skipped_but_left_in_place()
    {
        var logger = new ListLogger<LocalQueueStore>();
        var store = new LocalQueueStore(Options, logger);
        await store.EnqueueAsync(Message("NEW1", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        await File.WriteAllTextAsync(store.EnvelopePath("NEW1"), "{\"version\":2,\"queueId\":\"NEW1\"}");
        await foreach (var _ in store.ListAsync(Ct)) Assert.Fail("nothing readable");
        Assert.True(File.Exists(store.EnvelopePath("NEW1")));
        await Assert.ThrowsAsync<QueueRecordVersionException>(() => store.LoadAsync("NEW1", Ct));
        Assert.Contains(logger.Lines, l => l.Contains("NEW1: skipped"));
    }

    [Fact]
    public async Task Envelope_without_content_is_quarantined_at_recovery()
    {
        var store = new LocalQueueStore(Options);
        await store.EnqueueAsync(Message("NOCONT", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        File.Delete(store.ContentPath("NOCONT"));
        var report = await store.RecoverAsync(Ct);
        Assert.Equal(1, report.EnvelopesWithoutContent);
        Assert.Null(await store.LoadAsync("NOCONT", Ct));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("ID.json")]
    public async Task Ids_that_are_not_plain_tokens_are_rejected(string id)
    {
        var store = new LocalQueueStore(Options);
        await Assert.ThrowsAsync<ArgumentException>(() => store.LoadAsync(id, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.EnqueueAsync(Message(id, "a@b.c", Rcpt("d@e.f")), Content("x"), Ct));
    }
}
