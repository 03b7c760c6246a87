// DeliveryDispatcher: grouping by next hop, concurrent groups, recipient order, agent failures,
// missing agents, the deadline token, and the Postfix-shaped log line.
using Microsoft.Extensions.Logging;
using Mta.Delivery;
using Mta.Routing;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Tests.Delivery;

public class DeliveryDispatcherTests
{
    private sealed class MapRouter(Func<SmtpPath, NextHop> f) : IRouter
    {
        public NextHop Route(SmtpPath recipient) => f(recipient);
    }

    private sealed class RecordingAgent(Func<DeliveryRequest, CancellationToken, Task<IReadOnlyList<RecipientOutcome>>>? behaviour = null) : IDeliveryAgent
    {
        public List<DeliveryRequest> Requests { get; } = [];
        public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add(request);
            if (behaviour != null) return await behaviour(request, cancellationToken);
            return request.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Sent, new SmtpReply(250, "2.0.0", "ok " + request.NextHop.Host), request.NextHop.Host)).ToArray();
        }
    }

    private sealed class ListLogger : ILogger<DeliveryDispatcher>
    {
        public List<string> Lines { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Lines) Lines.Add(formatter(state, exception));
        }
    }

    private static NextHop ByDomain(SmtpPath p) => new(TransportKind.Smtp, p.DomainLower, 25, false);

    [Fact]
    public async Task Groups_by_next_hop_and_keeps_recipient_order()
    {
        var agent = new RecordingAgent();
        var d = new DeliveryDispatcher(new MapRouter(ByDomain), new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Smtp] = agent });
        var rcpts = new[] { "a@one.example", "b@two.example", "c@one.example", "d@three.example", "e@TWO.example" }.Select(Msg.R).ToArray();
        var o = await d.DeliverAsync(Msg.Envelope(rcpts), rcpts, Msg.Content(), default);
        Assert.Equal(rcpts, o.Select(x => x.Recipient));
        Assert.Equal(["one.example", "two.example", "one.example", "three.example", "two.example"], o.Select(x => x.Relay));
        Assert.Equal(3, agent.Requests.Count);
        Assert.Equal(["a@one.example", "c@one.example"], agent.Requests.Single(r => r.NextHop.Host == "one.example").Recipients.Select(r => r.Address.Address));
    }

    [Fact]
    public async Task Groups_run_concurrently()
    {
        var both = new TaskCompletionSource();
        int arrived = 0;
        var agent = new RecordingAgent(async (req, ct) =>
        {
            if (Interlocked.Increment(ref arrived) == 2) both.SetResult();
            await both.Task.WaitAsync(TimeSpan.FromSeconds(5), ct);   // deadlocks (times out) if groups were sequential
            return req.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Sent, new SmtpReply(250, null, "ok"), "x")).ToArray();
        });
        var d = new DeliveryDispatcher(new MapRouter(ByDomain), new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Smtp] = agent });
        var rcpts = new[] { Msg.R("a@one.example"), Msg.R("b@two.example") };
        var o = await d.DeliverAsync(Msg.Envelope(rcpts), rcpts, Msg.Content(), default);
        Assert.All(o, x => Assert.Equal(DeliveryStatus.Sent, x.Status));
    }

    [Fact]
    public async Task Routes_to_the_agent_of_each_transport()
    {
        var local = new RecordingAgent();
        var smtp = new RecordingAgent();
        var router = new MapRouter(p => p.Domain == "local.example" ? NextHop.Local : ByDomain(p));
        var d = new DeliveryDispatcher(router, new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Local] = local, [TransportKind.Smtp] = smtp });
        var rcpts = new[] { Msg.R("a@local.example"), Msg.R("b@remote.example") };
        await d.DeliverAsync(Msg.Envelope(rcpts), rcpts, Msg.Content(), default);
        Assert.Single(local.Requests);
        Assert.Single(smtp.Requests);
    }

    [Fact]
    public async Task Agent_exception_wrong_count_router_exception_and_missing_agent_become_deferrals()
    {
        var throwing = new RecordingAgent((_, _) => throw new InvalidOperationException("boom"));
        var short_ = new RecordingAgent((_, _) => Task.FromResult<IReadOnlyList<RecipientOutcome>>([]));
        var router = new MapRouter(p => p.LocalPart switch
        {
            "throw" => new NextHop(TransportKind.Smtp, "t", 25, false),
            "short" => new NextHop(TransportKind.Lmtp, "s", 24, true),
            "route" => throw new InvalidOperationException("router bug"),
            _ => new NextHop(TransportKind.Discard, "", 0, true),
        });
        var logger = new ListLogger();
        var d = new DeliveryDispatcher(router, new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Smtp] = throwing, [TransportKind.Lmtp] = short_ }, logger);
        var rcpts = new[] { Msg.R("throw@x"), Msg.R("short@x"), Msg.R("route@x"), Msg.R("none@x") };
        var o = await d.DeliverAsync(Msg.Envelope(rcpts), rcpts, Msg.Content(), default);
        Assert.All(o, x => Assert.Equal(DeliveryStatus.Deferred, x.Status));
        Assert.Equal(["4.3.0", "4.3.0", "4.3.0", "4.3.5"], o.Select(x => x.Dsn));
        Assert.Contains(logger.Lines, l => l.Contains("delivery agent for smtp:t:25 failed"));
    }

    [Fact]
    public async Task Deadline_token_reaches_the_agents()
    {
        var agent = new RecordingAgent(async (req, ct) =>
        {
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            return req.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Deferred, new SmtpReply(451, "4.4.2", "deadline"), "x")).ToArray();
        });
        var d = new DeliveryDispatcher(new MapRouter(ByDomain), new Dictionary<TransportKind, IDeliveryAgent> { [TransportKind.Smtp] = agent });
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var rcpts = new[] { Msg.R("a@x.example") };
        var o = await d.DeliverAsync(Msg.Envelope(rcpts), rcpts, Msg.Content(), cts.Token);
        Assert.Equal("4.4.2", o[0].Dsn);
    }
}
