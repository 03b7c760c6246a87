// QueueRunner with FakeTimeProvider over a real LocalQueueStore in a temp directory: retry schedule,
// removal, mixed outcomes, lifetime expiry and DSNs, NOTIFY=NEVER, null sender, hold, no double pick.
using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using static Mta.Tests.Queue.QueueTestData;

namespace Mta.Tests.Queue;

internal sealed class RunnerHarness : IDisposable
{
    private readonly TempDir _dir = new();
    public FakeTimeProvider Time { get; } = new(T0);
    public QueueOptions Options { get; }
    public LocalQueueStore Store { get; }
    public QueueRunner Runner { get; }
    public ListLogger<QueueRunner> Log { get; } = new();
    public ListLogger<Bouncer> BounceLog { get; } = new();
    public ConcurrentQueue<(string QueueId, string[] Recipients)> Calls { get; } = new();
    /// <summary>Decides each recipient's outcome; default: deferred 451 4.4.1.</summary>
    public Func<EnvelopeRecipient, DeliveryStatus> Policy { get; set; } = _ => DeliveryStatus.Deferred;
    /// <summary>Runs inside the delivery delegate (to block or count).</summary>
    public Func<Task>? During { get; set; }
    public Exception? Throw { get; set; }

    public RunnerHarness(int activeLimit = 20, TimeSpan? bounceLifetime = null)
    {
        Options = new QueueOptions
        {
            QueueDirectory = _dir.Path,
            QueueRunDelay = TimeSpan.FromSeconds(300),
            MinimalBackoffTime = TimeSpan.FromSeconds(300),
            MaximalBackoffTime = TimeSpan.FromSeconds(4000),
            MaximalQueueLifetime = TimeSpan.FromDays(5),
            BounceQueueLifetime = bounceLifetime ?? TimeSpan.FromDays(5),
            ActiveLimit = activeLimit,
        };
        Store = new LocalQueueStore(Options, time: Time);
        var identity = new IdentityOptions { MyHostname = "mx.example.org" };
        var bouncer = new Bouncer(Store, new DsnBuilder(identity, Time), new QueueIdGenerator(Time), identity, Time, BounceLog, _dir.Path);
        Runner = new QueueRunner(Store, Options, DeliverAsync, bouncer, Time, Log, _dir.Path);
    }

    private async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(MessageEnvelope e, IReadOnlyList<EnvelopeRecipient> rcpts, MessageContent content, CancellationToken ct)
    {
        Calls.Enqueue((e.QueueId, [.. rcpts.Select(r => r.Address.Address)]));
        if (During != null) await During();
        if (Throw != null) throw Throw;
        Time.Advance(TimeSpan.FromMilliseconds(1200));
        return [.. rcpts.Select(r => Policy(r) switch
        {
            DeliveryStatus.Sent => new RecipientOutcome(r, DeliveryStatus.Sent, new SmtpReply(250, "2.0.0", "Ok: queued as X1"), "mx.example.net[192.0.2.1]:25") { ConnectionSetup = TimeSpan.FromMilliseconds(300), Transmission = TimeSpan.FromMilliseconds(900) },
            DeliveryStatus.Bounced => new RecipientOutcome(r, DeliveryStatus.Bounced, new SmtpReply(550, "5.1.1", "user unknown"), "mx.example.net[192.0.2.1]:25"),
            _ => new RecipientOutcome(r, DeliveryStatus.Deferred, new SmtpReply(451, "4.4.1", "connection timed out"), "none"),
        })];
    }

    public async Task<QueuedMessage> Enqueue(QueuedMessage m)
    {
        await Store.EnqueueAsync(m, Content(SampleMessage), CancellationToken.None);
        return m;
    }

    public async Task<List<QueuedMessage>> All()
    {
        var list = new List<QueuedMessage>();
        await foreach (var m in Store.ListAsync(CancellationToken.None)) list.Add(m);
        return list;
    }

    public void Dispose() => _dir.Dispose();
}

public sealed class QueueRunnerTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task Deferred_message_is_retried_with_doubling_backoff_up_to_the_maximum()
    {
        using var h = new RunnerHarness();
        await h.Enqueue(Message("RETRY1", "alice@example.org", Rcpt("bob@example.net")));
        var waits = new List<double>();
        for (int i = 0; i < 7; i++)
        {
            Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
            var m = (await h.Store.LoadAsync("RETRY1", Ct))!;
            Assert.Equal(i + 1, m.Attempts);
            waits.Add((m.NextAttempt - h.Time.GetUtcNow()).TotalSeconds);
            // Not due yet: a run a second before does nothing.
            h.Time.SetUtcNow(m.NextAttempt.AddSeconds(-1));
            Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
            h.Time.SetUtcNow(m.NextAttempt);
        }
        Assert.Equal([300, 600, 1200, 2400, 4000, 4000, 4000], waits);
        Assert.Equal(7, h.Calls.Count);
    }

    [Fact]
    public async Task Success_removes_the_message_and_logs_in_postfix_shape()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Sent };
        await h.Enqueue(Message("OK1", "alice@example.org", Rcpt("bob@example.net")));
        await h.Runner.RunOnceAsync(Ct);
        Assert.Null(await h.Store.LoadAsync("OK1", Ct));
        Assert.False(File.Exists(h.Store.ContentPath("OK1")));
        Assert.Matches(new Regex(@"^OK1: to=<bob@example\.net>, relay=mx\.example\.net\[192\.0\.2\.1\]:25, delay=\d+(\.\d+)?, delays=\d+(\.\d+)?/\d+(\.\d+)?/0\.3/0\.9, dsn=2\.0\.0, status=sent \(250 2\.0\.0 Ok: queued as X1\)$"), h.Log.Lines[0]);
        Assert.Equal("OK1: removed", h.Log.Lines[^1]);
    }

    [Fact]
    public async Task Mixed_outcomes_keep_only_pending_recipients_for_the_next_attempt()
    {
        using var h = new RunnerHarness
        {
            Policy = r => r.Address.LocalPart switch { "sent" => DeliveryStatus.Sent, "hard" => DeliveryStatus.Bounced, _ => DeliveryStatus.Deferred },
        };
        await h.Enqueue(Message("MIX1", "alice@example.org", Rcpt("sent@example.net"), Rcpt("soft@example.net"), Rcpt("hard@example.net")));
        await h.Runner.RunOnceAsync(Ct);

        var m = (await h.Store.LoadAsync("MIX1", Ct))!;
        Assert.Equal([QueuedRecipientState.Delivered, QueuedRecipientState.Pending, QueuedRecipientState.Bounced], m.Recipients.Select(r => r.State));
        Assert.Equal(new SmtpReply(451, "4.4.1", "connection timed out"), m.Recipients[1].LastReply);
        Assert.Contains(h.Log.Lines, l => l.StartsWith("MIX1: to=<soft@example.net>, relay=none,") && l.EndsWith("dsn=4.4.1, status=deferred (451 4.4.1 connection timed out)"));
        Assert.Contains(h.Log.Lines, l => l.StartsWith("MIX1: to=<hard@example.net>,") && l.EndsWith("dsn=5.1.1, status=bounced (550 5.1.1 user unknown)"));

        // Exactly one DSN, for the hard bounce, to the sender.
        var dsn = Assert.Single(await h.All(), x => x.QueueId != "MIX1");
        Assert.True(dsn.Envelope.Sender.IsNull);
        Assert.Equal("alice@example.org", Assert.Single(dsn.Recipients).Recipient.Address.Address);

        h.Time.SetUtcNow(m.NextAttempt);
        h.Policy = _ => DeliveryStatus.Sent;
        await h.Runner.RunOnceAsync(Ct);
        var calls = h.Calls.Where(c => c.QueueId == "MIX1").ToList();
        Assert.Equal(["soft@example.net"], calls[1].Recipients);
        Assert.Null(await h.Store.LoadAsync("MIX1", Ct));
    }

    [Fact]
    public async Task Lifetime_expiry_bounces_pending_recipients_with_one_dsn()
    {
        using var h = new RunnerHarness();
        await h.Enqueue(Message("EXP1", "alice@example.org", Rcpt("a@example.net"), Rcpt("b@example.net")) with { NextAttempt = T0 });

        h.Time.SetUtcNow(T0.AddDays(4));                    // young enough: still deferred
        await h.Runner.RunOnceAsync(Ct);
        Assert.Single(await h.All());

        h.Time.SetUtcNow(T0.AddDays(5));                    // past maximal_queue_lifetime after this attempt
        await h.Runner.RunOnceAsync(Ct);
        Assert.Null(await h.Store.LoadAsync("EXP1", Ct));
        var dsn = Assert.Single(await h.All());
        Assert.True(dsn.Envelope.Sender.IsNull);
        using var s = await h.Store.OpenContentAsync(dsn.QueueId, Ct);
        var text = await new StreamReader(s).ReadToEndAsync();
        Assert.Contains("Final-Recipient: rfc822; a@example.net", text);
        Assert.Contains("Final-Recipient: rfc822; b@example.net", text);
        Assert.Contains("Action: failed", text);
        Assert.Contains(h.Log.Lines, l => l == "EXP1: from=<alice@example.org>, status=expired, returned to sender");
        Assert.Contains("EXP1: removed", h.Log.Lines);
    }

    [Fact]
    public async Task Notify_never_suppresses_the_expiry_dsn()
    {
        using var h = new RunnerHarness();
        await h.Enqueue(Message("NEV1", "alice@example.org", Rcpt("a@example.net", DsnNotify.Never)));
        h.Time.SetUtcNow(T0.AddDays(6));
        await h.Runner.RunOnceAsync(Ct);
        Assert.Empty(await h.All());
        Assert.Contains("NEV1: removed", h.Log.Lines);
    }

    [Fact]
    public async Task Null_sender_message_is_never_bounced()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Bounced };
        await h.Enqueue(Message("NULL1", "", Rcpt("a@example.net")));
        await h.Runner.RunOnceAsync(Ct);
        Assert.Empty(await h.All());   // removed, and no DSN queued
        Assert.Contains("NULL1: removed", h.Log.Lines);
    }

    [Fact]
    public async Task Null_sender_message_is_dropped_after_bounce_queue_lifetime()
    {
        using var h = new RunnerHarness(bounceLifetime: TimeSpan.FromDays(1));
        await h.Enqueue(Message("NULL2", "", Rcpt("a@example.net")));
        await h.Enqueue(Message("NORM2", "alice@example.org", Rcpt("a@example.net")));
        h.Time.SetUtcNow(T0.AddDays(1));
        await h.Runner.RunOnceAsync(Ct);
        Assert.Equal(["NORM2"], (await h.All()).Select(m => m.QueueId));   // the normal one lives on (5 days)
        Assert.Contains("NULL2: from=<>, status=expired, dropped", h.Log.Lines);
    }

    [Fact]
    public async Task Held_message_is_skipped_until_released()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Sent };
        var m = await h.Enqueue(Message("HOLD1", "alice@example.org", Rcpt("a@example.net")) with { Held = true, HoldReason = "test" });
        Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
        Assert.False(await h.Runner.FlushAsync("HOLD1", Ct));
        h.Runner.Wake();
        Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
        Assert.Empty(h.Calls);

        await h.Store.UpdateAsync(m with { Held = false, HoldReason = null }, Ct);
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
        Assert.Null(await h.Store.LoadAsync("HOLD1", Ct));
    }

    [Fact]
    public async Task A_message_being_delivered_is_not_picked_again()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Sent };
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.During = () => { entered.TrySetResult(); return gate.Task; };
        await h.Enqueue(Message("BUSY1", "alice@example.org", Rcpt("a@example.net")));

        var first = h.Runner.RunOnceAsync(Ct);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["BUSY1"], h.Runner.ActiveQueueIds);
        try
        {
            // A second run while the first delivers must neither pick it nor block on it.
            Assert.Equal(0, await h.Runner.RunOnceAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5)));
            Assert.True(await h.Runner.FlushAsync(null, Ct));
            Assert.Equal(0, await h.Runner.RunOnceAsync(Ct).WaitAsync(TimeSpan.FromSeconds(5)));
        }
        finally { gate.TrySetResult(); }
        Assert.Equal(1, await first.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Single(h.Calls);
        Assert.Empty(h.Runner.ActiveQueueIds);
    }

    [Fact]
    public async Task Active_limit_bounds_concurrent_deliveries()
    {
        using var h = new RunnerHarness(activeLimit: 2) { Policy = _ => DeliveryStatus.Sent };
        int inFlight = 0, max = 0;
        h.During = async () =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref max)) < now && Interlocked.CompareExchange(ref max, now, seen) != seen) { }
            await Task.Delay(30);
            Interlocked.Decrement(ref inFlight);
        };
        for (int i = 0; i < 6; i++) await h.Enqueue(Message("LIM" + i, "alice@example.org", Rcpt("a@example.net")));
        Assert.Equal(6, await h.Runner.RunOnceAsync(Ct));
        Assert.InRange(max, 1, 2);
        Assert.Empty(await h.All());
    }

    [Fact]
    public async Task A_throwing_delivery_agent_defers_every_recipient()
    {
        using var h = new RunnerHarness { Throw = new InvalidOperationException("boom") };
        await h.Enqueue(Message("THR1", "alice@example.org", Rcpt("a@example.net"), Rcpt("b@example.net")));
        await h.Runner.RunOnceAsync(Ct);
        var m = (await h.Store.LoadAsync("THR1", Ct))!;
        Assert.All(m.Recipients, r => Assert.Equal(QueuedRecipientState.Pending, r.State));
        Assert.All(m.Recipients, r => Assert.Equal("4.3.0", r.LastReply!.EnhancedStatus));
        Assert.Equal(1, m.Attempts);
    }

    [Fact]
    public async Task Flush_of_one_id_makes_it_due_now()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Sent };
        await h.Enqueue(Message("FL1", "alice@example.org", Rcpt("a@example.net")) with { NextAttempt = T0.AddHours(1) });
        Assert.Equal(0, await h.Runner.RunOnceAsync(Ct));
        Assert.True(await h.Runner.FlushAsync("FL1", Ct));
        Assert.False(await h.Runner.FlushAsync("NOSUCH", Ct));
        Assert.Equal(1, await h.Runner.RunOnceAsync(Ct));
    }

    [Fact]
    public async Task RunAsync_delivers_when_woken_and_when_a_message_falls_due()
    {
        using var h = new RunnerHarness { Policy = _ => DeliveryStatus.Sent };
        using var cts = new CancellationTokenSource();
        var run = h.Runner.RunAsync(cts.Token);

        await h.Enqueue(Message("WAKE1", "alice@example.org", Rcpt("a@example.net")));
        h.Runner.Wake();
        await Eventually(() => h.Calls.Count == 1);

        await h.Enqueue(Message("LATER1", "alice@example.org", Rcpt("a@example.net")) with { NextAttempt = h.Time.GetUtcNow().AddSeconds(100) });
        h.Runner.Wake();    // the scan sees LATER1 is due in 100 s and sleeps only that long
        await Task.Delay(100);
        Assert.Single(h.Calls);
        await Eventually(() => { h.Time.Advance(TimeSpan.FromSeconds(50)); return h.Calls.Count == 2; });

        cts.Cancel();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(await h.All());
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("condition not met in 10 s");
            await Task.Delay(20);
        }
    }
}
