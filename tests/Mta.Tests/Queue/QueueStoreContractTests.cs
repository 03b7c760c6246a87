// Contract tests every IQueueStore backend must pass (local directory now; the S3 backend later
// derives from this class and supplies CreateStore).
using System.Text;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using static Mta.Tests.Queue.QueueTestData;

namespace Mta.Tests.Queue;

public abstract class QueueStoreContractTests
{
    /// <summary>A fresh, empty store.</summary>
    protected abstract IQueueStore CreateStore();

    private static readonly CancellationToken Ct = CancellationToken.None;

    private static async Task<List<QueuedMessage>> All(IQueueStore s)
    {
        var list = new List<QueuedMessage>();
        await foreach (var m in s.ListAsync(Ct)) list.Add(m);
        return list;
    }

    private static async Task<byte[]> ReadContent(IQueueStore s, string id)
    {
        using var stream = await s.OpenContentAsync(id, Ct);
        using var ms = new MemoryStream();
        await stream.CopyToAsync(ms);
        return ms.ToArray();
    }

    [Fact]
    public async Task Enqueue_then_load_round_trips_every_envelope_field()
    {
        var store = CreateStore();
        var rcpt = Rcpt("bob@example.net", DsnNotify.Failure | DsnNotify.Delay, "rfc822;Bob@Example.NET");
        var m = Message("0CQ7ZB1K3T94P2M", "alice@example.org", rcpt, Rcpt("carol@example.net")) with
        {
            Attempts = 3,
            NextAttempt = T0.AddMinutes(10),
            Envelope = Message("0CQ7ZB1K3T94P2M", "alice@example.org", rcpt, Rcpt("carol@example.net")).Envelope with
            {
                MailParameters = new MailParameters { Size = 1234, Body = BodyType.EightBitMime, SmtpUtf8 = true, Ret = DsnRet.Headers, EnvId = "env-1", Auth = "alice@example.org" },
            },
        };
        m = m with
        {
            Recipients = [
                new QueuedRecipient(rcpt, QueuedRecipientState.Pending) { LastReply = new SmtpReply(451, "4.4.1", "connect to mx[192.0.2.1]:25: timed out", "second line"), LastRelay = "mx[192.0.2.1]:25" },
                new QueuedRecipient(Rcpt("carol@example.net"), QueuedRecipientState.Delivered) { LastReply = new SmtpReply(250, null, "ok"), LastRelay = "mx2[192.0.2.2]:25" },
            ],
        };
        await store.EnqueueAsync(m, Content(SampleMessage), Ct);

        var loaded = await store.LoadAsync(m.QueueId, Ct);
        Assert.NotNull(loaded);
        Assert.Equal(m.Envelope with { Recipients = [] }, loaded.Envelope with { Recipients = [] });
        Assert.Equal(m.Envelope.Recipients, loaded.Envelope.Recipients);
        Assert.Equal(m.Attempts, loaded.Attempts);
        Assert.Equal(m.NextAttempt, loaded.NextAttempt);
        Assert.Equal(m.Recipients.Count, loaded.Recipients.Count);
        for (int i = 0; i < m.Recipients.Count; i++)
        {
            Assert.Equal(m.Recipients[i].Recipient, loaded.Recipients[i].Recipient);
            Assert.Equal(m.Recipients[i].State, loaded.Recipients[i].State);
            Assert.Equal(m.Recipients[i].LastReply, loaded.Recipients[i].LastReply);
            Assert.Equal(m.Recipients[i].LastRelay, loaded.Recipients[i].LastRelay);
        }
        Assert.False(loaded.Held);
    }

    [Fact]
    public async Task Content_bytes_are_exact_prefix_then_body()
    {
        var store = CreateStore();
        var body = new byte[200_000];
        new Random(7).NextBytes(body);
        var content = Content(body, prefix: "Received: from x\r\n");
        await store.EnqueueAsync(Message("1AAAAAAAAAAAAAA", "a@b.c", Rcpt("d@e.f")), content, Ct);

        var expected = Encoding.ASCII.GetBytes("Received: from x\r\n").Concat(body).ToArray();
        Assert.Equal(expected, await ReadContent(store, "1AAAAAAAAAAAAAA"));
    }

    [Fact]
    public async Task Load_of_unknown_id_is_null()
    {
        var store = CreateStore();
        Assert.Null(await store.LoadAsync("NOSUCHID", Ct));
    }

    [Fact]
    public async Task Enqueue_of_an_existing_id_fails_and_keeps_the_first()
    {
        var store = CreateStore();
        await store.EnqueueAsync(Message("DUP1", "a@b.c", Rcpt("first@e.f")), Content("one"), Ct);
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("DUP1", "a@b.c", Rcpt("second@e.f")), Content("two"), Ct));
        var m = await store.LoadAsync("DUP1", Ct);
        Assert.Equal("first", m!.Recipients[0].Recipient.Address.LocalPart);
        Assert.Equal("one"u8.ToArray(), await ReadContent(store, "DUP1"));
    }

    [Fact]
    public async Task List_returns_every_message_once()
    {
        var store = CreateStore();
        foreach (var id in new[] { "B0000000000000C", "A0000000000000B", "C0000000000000A" })
            await store.EnqueueAsync(Message(id, "a@b.c", Rcpt("d@e.f")), Content(id), Ct);
        var ids = (await All(store)).Select(m => m.QueueId).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["A0000000000000B", "B0000000000000C", "C0000000000000A"], ids);
    }

    [Fact]
    public async Task Update_replaces_the_record_and_keeps_content()
    {
        var store = CreateStore();
        var m = Message("UPD1", "a@b.c", Rcpt("d@e.f"), Rcpt("g@e.f"));
        await store.EnqueueAsync(m, Content("body"), Ct);
        var updated = m with
        {
            Attempts = 1,
            NextAttempt = T0.AddSeconds(300),
            Recipients = [m.Recipients[0] with { State = QueuedRecipientState.Delivered }, m.Recipients[1] with { LastReply = new SmtpReply(450, "4.2.0", "greylisted") }],
        };
        await store.UpdateAsync(updated, Ct);
        var loaded = await store.LoadAsync("UPD1", Ct);
        Assert.Equal(1, loaded!.Attempts);
        Assert.Equal(T0.AddSeconds(300), loaded.NextAttempt);
        Assert.Equal(QueuedRecipientState.Delivered, loaded.Recipients[0].State);
        Assert.Equal(new SmtpReply(450, "4.2.0", "greylisted"), loaded.Recipients[1].LastReply);
        Assert.Equal("body"u8.ToArray(), await ReadContent(store, "UPD1"));
    }

    [Fact]
    public async Task Update_of_a_deleted_message_fails_and_does_not_resurrect_it()
    {
        var store = CreateStore();
        var m = Message("GONE1", "a@b.c", Rcpt("d@e.f"));
        await store.EnqueueAsync(m, Content("x"), Ct);
        await store.DeleteAsync("GONE1", Ct);
        await Assert.ThrowsAnyAsync<IOException>(() => store.UpdateAsync(m with { Attempts = 1 }, Ct));
        Assert.Null(await store.LoadAsync("GONE1", Ct));
    }

    [Fact]
    public async Task Delete_removes_envelope_and_content()
    {
        var store = CreateStore();
        await store.EnqueueAsync(Message("DEL1", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        await store.EnqueueAsync(Message("KEEP1", "a@b.c", Rcpt("d@e.f")), Content("y"), Ct);
        await store.DeleteAsync("DEL1", Ct);
        Assert.Null(await store.LoadAsync("DEL1", Ct));
        await Assert.ThrowsAnyAsync<IOException>(() => store.OpenContentAsync("DEL1", Ct));
        Assert.Equal(["KEEP1"], (await All(store)).Select(m => m.QueueId));
    }

    [Fact]
    public async Task Hold_and_release_are_durable_in_the_envelope_record()
    {
        var store = CreateStore();
        var m = Message("HOLD1", "a@b.c", Rcpt("d@e.f"));
        await store.EnqueueAsync(m, Content("x"), Ct);
        await store.UpdateAsync(m with { Held = true, HoldReason = "milter QUARANTINE: virus" }, Ct);
        var held = await store.LoadAsync("HOLD1", Ct);
        Assert.True(held!.Held);
        Assert.Equal("milter QUARANTINE: virus", held.HoldReason);
        Assert.True((await All(store)).Single().Held);

        await store.UpdateAsync(held with { Held = false, HoldReason = null }, Ct);
        var released = await store.LoadAsync("HOLD1", Ct);
        Assert.False(released!.Held);
        Assert.Null(released.HoldReason);
    }

    [Fact]
    public async Task Null_sender_round_trips()
    {
        var store = CreateStore();
        await store.EnqueueAsync(Message("NULL1", "", Rcpt("d@e.f")), Content("x"), Ct);
        Assert.True((await store.LoadAsync("NULL1", Ct))!.Envelope.Sender.IsNull);
    }
}

public sealed class LocalQueueStoreContractTests : QueueStoreContractTests, IDisposable
{
    private readonly TempDir _dir = new();
    protected override IQueueStore CreateStore() =>
        new LocalQueueStore(new Mta.Configuration.QueueOptions { QueueDirectory = System.IO.Path.Combine(_dir.Path, Guid.NewGuid().ToString("N")) });
    public void Dispose() => _dir.Dispose();
}
