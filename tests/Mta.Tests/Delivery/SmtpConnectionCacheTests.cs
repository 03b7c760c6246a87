// SmtpDeliveryAgent's outbound connection cache (smtp_connection_cache_on_demand = yes) against scripted
// peers: reuse across deliveries, expiry after smtp_connection_cache_time_limit (fake time), RSET after an
// orderly refusal, no reuse after 421, transparent retry when a reused connection turns out dead, reuse
// limits, concurrent deliveries never sharing a session, and LMTP over a UNIX socket.
using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Mta.Configuration;
using Mta.Delivery;

namespace Mta.Tests.Delivery;

public class SmtpConnectionCacheTests
{
    private static SmtpDeliveryAgent Agent(TimeProvider? time = null, int reuseCount = 0, int perEndpoint = 0, TimeSpan reuseTime = default) =>
        new(new DeliveryOptions
        {
            HeloName = "mta.test", TlsSecurityLevel = "none",
            ConnectTimeout = TimeSpan.FromSeconds(5), HeloTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = TimeSpan.FromSeconds(5), DataTransferTimeout = TimeSpan.FromSeconds(5), DataDoneTimeout = TimeSpan.FromSeconds(5),
            ConnectionCacheOnDemand = true, ConnectionReuseCountLimit = reuseCount, ConnectionCacheEndpointLimit = perEndpoint,
            ConnectionReuseTimeLimit = reuseTime,
        }, new IdentityOptions { MyHostname = "mta.test" }, new FakeDns(), timeProvider: time);

    private static NextHop Hop(int port) => new(TransportKind.Smtp, "127.0.0.1", port, true);

    private static DeliveryRequest Request(NextHop hop, string body, params string[] rcpts)
    {
        var r = rcpts.Select(Msg.R).ToArray();
        return new DeliveryRequest(Msg.Envelope(r), hop, r, Msg.Content("Subject: test\r\n\r\n" + body + "\r\n"));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (int i = 0; i < 200 && !condition(); i++) await Task.Delay(25);
        Assert.True(condition());
    }

    [Fact]
    public async Task Consecutive_deliveries_to_one_next_hop_share_one_connection()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        await using var agent = Agent();
        var a = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single();
        Assert.Equal(1, agent.CachedConnections);
        var b = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Sent, DeliveryStatus.Sent), (a.Status, b.Status));
        Assert.Equal(1, server.Connections);
        Assert.Equal(a.Relay, b.Relay);
        Assert.Equal($"127.0.0.1[127.0.0.1]:{server.Port}", b.Relay);
        var lines = server.Peers[0].Lines;
        Assert.Equal(2, lines.Count(l => l.StartsWith("MAIL FROM:")));
        Assert.Single(lines, l => l.StartsWith("EHLO"));
        Assert.DoesNotContain("RSET", lines);   // after a completed transaction the server has reset itself
        Assert.DoesNotContain("QUIT", lines);
        await agent.DisposeAsync();
        await Eventually(() => server.Peers[0].Lines.Contains("QUIT"));
    }

    [Fact]
    public async Task Idle_connection_is_closed_after_the_cache_time_limit()
    {
        var time = new FakeTimeProvider();
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        await using var agent = Agent(time);
        await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default);
        time.Advance(TimeSpan.FromMilliseconds(1900));
        Assert.Equal(1, agent.CachedConnections);
        time.Advance(TimeSpan.FromMilliseconds(200));
        Assert.Equal(0, agent.CachedConnections);
        await Eventually(() => server.Peers[0].Lines.Contains("QUIT"));
        var o = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, o.Status);
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task Orderly_refusal_is_followed_by_rset_on_reuse()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync(rcpt: a => a.StartsWith("grey") ? "450 4.2.0 greylisted" : "250 2.1.5 Ok"));
        await using var agent = Agent();
        var a = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "grey@x.example"), default)).Single();
        var b = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Deferred, DeliveryStatus.Sent), (a.Status, b.Status));
        Assert.Equal(1, server.Connections);
        var lines = server.Peers[0].Lines;
        int rset = lines.IndexOf("RSET");
        Assert.True(rset > 0 && rset < lines.FindLastIndex(l => l.StartsWith("MAIL FROM:")), string.Join(" | ", lines));
    }

    [Theory]
    [InlineData("rcpt")]
    [InlineData("final")]
    public async Task A_421_reply_is_never_followed_by_reuse(string where)
    {
        await using var server = new ScriptedServer((i, p) => i == 0
            ? p.ServeAsync(rcpt: where == "rcpt" ? _ => "421 4.3.2 shutting down" : null, final: where == "final" ? _ => "421 4.3.2 shutting down" : null)
            : p.ServeAsync());
        await using var agent = Agent();
        var a = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Deferred, a.Status);
        Assert.Equal(0, agent.CachedConnections);
        var b = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, b.Status);
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task Protocol_error_or_timeout_is_never_followed_by_reuse()
    {
        await using var server = new ScriptedServer(async (i, p) =>
        {
            if (i > 0) { await p.ServeAsync(); return; }
            await p.SendAsync("220 x\r\n"); await p.ReadLineAsync(); await p.SendAsync("250-x\r\n250 PIPELINING\r\n");
            for (int k = 0; k < 3; k++) await p.ReadLineAsync();
            await p.SendAsync("250 ok\r\n250 ok\r\n354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("this is not an SMTP reply\r\n");
            await p.ReadLineAsync();
        });
        await using var agent = Agent();
        var a = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Deferred, "4.5.0"), (a.Status, a.Dsn));
        Assert.Equal(0, agent.CachedConnections);
        var b = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, b.Status);
        Assert.Equal(2, server.Connections);
    }

    /// <summary>Connection 0 serves one transaction, then misbehaves as <paramref name="how"/> says; later ones serve normally.</summary>
    [Theory]
    [InlineData("close-when-idle")]      // found dead by the liveness check before use
    [InlineData("close-at-mail")]        // found dead only when MAIL gets no reply
    [InlineData("421-at-mail")]          // an idle-timeout 421 answering MAIL
    [InlineData("421-when-idle")]        // the 421 arrives while idle, then the close
    public async Task A_dead_reused_connection_is_replaced_without_changing_the_outcome(string how)
    {
        var idleDone = new TaskCompletionSource();
        await using var server = new ScriptedServer(async (i, p) =>
        {
            if (i > 0) { await p.ServeAsync(); return; }
            await p.SendAsync("220 x\r\n"); await p.ReadLineAsync(); await p.SendAsync("250-x\r\n250 PIPELINING\r\n");
            for (int k = 0; k < 3; k++) await p.ReadLineAsync();
            await p.SendAsync("250 ok\r\n250 ok\r\n354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("250 2.0.0 Ok: queued as FIRST\r\n");
            switch (how)
            {
                case "close-when-idle": idleDone.SetResult(); return;
                case "421-when-idle": await p.SendAsync("421 4.4.2 x Error: timeout exceeded\r\n"); idleDone.SetResult(); return;
                case "close-at-mail": idleDone.SetResult(); await p.ReadLineAsync(); return;
                default: idleDone.SetResult(); await p.ReadLineAsync(); await p.SendAsync("421 4.4.2 x Error: timeout exceeded\r\n"); return;
            }
        });
        await using var agent = Agent();
        var a = (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single();
        Assert.Equal("250 2.0.0 Ok: queued as FIRST", a.Reply.ToString());
        await idleDone.Task;
        await Task.Delay(100);   // let the close (FIN) reach our socket
        var b = await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example", "c@x.example"), default);
        Assert.All(b, o =>
        {
            Assert.Equal(DeliveryStatus.Sent, o.Status);
            Assert.Equal("250 2.0.0 Ok: queued as FAKE1", o.Reply.ToString());
            Assert.Equal($"127.0.0.1[127.0.0.1]:{server.Port}", o.Relay);
        });
        Assert.Equal(2, server.Connections);
        Assert.Single(server.Peers[1].Data);
        Assert.Equal(1, agent.CachedConnections);
    }

    [Fact]
    public async Task Parallel_deliveries_never_share_a_session()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        await using var agent = Agent();
        const int parallel = 10, rounds = 8;
        var results = await Task.WhenAll(Enumerable.Range(0, parallel).Select(w => Task.Run(async () =>
        {
            var outcomes = new List<RecipientOutcome>();
            for (int r = 0; r < rounds; r++)
                outcomes.AddRange(await agent.DeliverAsync(Request(Hop(server.Port), $"message {w}-{r}", $"u{w}@x.example"), default));
            return outcomes;
        })));
        Assert.All(results.SelectMany(x => x), o => Assert.Equal(DeliveryStatus.Sent, o.Status));
        Assert.InRange(server.Connections, 1, parallel);
        Assert.True(agent.CachedConnections <= parallel);
        // Every message arrived exactly once, whole: a session used by two deliveries at once would interleave them.
        List<string> bodies;
        lock (server.Peers) bodies = server.Peers.SelectMany(p => p.Data).ToList();
        Assert.Equal(parallel * rounds, bodies.Count);
        var expected = Enumerable.Range(0, parallel).SelectMany(w => Enumerable.Range(0, rounds).Select(r => $"message {w}-{r}")).Order();
        Assert.Equal(expected, bodies.Select(d => d.Split("\r\n\r\n")[1].TrimEnd()).Order());
    }

    [Fact]
    public async Task Idle_connections_per_endpoint_are_bounded()
    {
        var gate = new TaskCompletionSource();
        int arrived = 0;
        await using var server = new ScriptedServer(async (_, p) =>
        {
            if (Interlocked.Increment(ref arrived) == 4) gate.SetResult();
            await gate.Task;   // hold every greeting until four connections are open
            await p.ServeAsync();
        });
        await using var agent = Agent(perEndpoint: 2);
        var all = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => agent.DeliverAsync(Msg.Request(Hop(server.Port), $"u{i}@x.example"), default)));
        Assert.All(all.SelectMany(x => x), o => Assert.Equal(DeliveryStatus.Sent, o.Status));
        Assert.Equal(4, server.Connections);
        Assert.Equal(2, agent.CachedConnections);
    }

    [Fact]
    public async Task Reuse_count_limit_closes_the_connection_after_that_many_reuses()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        await using var agent = Agent(reuseCount: 2);
        for (int i = 0; i < 4; i++)
            Assert.Equal(DeliveryStatus.Sent, (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single().Status);
        // Connection 0: first use + 2 reuses, then QUIT; connection 1 serves the fourth.
        Assert.Equal(2, server.Connections);
        Assert.Equal(3, server.Peers[0].Data.Count);
        Assert.Contains("QUIT", server.Peers[0].Lines);
    }

    [Fact]
    public async Task Reuse_time_limit_stops_reuse_of_an_old_connection()
    {
        var time = new FakeTimeProvider();
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        await using var agent = Agent(time, reuseTime: TimeSpan.FromSeconds(3));
        for (int i = 0; i < 4; i++)
        {
            // One delivery a second keeps the connection from idling out (2 s); at 3 s after its connect it is too old.
            Assert.Equal(DeliveryStatus.Sent, (await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default)).Single().Status);
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal(2, server.Connections);
        Assert.Equal(3, server.Peers[0].Data.Count);
        await Eventually(() => server.Peers[0].Lines.Contains("QUIT"));
    }

    [Fact]
    public async Task Lmtp_connection_is_reused_after_a_complete_transaction()
    {
        var path = Path.Combine(Path.GetTempPath(), "lmtp-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        try
        {
            await using var server = new ScriptedServer((_, p) => p.ServeAsync(lmtp: true), unixPath: path);
            await using var agent = Agent();
            var hop = new NextHop(TransportKind.Lmtp, "", 0, true, path);
            var a = await agent.DeliverAsync(Msg.Request(hop, "a@x", "b@x"), default);
            var b = await agent.DeliverAsync(Msg.Request(hop, "c@x"), default);
            Assert.All(a.Concat(b), o => Assert.Equal(DeliveryStatus.Sent, o.Status));
            Assert.Equal(1, server.Connections);
            Assert.Single(server.Peers[0].Lines, l => l.StartsWith("LHLO"));
            Assert.Equal(2, server.Peers[0].Data.Count);
            Assert.Equal($"localhost[{path}]", b[0].Relay);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public async Task Cache_off_keeps_one_connection_per_message()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        var agent = new SmtpDeliveryAgent(new DeliveryOptions { HeloName = "mta.test", TlsSecurityLevel = "none" },
            new IdentityOptions { MyHostname = "mta.test" }, new FakeDns());
        await agent.DeliverAsync(Msg.Request(Hop(server.Port), "a@x.example"), default);
        await agent.DeliverAsync(Msg.Request(Hop(server.Port), "b@x.example"), default);
        Assert.Equal(2, server.Connections);
        Assert.Equal(0, agent.CachedConnections);
    }
}
