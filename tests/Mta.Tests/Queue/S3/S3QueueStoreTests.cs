// S3 queue specifics over the in-memory fake bucket: "maybe lost" conditional writes decided by
// re-reading, nothing visible before the envelope commit, orphan sweep, fencing by lease epoch,
// duplicate counting on takeover, lease heartbeat/takeover/retake timing on a fake clock, and a crash
// of the node after every single write of enqueue + delivery, followed by recovery on another node.
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

public sealed class S3QueueStoreTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10), Renew = TimeSpan.FromSeconds(3);

    private static async Task<List<QueuedMessage>> All(IQueueStore s)
    {
        var list = new List<QueuedMessage>();
        await foreach (var m in s.ListAsync(Ct)) list.Add(m);
        return list;
    }

    [Fact]
    public async Task Enqueue_writes_content_then_envelope_with_owner_epoch_and_conditional_creates()
    {
        var fake = new InMemoryObjectStore();
        var store = new S3QueueStore(fake, "p/", new FixedLeases("node-a", 7));
        await store.EnqueueAsync(Message("0ENQAAAAAAAAAAA", "a@b.c", Rcpt("d@e.f")), Content("hello"), Ct);
        Assert.Equal(["PUT p/q/content/0ENQAAAAAAAAAAA", "PUT p/q/env/0ENQAAAAAAAAAAA"], fake.Calls);
        var meta = fake.MetadataOf("p/q/env/0ENQAAAAAAAAAAA");
        Assert.Equal("node-a", meta[S3QueueStore.MetaOwner]);
        Assert.Equal("7", meta[S3QueueStore.MetaEpoch]);
    }

    [Theory]
    [InlineData(412)]
    [InlineData(500)]
    [InlineData(409)]
    public async Task A_create_whose_response_was_lost_is_recognised_as_ours_by_its_token(int answer)
    {
        var fake = new InMemoryObjectStore { LoseResponse = _ => answer };
        var store = new S3QueueStore(fake, "p/", new FixedLeases("node-a"));
        await store.EnqueueAsync(Message("0LOSTAAAAAAAAAA", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        fake.LoseResponse = null;
        Assert.NotNull(await store.LoadAsync("0LOSTAAAAAAAAAA", Ct));
    }

    [Fact]
    public async Task A_cas_whose_response_was_lost_is_recognised_as_ours_and_a_real_loser_retries_on_the_fresh_record()
    {
        var fake = new InMemoryObjectStore { CasLoserGets500 = true };
        var store = new S3QueueStore(fake, "p/", new FixedLeases("node-a"));
        var m = Message("0CASAAAAAAAAAAA", "a@b.c", Rcpt("d@e.f"));
        await store.EnqueueAsync(m, Content("x"), Ct);

        fake.LoseResponse = _ => 500;
        await store.UpdateAsync(m with { Attempts = 1 }, Ct);
        fake.LoseResponse = null;
        Assert.Equal(1, (await store.LoadAsync(m.QueueId, Ct))!.Attempts);

        // Another writer changes it behind our back: our CAS loses (500), we re-read and the admin update wins.
        fake.Tamper("p/q/env/0CASAAAAAAAAAAA", meta => meta);
        await store.UpdateAsync(m with { Attempts = 2 }, Ct);
        Assert.Equal(2, (await store.LoadAsync(m.QueueId, Ct))!.Attempts);
    }

    [Fact]
    public async Task Store_down_fails_enqueue_with_an_IOException_and_nothing_is_visible()
    {
        var fake = new InMemoryObjectStore { Down = true };
        var store = new S3QueueStore(fake, "p/", new FixedLeases("node-a"));
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("0DOWNAAAAAAAAAA", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct));
        fake.Down = false;
        Assert.Empty(await All(store));
    }

    [Fact]
    public async Task Crash_between_content_and_envelope_leaves_nothing_queued_and_the_sweep_removes_the_orphan()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new InMemoryObjectStore(time) { CrashAfterWrites = 1 };
        var store = new S3QueueStore(fake, "p/", new FixedLeases("node-a"), time: time);
        await Assert.ThrowsAnyAsync<IOException>(() => store.EnqueueAsync(Message("0ORPHANAAAAAAAA", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct));
        fake.Revive();
        var restarted = new S3QueueStore(fake, "p/", new FixedLeases("node-a", 2), time: time);
        Assert.Empty(await All(restarted));
        Assert.Equal(0, await restarted.SweepOrphansAsync(TimeSpan.FromHours(1), Ct));   // too young: may be an enqueue in progress
        time.Advance(TimeSpan.FromHours(2));
        Assert.Equal(1, await restarted.SweepOrphansAsync(TimeSpan.FromHours(1), Ct));
        Assert.Empty(fake.Keys);
    }

    [Fact]
    public async Task Runner_view_lists_only_messages_of_held_leases_and_fences_updates_by_epoch()
    {
        var fake = new InMemoryObjectStore();
        var aLeases = new FixedLeases("node-a", 1);
        var a = new S3QueueStore(fake, "p/", aLeases);
        var m = Message("0FENCEAAAAAAAAA", "a@b.c", DateTimeOffset.UtcNow.AddMinutes(-1), Rcpt("d@e.f"));
        await a.EnqueueAsync(m, Content("x"), Ct);
        var aView = new S3RunnerQueueView(a, aLeases);
        Assert.NotNull(await aView.LoadAsync(m.QueueId, Ct));     // a claims at epoch 1

        var bLeases = new FixedLeases("node-b", 1);
        var b = new S3QueueStore(fake, "p/", bLeases);
        var bView = new S3RunnerQueueView(b, bLeases);
        Assert.Empty(await All(bView));                           // b does not hold node-a's lease
        Assert.Null(await bView.LoadAsync(m.QueueId, Ct));

        bLeases.Held["node-a"] = 2;                               // b took over node-a's lease at epoch 2
        Assert.Single(await All(bView));
        Assert.NotNull(await bView.LoadAsync(m.QueueId, Ct));     // b claims: a's attempt was in flight
        Assert.Equal(1, b.PossibleDuplicates);
        Assert.Equal("node-b@2", fake.MetadataOf("p/q/env/0FENCEAAAAAAAAA")[S3QueueStore.MetaInflight]);

        // a still believes it holds epoch 1: its outcome is refused, and it cannot delete either.
        await Assert.ThrowsAsync<QueueOwnershipLostException>(() => aView.UpdateAsync(m with { Attempts = 1 }, Ct));
        await Assert.ThrowsAsync<QueueOwnershipLostException>(() => aView.DeleteAsync(m.QueueId, Ct));
        Assert.Equal(2, a.LostAttempts);
        Assert.Null(await aView.LoadAsync(m.QueueId, Ct));       // epoch 2 > 1: not a's to deliver

        await bView.UpdateAsync(m with { Attempts = 1 }, Ct);
        Assert.False(fake.MetadataOf("p/q/env/0FENCEAAAAAAAAA").ContainsKey(S3QueueStore.MetaInflight));
        await bView.DeleteAsync(m.QueueId, Ct);
        Assert.Empty(fake.Keys);
    }

    [Fact]
    public async Task Holder_at_a_newer_epoch_may_record_an_attempt_it_did_not_claim_and_the_write_claims_it()
    {
        // A forced flush delivers a message that was not due, so the runner view did not claim it first.
        var fake = new InMemoryObjectStore();
        var a = new S3QueueStore(fake, "p/", new FixedLeases("node-a", 1));
        var m = Message("0FLUSHAAAAAAAAA", "a@b.c", DateTimeOffset.UtcNow.AddHours(1), Rcpt("d@e.f")) with { NextAttempt = DateTimeOffset.UtcNow.AddHours(1) };
        await a.EnqueueAsync(m, Content("x"), Ct);
        var bLeases = new FixedLeases("node-b");
        bLeases.Held["node-a"] = 4;
        var bView = new S3RunnerQueueView(new S3QueueStore(fake, "p/", bLeases), bLeases);
        Assert.NotNull(await bView.LoadAsync(m.QueueId, Ct));          // not due: returned unclaimed
        Assert.Equal("1", fake.MetadataOf("p/q/env/0FLUSHAAAAAAAAA")[S3QueueStore.MetaEpoch]);
        await bView.UpdateAsync(m with { Attempts = 1 }, Ct);
        Assert.Equal("4", fake.MetadataOf("p/q/env/0FLUSHAAAAAAAAA")[S3QueueStore.MetaEpoch]);
        await Assert.ThrowsAsync<QueueOwnershipLostException>(() => new S3RunnerQueueView(a, new FixedLeases("node-a", 1)).UpdateAsync(m, Ct));
    }

    [Fact]
    public async Task Admin_update_keeps_owner_epoch_and_inflight_marker()
    {
        var fake = new InMemoryObjectStore();
        var leases = new FixedLeases("node-a", 3);
        var store = new S3QueueStore(fake, "p/", leases);
        var m = Message("0ADMKEEPAAAAAAA", "a@b.c", DateTimeOffset.UtcNow.AddMinutes(-1), Rcpt("d@e.f"));
        await store.EnqueueAsync(m, Content("x"), Ct);
        await new S3RunnerQueueView(store, leases).LoadAsync(m.QueueId, Ct);
        var admin = new S3QueueStore(fake, "p/", null);
        var loaded = await admin.LoadAsync(m.QueueId, Ct);
        await admin.UpdateAsync(loaded! with { Held = true }, Ct);
        var meta = fake.MetadataOf("p/q/env/0ADMKEEPAAAAAAA");
        Assert.Equal(("node-a", "3", "node-a@3"), (meta[S3QueueStore.MetaOwner], meta[S3QueueStore.MetaEpoch], meta[S3QueueStore.MetaInflight]));
        Assert.True((await store.LoadAsync(m.QueueId, Ct))!.Held);
    }

    [Fact]
    public async Task Lease_is_taken_over_after_the_timeout_and_the_old_holder_stops_then_takes_it_back()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new InMemoryObjectStore(time);
        var a = new S3LeaseManager(fake, "p/", "node-a", Timeout, Renew, time: time);
        var b = new S3LeaseManager(fake, "p/", "node-b", Timeout, Renew, time: time);
        var acquiredByB = new List<string>();
        b.Acquired += acquiredByB.Add;
        await a.TickAsync(Ct);
        await b.TickAsync(Ct);
        Assert.True(a.TryGetHeld("node-a", out long ea) && ea == 1);
        Assert.True(b.TryGetHeld("node-b", out _));
        Assert.False(b.TryGetHeld("node-a", out _));

        // a keeps renewing: no takeover however long.
        for (int i = 0; i < 10; i++) { time.Advance(Renew); await a.TickAsync(Ct); await b.TickAsync(Ct); }
        Assert.False(b.TryGetHeld("node-a", out _));

        // a stops (dead or partitioned). Before the timeout nobody takes over; a's own view lapses first.
        for (int i = 0; i < 3; i++) { time.Advance(Renew); await b.TickAsync(Ct); }
        Assert.False(a.TryGetHeld("node-a", out _));      // 9 s since a's last renewal: no longer valid for a
        Assert.False(b.TryGetHeld("node-a", out _));
        time.Advance(Renew);
        await b.TickAsync(Ct);
        Assert.True(b.TryGetHeld("node-a", out long eb));
        Assert.Equal(2, eb);
        Assert.Equal(["node-b", "node-a"], acquiredByB);

        // a comes back: its renewal loses, it retakes its own lease at epoch 3; b's next renewal loses.
        await a.TickAsync(Ct);
        Assert.True(a.TryGetHeld("node-a", out ea));
        Assert.Equal(3, ea);
        await b.TickAsync(Ct);
        Assert.False(b.TryGetHeld("node-a", out _));
        Assert.True(b.TryGetHeld("node-b", out _));
    }

    [Fact]
    public async Task Twenty_nodes_racing_for_a_dead_lease_yield_exactly_one_holder()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new InMemoryObjectStore(time) { CasLoserGets500 = true };
        var dead = new S3LeaseManager(fake, "p/", "dead", Timeout, Renew, time: time);
        await dead.TickAsync(Ct);
        var nodes = Enumerable.Range(0, 20).Select(i => new S3LeaseManager(fake, "p/", $"n{i}", Timeout, Renew, time: time)).ToList();
        await Task.WhenAll(nodes.Select(n => n.TickAsync(Ct)));
        time.Advance(Timeout);
        await Task.WhenAll(nodes.Select(n => Task.Run(() => n.TickAsync(Ct))));
        Assert.Single(nodes, n => n.TryGetHeld("dead", out _));
    }

    [Fact]
    public async Task Released_lease_with_mail_is_taken_over_at_once_and_given_back_when_empty()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new InMemoryObjectStore(time);
        var a = new S3LeaseManager(fake, "p/", "node-a", Timeout, Renew, time: time);
        await a.TickAsync(Ct);
        var aStore = new S3QueueStore(fake, "p/", a, time: time);
        await aStore.EnqueueAsync(Message("0RELAAAAAAAAAAA", "a@b.c", Rcpt("d@e.f")), Content("x"), Ct);
        await a.ReleaseAllAsync(Ct);

        S3QueueStore? bStore = null;
        var b = new S3LeaseManager(fake, "p/", "node-b", Timeout, Renew, () => bStore!.LastListOwners, time: time);
        bStore = new S3QueueStore(fake, "p/", b, time: time);
        await b.TickAsync(Ct);
        Assert.False(b.TryGetHeld("node-a", out _));   // no listing yet: b does not know node-a has mail
        await All(bStore);
        await b.TickAsync(Ct);
        Assert.True(b.TryGetHeld("node-a", out long epoch));
        Assert.Equal(2, epoch);

        var view = new S3RunnerQueueView(bStore, b);
        Assert.NotNull(await view.LoadAsync("0RELAAAAAAAAAAA", Ct));   // claim at epoch 2
        await view.DeleteAsync("0RELAAAAAAAAAAA", Ct);
        await All(bStore);
        time.Advance(Timeout);
        await b.TickAsync(Ct);
        Assert.False(b.TryGetHeld("node-a", out _));
    }

    /// <summary>
    /// Node A queues a message that its first attempt defers, then delivers it; A "crashes" right after its n-th write
    /// (every later call fails). Node B then takes over A's lease and runs its queue. For every n: a message whose
    /// enqueue was acknowledged is delivered (by A or B) at least once and then removed; duplicates happen only when
    /// A crashed after delivering and before recording it, and B counted each of them.
    /// </summary>
    [Theory]
    [InlineData(0)] [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)]
    [InlineData(6)] [InlineData(7)] [InlineData(8)] [InlineData(9)] [InlineData(10)] [InlineData(11)]
    public async Task Crash_after_any_write_then_takeover_loses_nothing_and_counts_duplicates(int crashAfter)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var fake = new InMemoryObjectStore(time);
        var delivered = new List<string>();
        int attempts = 0;
        Func<EnvelopeRecipient, DeliveryStatus> policy = _ => ++attempts == 1 ? DeliveryStatus.Deferred : DeliveryStatus.Sent;

        var aLeases = new S3LeaseManager(fake, "p/", "node-a", Timeout, Renew, time: time);
        await aLeases.TickAsync(Ct);
        var aStore = new S3QueueStore(fake, "p/", aLeases, time: time);
        var aRunner = Runner(aStore, new S3RunnerQueueView(aStore, aLeases), time, delivered, policy);
        fake.CrashAfterWrites = fake.Writes + crashAfter;

        var m = Message("0CRASHAAAAAAAAA", "a@b.c", time.GetUtcNow(), Rcpt("d@e.f"));
        bool acknowledged = true;
        try { await aStore.EnqueueAsync(m, Content(SampleMessage), Ct); }
        catch (IOException) { acknowledged = false; }
        if (acknowledged)
        {
            try
            {
                await aRunner.RunOnceAsync(Ct);               // deferred, or a crash
                time.Advance(TimeSpan.FromSeconds(301));
                await aLeases.TickAsync(Ct);                  // heartbeat (a write too: a crash point of its own)
                await aRunner.RunOnceAsync(Ct);               // delivered, or a crash
            }
            catch (IOException) { }                           // the listing of a crashed node fails
        }
        bool aCrashed = fake.Crashed;
        fake.Revive();

        // Node B: sees node-a's lease unchanged for the timeout, takes it over, delivers what is left.
        var bLeases = new S3LeaseManager(fake, "p/", "node-b", Timeout, Renew, time: time);
        var bStore = new S3QueueStore(fake, "p/", bLeases, time: time);
        var bRunner = Runner(bStore, new S3RunnerQueueView(bStore, bLeases), time, delivered, policy);
        await bLeases.TickAsync(Ct);
        time.Advance(Timeout + Renew);
        await bLeases.TickAsync(Ct);
        Assert.True(bLeases.TryGetHeld("node-a", out _));
        for (int i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1300));
            await bLeases.TickAsync(Ct);
            await bRunner.RunOnceAsync(Ct);
        }

        await bStore.SweepOrphansAsync(TimeSpan.FromHours(1), Ct);
        Assert.Empty(await All(bStore));
        Assert.DoesNotContain(fake.Keys, k => k.Contains("/q/env/") || k.Contains("/q/content/"));
        if (!acknowledged) { Assert.Empty(delivered); return; }
        Assert.Contains("0CRASHAAAAAAAAA:d@e.f", delivered);
        int duplicates = delivered.Count(d => d == "0CRASHAAAAAAAAA:d@e.f") - 1;
        Assert.True(duplicates <= bStore.PossibleDuplicates, $"{duplicates} duplicate(s), {bStore.PossibleDuplicates} counted (crashed: {aCrashed})");
    }

    private static QueueRunner Runner(IQueueStore store, IQueueStore view, TimeProvider time, List<string> delivered, Func<EnvelopeRecipient, DeliveryStatus> policy)
    {
        var options = new QueueOptions
        {
            QueueRunDelay = TimeSpan.FromSeconds(300), MinimalBackoffTime = TimeSpan.FromSeconds(300), MaximalBackoffTime = TimeSpan.FromSeconds(1200),
            MaximalQueueLifetime = TimeSpan.FromDays(5), BounceQueueLifetime = TimeSpan.FromDays(5), ActiveLimit = 2,
        };
        var identity = new IdentityOptions { MyHostname = "mx.example.org" };
        var bouncer = new Bouncer(store, new DsnBuilder(identity, time), new QueueIdGenerator(time), identity, time, null, Path.GetTempPath());
        return new QueueRunner(view, options, (e, rcpts, content, ct) =>
        {
            var outcomes = rcpts.Select(r =>
            {
                var status = policy(r);
                if (status == DeliveryStatus.Sent) lock (delivered) delivered.Add(e.QueueId + ":" + r.Address.Address);
                return status == DeliveryStatus.Sent
                    ? new RecipientOutcome(r, DeliveryStatus.Sent, new SmtpReply(250, "2.0.0", "ok"), "mx[192.0.2.1]:25")
                    : new RecipientOutcome(r, DeliveryStatus.Deferred, new SmtpReply(451, "4.4.1", "later"), "mx[192.0.2.1]:25");
            }).ToList();
            return Task.FromResult<IReadOnlyList<RecipientOutcome>>(outcomes);
        }, bouncer, time, null, Path.GetTempPath());
    }
}
