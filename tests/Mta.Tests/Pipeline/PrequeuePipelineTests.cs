// The pre-queue reply table of docs/flow.md, row by row, with the real dispatcher, the real local queue
// and the real bouncer; only the next hops are scripted (an agent that answers per recipient).
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Pipeline;
using Mta.Queue;
using Mta.Routing;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Tests.Pipeline;

public sealed class PrequeuePipelineTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mta-pq-" + Guid.NewGuid().ToString("N"));
    private readonly LocalQueueStore _queue;
    private readonly ScriptedAgent _agent = new();
    private int _wakes;

    public PrequeuePipelineTests()
    {
        _queue = new LocalQueueStore(new QueueOptions { QueueDirectory = Path.Combine(_dir, "queue") });
    }

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    private sealed class ScriptedAgent : IDeliveryAgent
    {
        public Dictionary<string, SmtpReply> Replies { get; } = new();
        public bool HangUntilCancelled { get; set; }
        public int Calls;

        public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            if (HangUntilCancelled)
            {
                try { await Task.Delay(Timeout.Infinite, cancellationToken); } catch (OperationCanceledException) { }
                return request.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Deferred, new SmtpReply(451, "4.4.2", "deadline"), "sink[127.0.0.1]:25")).ToList();
            }
            return request.Recipients.Select(r =>
            {
                var reply = Replies.TryGetValue(r.Address.LocalPart, out var x) ? x : new SmtpReply(250, "2.0.0", "Ok");
                var status = reply.Code < 400 ? DeliveryStatus.Sent : reply.Code < 500 ? DeliveryStatus.Deferred : DeliveryStatus.Bounced;
                return new RecipientOutcome(r, status, reply, "sink[127.0.0.1]:25");
            }).ToList();
        }
    }

    private sealed class OneHop : IRouter
    {
        public NextHop Route(SmtpPath recipient) => new(TransportKind.Smtp, "sink", 25, true);
    }

    private sealed class FailingStore(IQueueStore inner) : IQueueStore
    {
        public Task EnqueueAsync(QueuedMessage message, MessageContent content, CancellationToken ct) => throw new IOException("disk full");
        public Task UpdateAsync(QueuedMessage message, CancellationToken ct) => inner.UpdateAsync(message, ct);
        public Task DeleteAsync(string queueId, CancellationToken ct) => inner.DeleteAsync(queueId, ct);
        public Task<QueuedMessage?> LoadAsync(string queueId, CancellationToken ct) => inner.LoadAsync(queueId, ct);
        public Task<Stream> OpenContentAsync(string queueId, CancellationToken ct) => inner.OpenContentAsync(queueId, ct);
        public IAsyncEnumerable<QueuedMessage> ListAsync(CancellationToken ct) => inner.ListAsync(ct);
    }

    private PrequeuePipeline Pipeline(DeliveryOptions? delivery = null, IQueueStore? store = null)
    {
        var identity = new IdentityOptions { MyHostname = "mx.test", MailName = "Mta" };
        var q = store ?? _queue;
        var dispatcher = new DeliveryDispatcher(new OneHop(), new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Smtp] = _agent });
        var bouncer = new Bouncer(q, new DsnBuilder(identity), new QueueIdGenerator(), identity);
        return new PrequeuePipeline(delivery ?? new DeliveryOptions { PrequeueDeliveryDeadline = TimeSpan.FromSeconds(30), PrequeueMaxInflight = 10 },
            new QueueOptions { MinimalBackoffTime = TimeSpan.FromSeconds(300) }, dispatcher, q, bouncer, () => Interlocked.Increment(ref _wakes),
            TimeProvider.System, NullLoggerFactory.Instance);
    }

    private static (MessageEnvelope, MessageContent) Message(params string[] rcpts)
    {
        var spool = new MessageSpool(1 << 16, Path.GetTempPath());
        spool.Write("Subject: t\r\nFrom: a@b.test\r\n\r\nbody\r\n"u8);
        spool.Flush();
        var env = new MessageEnvelope
        {
            QueueId = new QueueIdGenerator().Next(),
            Sender = new SmtpPath("sender", "b.test"),
            Recipients = rcpts.Select(r => new EnvelopeRecipient(new SmtpPath(r, "d.test"))).ToList(),
            ArrivalTime = DateTimeOffset.UtcNow,
        };
        return (env, new MessageContent("Received: x\r\n"u8.ToArray(), spool));
    }

    private async Task<List<QueuedMessage>> Queued()
    {
        var list = new List<QueuedMessage>();
        await foreach (var m in _queue.ListAsync(CancellationToken.None)) list.Add(m);
        return list;
    }

    [Fact]
    public async Task All_sent_is_250_and_nothing_is_queued()
    {
        var (env, content) = Message("a", "b");
        var reply = await Pipeline().DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(250, reply.Code);
        Assert.Contains("delivered as " + env.QueueId, reply.Text);
        Assert.Empty(await Queued());
    }

    [Fact]
    public async Task All_bounced_alike_relays_the_next_hops_5xx_and_queues_nothing()
    {
        _agent.Replies["a"] = _agent.Replies["b"] = new SmtpReply(550, "5.1.1", "No such user");
        var (env, content) = Message("a", "b");
        var reply = await Pipeline().DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(new SmtpReply(550, "5.1.1", "No such user"), reply);
        Assert.Empty(await Queued());
    }

    [Fact]
    public async Task All_deferred_relays_the_4xx_and_queues_nothing()
    {
        _agent.Replies["a"] = new SmtpReply(451, "4.3.0", "try later");
        var (env, content) = Message("a");
        var reply = await Pipeline().DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(new SmtpReply(451, "4.3.0", "try later"), reply);
        Assert.Empty(await Queued());
    }

    [Fact]
    public async Task Sent_and_deferred_queues_only_the_deferred_then_250()
    {
        _agent.Replies["b"] = new SmtpReply(452, "4.2.2", "mailbox full");
        var (env, content) = Message("a", "b");
        var reply = await Pipeline().DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(250, reply.Code);
        Assert.Contains("queued as " + env.QueueId, reply.Text);
        var q = Assert.Single(await Queued());
        Assert.Equal([QueuedRecipientState.Delivered, QueuedRecipientState.Pending], q.Recipients.Select(r => r.State));
        Assert.Equal(452, q.Recipients[1].LastReply!.Code);
        await using var stored = await _queue.OpenContentAsync(env.QueueId, default);
        Assert.Equal("Received: x\r\nSubject: t\r\nFrom: a@b.test\r\n\r\nbody\r\n", new StreamReader(stored).ReadToEnd());
    }

    [Fact]
    public async Task Sent_and_bounced_gives_250_and_a_queued_dsn_to_the_sender()
    {
        _agent.Replies["b"] = new SmtpReply(550, "5.1.1", "No such user");
        var (env, content) = Message("a", "b");
        var reply = await Pipeline().DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(250, reply.Code);
        var dsn = Assert.Single(await Queued());
        Assert.True(dsn.Envelope.Sender.IsNull);
        Assert.Equal("sender@b.test", Assert.Single(dsn.Envelope.Recipients).Address.Address);
        Assert.True(_wakes > 0);
    }

    [Fact]
    public async Task Deadline_passing_queues_the_undelivered_and_answers_250()
    {
        _agent.HangUntilCancelled = true;
        var (env, content) = Message("a");
        var reply = await Pipeline(new DeliveryOptions { PrequeueDeliveryDeadline = TimeSpan.FromMilliseconds(200), PrequeueMaxInflight = 10 })
            .DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(250, reply.Code);
        Assert.Equal(QueuedRecipientState.Pending, Assert.Single(Assert.Single(await Queued()).Recipients).State);
    }

    [Fact]
    public async Task Over_prequeue_max_inflight_queues_without_a_delivery_attempt()
    {
        var (env, content) = Message("a");
        var reply = await Pipeline(new DeliveryOptions { PrequeueDeliveryDeadline = TimeSpan.FromSeconds(30), PrequeueMaxInflight = 0 })
            .DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(250, reply.Code);
        Assert.Equal(0, _agent.Calls);
        Assert.Single(await Queued());
        Assert.Equal(1, _wakes);
    }

    [Fact]
    public async Task A_queue_write_failure_is_451_never_250()
    {
        _agent.Replies["b"] = new SmtpReply(451, "4.3.0", "later");
        var (env, content) = Message("a", "b");
        var reply = await Pipeline(store: new FailingStore(_queue)).DeliverAsync(env, content, DateTimeOffset.UtcNow, default);
        Assert.Equal(new SmtpReply(451, "4.3.0", "Error: queue file write error"), reply);
    }
}
