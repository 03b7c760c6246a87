// The queue contract at the runner level, for every backend: the retry schedule, the bounce after
// maximal_queue_lifetime, hold and release through `mta queue`, removal after delivery, and queue
// administration (list shows held messages). Instantiated for the local directory and the S3 store
// over the in-memory fake here, and for the S3 store over a real Ceph RGW in compat-tests.
using Microsoft.Extensions.Time.Testing;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Queue;
using Mta.Queue.S3;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using static Mta.Tests.Queue.QueueTestData;

namespace Mta.Tests.Queue.S3;

/// <summary>A backend under test: the store sessions and the admin use, and the store the runner uses.</summary>
public sealed record QueueBackendUnderTest(IQueueStore Store, IQueueStore RunnerStore);

public abstract class QueueBackendContractTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>A fresh, empty backend on <paramref name="time"/>.</summary>
    protected abstract QueueBackendUnderTest CreateBackend(TimeProvider time);

    private sealed class Harness
    {
        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);
        public QueueBackendUnderTest Backend { get; }
        public QueueRunner Runner { get; }
        public QueueAdmin Admin { get; }
        public List<string> Delivered { get; } = [];
        public Func<EnvelopeRecipient, DeliveryStatus> Policy { get; set; } = _ => DeliveryStatus.Deferred;

        public Harness(QueueBackendContractTests owner, TimeSpan? lifetime = null)
        {
            Backend = owner.CreateBackend(Time);
            var options = new QueueOptions
            {
                QueueRunDelay = TimeSpan.FromSeconds(300), MinimalBackoffTime = TimeSpan.FromSeconds(300), MaximalBackoffTime = TimeSpan.FromSeconds(4000),
                MaximalQueueLifetime = lifetime ?? TimeSpan.FromDays(5), BounceQueueLifetime = TimeSpan.FromDays(5), ActiveLimit = 4,
            };
            var identity = new IdentityOptions { MyHostname = "mx.example.org" };
            var bouncer = new Bouncer(Backend.Store, new DsnBuilder(identity, Time), new QueueIdGenerator(Time), identity, Time, null, Path.GetTempPath());
            Runner = new QueueRunner(Backend.RunnerStore, options, DeliverAsync, bouncer, Time, null, Path.GetTempPath());
            Admin = new QueueAdmin(Backend.Store, Time, Runner);
        }

        private Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(MessageEnvelope e, IReadOnlyList<EnvelopeRecipient> rcpts, MessageContent content, CancellationToken ct)
        {
            lock (Delivered) Delivered.AddRange(rcpts.Select(r => e.QueueId + ":" + r.Address.Address));
            Time.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult<IReadOnlyList<RecipientOutcome>>([.. rcpts.Select(r => Policy(r) switch
            {
                DeliveryStatus.Sent => new RecipientOutcome(r, DeliveryStatus.Sent, new SmtpReply(250, "2.0.0", "ok"), "mx[192.0.2.1]:25"),
                DeliveryStatus.Bounced => new RecipientOutcome(r, DeliveryStatus.Bounced, new SmtpReply(550, "5.1.1", "user unknown"), "mx[192.0.2.1]:25"),
                _ => new RecipientOutcome(r, DeliveryStatus.Deferred, new SmtpReply(451, "4.4.1", "try later"), "mx[192.0.2.1]:25"),
            })]);
        }

        public async Task Enqueue(QueuedMessage m) => await Backend.Store.EnqueueAsync(m, Content(SampleMessage), Ct);

        public async Task<List<QueuedMessage>> All()
        {
            var list = new List<QueuedMessage>();
            await foreach (var m in Backend.Store.ListAsync(Ct)) list.Add(m);
            return list;
        }
    }

    [Fact]
    public async Task Deferred_message_follows_the_retry_schedule_then_is_removed_after_delivery()
    {
        var h = new Harness(this);
        await h.Enqueue(Message("0RETRYAAAAAAAAA", "alice@example.org", h.Time.GetUtcNow(), Rcpt("bob@example.net")));
        var waits = new List<double>();
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
            var m = (await h.Backend.Store.LoadAsync("0RETRYAAAAAAAAA", Ct))!;
            Assert.Equal(i + 1, m.Attempts);
            waits.Add((m.NextAttempt - h.Time.GetUtcNow()).TotalSeconds);
            h.Time.SetUtcNow(m.NextAttempt.AddSeconds(-5));
            Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));   // not due yet
            h.Time.SetUtcNow(m.NextAttempt);
        }
        Assert.Equal([300, 600, 1200], waits);
        h.Policy = _ => DeliveryStatus.Sent;
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
        Assert.Null(await h.Backend.Store.LoadAsync("0RETRYAAAAAAAAA", Ct));
        await Assert.ThrowsAnyAsync<IOException>(() => h.Backend.Store.OpenContentAsync("0RETRYAAAAAAAAA", Ct));
        Assert.Empty(await h.All());
        Assert.Equal(4, h.Delivered.Count);
    }

    [Fact]
    public async Task Message_older_than_maximal_queue_lifetime_bounces_with_one_dsn_and_is_removed()
    {
        var h = new Harness(this, lifetime: TimeSpan.FromHours(1));
        await h.Enqueue(Message("0EXPIREAAAAAAAA", "alice@example.org", h.Time.GetUtcNow().AddHours(-2), Rcpt("bob@example.net")));
        await h.Runner.RunOnceAsync(Ct);
        Assert.Null(await h.Backend.Store.LoadAsync("0EXPIREAAAAAAAA", Ct));
        var dsn = Assert.Single(await h.All());
        Assert.True(dsn.Envelope.Sender.IsNull);
        Assert.Equal("alice@example.org", Assert.Single(dsn.Recipients).Recipient.Address.Address);
        using var s = await h.Backend.Store.OpenContentAsync(dsn.QueueId, Ct);
        string text = await new StreamReader(s).ReadToEndAsync();
        Assert.Contains("bob@example.net", text);
    }

    [Fact]
    public async Task Held_message_is_listed_and_not_delivered_until_released()
    {
        var h = new Harness(this) { Policy = _ => DeliveryStatus.Sent };
        await h.Enqueue(Message("0HOLDAAAAAAAAAA", "alice@example.org", h.Time.GetUtcNow(), Rcpt("bob@example.net")) with { Held = true, HoldReason = "milter QUARANTINE: test" });
        Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
        var list = new StringWriter();
        await h.Admin.ListAsync(list, json: false, Ct);
        Assert.Contains("0HOLDAAAAAAAAAA!", list.ToString());
        Assert.Empty(h.Delivered);

        Assert.Equal(QueueAdminResult.Done, await h.Admin.ReleaseAsync("0HOLDAAAAAAAAAA", Ct));
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
        Assert.Equal(["0HOLDAAAAAAAAAA:bob@example.net"], h.Delivered);
        Assert.Null(await h.Backend.Store.LoadAsync("0HOLDAAAAAAAAAA", Ct));
    }

    [Fact]
    public async Task Hold_by_the_admin_stops_retries_and_requeue_makes_it_due_now()
    {
        var h = new Harness(this);
        await h.Enqueue(Message("0ADMINAAAAAAAAA", "alice@example.org", h.Time.GetUtcNow(), Rcpt("bob@example.net")));
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
        Assert.Equal(QueueAdminResult.Done, await h.Admin.HoldAsync("0ADMINAAAAAAAAA", "admin", Ct));
        h.Time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
        Assert.Equal(QueueAdminResult.Done, await h.Admin.ReleaseAsync("0ADMINAAAAAAAAA", Ct));
        Assert.Equal(QueueAdminResult.Done, await h.Admin.RequeueAsync("0ADMINAAAAAAAAA", Ct));
        h.Policy = _ => DeliveryStatus.Sent;
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
        Assert.Empty(await h.All());
        Assert.Equal(QueueAdminResult.NotFound, await h.Admin.DeleteAsync("0ADMINAAAAAAAAA", Ct));
    }

    [Fact]
    public async Task Json_listing_and_delete_work_on_the_backend()
    {
        var h = new Harness(this);
        await h.Enqueue(Message("0JSONAAAAAAAAAA", "alice@example.org", h.Time.GetUtcNow(), Rcpt("bob@example.net")));
        var json = new StringWriter();
        Assert.Equal(1, await h.Admin.ListAsync(json, json: true, Ct));
        Assert.Contains("\"queue_id\":\"0JSONAAAAAAAAAA\"", json.ToString());
        Assert.Contains($"\"message_size\":{SampleMessage.Length}", json.ToString());
        Assert.Equal(QueueAdminResult.Done, await h.Admin.DeleteAsync("0JSONAAAAAAAAAA", Ct));
        Assert.Empty(await h.All());
    }
}

public sealed class LocalQueueBackendContractTests : QueueBackendContractTests, IDisposable
{
    private readonly TempDir _dir = new();
    protected override QueueBackendUnderTest CreateBackend(TimeProvider time)
    {
        var store = new LocalQueueStore(new QueueOptions { QueueDirectory = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N")) }, time: time);
        return new(store, store);
    }
    public void Dispose() => _dir.Dispose();
}

public sealed class S3FakeQueueBackendContractTests : QueueBackendContractTests
{
    protected override QueueBackendUnderTest CreateBackend(TimeProvider time)
    {
        var leases = new FixedLeases("node-a");
        var store = new S3QueueStore(new InMemoryObjectStore(time), "t/", leases, time: time);
        return new(store, new S3RunnerQueueView(store, leases));
    }
}

public sealed class S3FakeQueueStoreContractTests : QueueStoreContractTests
{
    protected override IQueueStore CreateStore() => new S3QueueStore(new InMemoryObjectStore(), "t/", new FixedLeases("node-a"));
}
