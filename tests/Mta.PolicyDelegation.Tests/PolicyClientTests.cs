// PolicyClient against an in-process fake server: reuse, retry, timeout, junk, CRLF, EOF, request_limit,
// max_idle and max_ttl (FakeTimeProvider), pending input before a request, concurrency bound, policy_context.
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace Mta.PolicyDelegation.Tests;

public class PolicyClientTests
{
    private static readonly PolicyServiceSettings Fast = PolicyServiceSettings.Default with
    {
        Timeout = TimeSpan.FromMilliseconds(300),
        RetryDelay = TimeSpan.FromMilliseconds(20),
    };

    private static readonly PolicyRequest Request = new()
    {
        ProtocolState = PolicyProtocolState.Rcpt,
        ClientAddress = "192.0.2.1",
        Sender = "a@example.org",
        Recipient = "b@example.net",
    };

    [Fact]
    public async Task Answer_IsParsed_AndConnectionIsReused()
    {
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DEFER_IF_PERMIT Greylisted"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        for (int i = 0; i < 5; i++)
        {
            var r = await client.QueryAsync(Request);
            Assert.False(r.UsedDefaultAction);
            Assert.Equal(AccessActionKind.DeferIfPermit, r.Action.Kind);
            Assert.Equal(1, r.Attempts);
            Assert.Empty(r.Problems);
        }
        Assert.Equal(1, server.Connections);
        Assert.Equal(5, server.Requests);
        Assert.Equal(1, client.OpenConnections);
    }

    [Fact]
    public async Task RequestOnTheWire_IsTheEncodedRequest_WithServicePolicyContext()
    {
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, Fast with { PolicyContext = "svc" });
        await client.QueryAsync(Request with { PolicyContext = "ignored" });
        Assert.True(server.ReceivedRequests.TryDequeue(out var wire));
        Assert.Equal(PolicyRequestEncoder.Encode(Request with { PolicyContext = "svc" }), wire);
    }

    public static TheoryData<string> FailingBehaviours => ["hang", "close", "crlf", "junk", "noaction", "closeimmediately"];

    private static ServerAction Behaviour(string name) => name switch
    {
        "hang" => new ServerAction.Hang(),
        "close" => new ServerAction.Close(),
        "crlf" => new ServerAction.Send("action=DUNNO\r\n\r\n"),
        "junk" => new ServerAction.Send("this is not a policy reply\n\n"),
        "noaction" => new ServerAction.Send("foo=bar\nresult=OK\n\n"),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(FailingBehaviours))]
    public async Task Failure_GivesDefaultAction_AfterTryLimit_WithOneConnectionPerAttempt(string behaviour)
    {
        await using var server = behaviour == "closeimmediately"
            ? new FakePolicyServer((_, _) => new ServerAction.Close())
            : FakePolicyServer.Always(Behaviour(behaviour));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        var r = await client.QueryAsync(Request);
        Assert.True(r.UsedDefaultAction);
        Assert.Equal(2, r.Attempts);
        Assert.Equal(2, r.Problems.Count);
        Assert.Equal(AccessActionKind.Reply, r.Action.Kind);
        Assert.Equal("451 4.3.5 <b@example.net>: Recipient address rejected: Server configuration problem",
            r.BuildReply(PolicyCheckContext.ForRecipient("b@example.net"))!.Line);
        Assert.Equal(2, server.Connections);
        Assert.Equal(0, client.OpenConnections);
    }

    [Fact]
    public async Task Timeout_AppliesPerAttempt_AndRetryDelayBetween()
    {
        await using var server = FakePolicyServer.Always(new ServerAction.Hang());
        var settings = Fast with { TryLimit = 3, Timeout = TimeSpan.FromMilliseconds(200), RetryDelay = TimeSpan.FromMilliseconds(100) };
        await using var client = new PolicyClient(server.Endpoint, settings);
        var sw = Stopwatch.StartNew();
        var r = await client.QueryAsync(Request);
        sw.Stop();
        Assert.True(r.UsedDefaultAction);
        Assert.Equal(3, r.Attempts);
        Assert.Equal(3, server.Connections);
        Assert.All(r.Problems, p => Assert.Contains("timeout", p));
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(3 * 200 + 2 * 100 - 50), sw.Elapsed.ToString());
    }

    [Fact]
    public async Task TryLimitOne_MakesOneAttempt()
    {
        await using var server = FakePolicyServer.Always(new ServerAction.Close());
        await using var client = new PolicyClient(server.Endpoint, Fast with { TryLimit = 1 });
        var r = await client.QueryAsync(Request);
        Assert.Equal(1, r.Attempts);
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task FirstAttemptFails_SecondSucceeds_OnNewConnection()
    {
        await using var server = new FakePolicyServer((i, _) => i == 0 ? new ServerAction.Close() : ServerAction.Answer("OK"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        var r = await client.QueryAsync(Request);
        Assert.False(r.UsedDefaultAction);
        Assert.Equal(AccessActionKind.Ok, r.Action.Kind);
        Assert.Equal(2, r.Attempts);
        Assert.Single(r.Problems);
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task ConnectRefused_GivesDefaultAction()
    {
        int port;
        await using (var s = FakePolicyServer.Always(ServerAction.Answer("OK"))) port = s.Port;
        await using var client = new PolicyClient(PolicyEndpoint.Inet("127.0.0.1", port), Fast with { DefaultAction = "DUNNO" });
        var r = await client.QueryAsync(Request);
        Assert.True(r.UsedDefaultAction);
        Assert.Equal(AccessActionKind.Dunno, r.Action.Kind);
        Assert.Equal(2, r.Attempts);
        Assert.All(r.Problems, p => Assert.StartsWith("connect to inet:127.0.0.1:", p));
    }

    [Fact]
    public async Task ServerClosesWhileIdle_NextRequestSeesPendingEof_AndRetries()
    {
        await using var server = new FakePolicyServer((i, _) => i == 0 ? new ServerAction.SendAndClose("action=OK\n\n") : ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        Assert.Equal(AccessActionKind.Ok, (await client.QueryAsync(Request)).Action.Kind);
        await Task.Delay(200); // let the EOF arrive on the idle connection
        var r = await client.QueryAsync(Request);
        Assert.Equal(AccessActionKind.Dunno, r.Action.Kind);
        Assert.Equal(2, r.Attempts);
        Assert.Contains("readable before the request", r.Problems[0]);
        Assert.Equal(2, server.Connections);
        Assert.Equal(2, server.Requests); // nothing was sent on the dead connection
    }

    [Fact]
    public async Task JunkAfterReply_CountsAsPendingInput()
    {
        await using var server = new FakePolicyServer((i, _) => i == 0 ? new ServerAction.Send("action=OK\n\nsurprise\n") : ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        Assert.Equal(AccessActionKind.Ok, (await client.QueryAsync(Request)).Action.Kind);
        var r = await client.QueryAsync(Request);
        Assert.Equal(AccessActionKind.Dunno, r.Action.Kind);
        Assert.Equal(2, r.Attempts);
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task ReplyArrivingOneByteAtATime_IsAssembled()
    {
        await using var server = FakePolicyServer.Always(new ServerAction.Trickle("foo=bar\naction=PREPEND X-Greylist: delayed 61 seconds\n\n"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        for (int i = 0; i < 2; i++)
        {
            var r = await client.QueryAsync(Request);
            Assert.Equal(AccessActionKind.Prepend, r.Action.Kind);
            Assert.Equal("X-Greylist: delayed 61 seconds", r.Action.Text);
        }
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task ExtraAttributes_AreIgnored()
    {
        await using var server = FakePolicyServer.Always(new ServerAction.Send("x=1\naction=REJECT no\nreason=foo\n\n"));
        await using var client = new PolicyClient(server.Endpoint, Fast);
        var r = await client.QueryAsync(Request);
        Assert.Equal(AccessActionKind.Reject, r.Action.Kind);
        Assert.Equal("no", r.Action.Text);
    }

    [Fact]
    public async Task InvalidUtf8Action_UsesDefaultAction_WithoutRetry_AndKeepsConnection()
    {
        byte[] reply = [.. "action=REJECT "u8.ToArray(), 0xff, 0xfe, (byte)'\n', (byte)'\n'];
        await using var server = FakePolicyServer.Always(new ServerAction.SendBytes(reply));
        await using var client = new PolicyClient(server.Endpoint, Fast with { DefaultAction = "DUNNO" });
        var r = await client.QueryAsync(Request);
        Assert.True(r.UsedDefaultAction);
        Assert.Equal(AccessActionKind.Dunno, r.Action.Kind);
        Assert.Equal(1, r.Attempts);
        Assert.Contains("malformed UTF-8", r.Problems[0]);
        await client.QueryAsync(Request);
        Assert.Equal(1, server.Connections);
    }

    [Fact]
    public async Task InvalidUtf8Action_IsAcceptedWhenSmtputf8Disabled()
    {
        byte[] reply = [.. "action=REJECT "u8.ToArray(), 0xff, (byte)'\n', (byte)'\n'];
        await using var server = FakePolicyServer.Always(new ServerAction.SendBytes(reply));
        await using var client = new PolicyClient(server.Endpoint, Fast with { RequireUtf8Action = false });
        var r = await client.QueryAsync(Request);
        Assert.False(r.UsedDefaultAction);
        Assert.Equal(AccessActionKind.Reject, r.Action.Kind);
    }

    [Fact]
    public async Task RequestLimit_ClosesAfterNRequests()
    {
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, Fast with { RequestLimit = 2 });
        for (int i = 0; i < 5; i++) Assert.False((await client.QueryAsync(Request)).UsedDefaultAction);
        Assert.Equal(3, server.Connections);
        Assert.Equal(5, server.Requests);
    }

    [Fact]
    public async Task MaxIdle_ClosesUnusedConnection()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, PolicyServiceSettings.Default, time);
        await client.QueryAsync(Request);
        time.Advance(TimeSpan.FromSeconds(299));
        await client.QueryAsync(Request);
        Assert.Equal(1, server.Connections);
        time.Advance(TimeSpan.FromSeconds(300));
        await client.QueryAsync(Request);
        Assert.Equal(2, server.Connections);
        Assert.Equal(1, client.OpenConnections);
    }

    [Fact]
    public async Task MaxIdle_SweepTimerClosesIdleConnection()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, PolicyServiceSettings.Default, time);
        await client.QueryAsync(Request);
        Assert.Equal(1, client.IdleConnections);
        time.Advance(TimeSpan.FromSeconds(400));
        Assert.Equal(0, client.IdleConnections);
        Assert.Equal(0, client.OpenConnections);
        for (int i = 0; i < 50 && server.ClosedByClient == 0; i++) await Task.Delay(20);
        Assert.Equal(1, server.ClosedByClient);
    }

    [Fact]
    public async Task MaxTtl_ClosesOldConnectionEvenIfNeverIdle()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        await using var server = FakePolicyServer.Always(ServerAction.Answer("DUNNO"));
        await using var client = new PolicyClient(server.Endpoint, PolicyServiceSettings.Default, time);
        for (int i = 0; i < 5; i++) // t = 0, 200, 400, 600, 800: age < 1000
        {
            await client.QueryAsync(Request);
            time.Advance(TimeSpan.FromSeconds(200));
        }
        Assert.Equal(1, server.Connections);
        await client.QueryAsync(Request); // t = 1000: too old
        Assert.Equal(2, server.Connections);
    }

    [Fact]
    public async Task Concurrency_IsBoundedByMaxConnections()
    {
        await using var server = new FakePolicyServer((_, _) => { Thread.Sleep(20); return ServerAction.Answer("DUNNO"); });
        await using var client = new PolicyClient(server.Endpoint, PolicyServiceSettings.Default with { MaxConnections = 3 });
        var results = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => client.QueryAsync(Request)));
        Assert.All(results, r => Assert.Equal(AccessActionKind.Dunno, r.Action.Kind));
        Assert.InRange(server.Connections, 1, 3);
        Assert.Equal(30, server.Requests);
    }

    [Fact]
    public async Task Cancellation_Propagates()
    {
        await using var server = FakePolicyServer.Always(new ServerAction.Hang());
        await using var client = new PolicyClient(server.Endpoint, PolicyServiceSettings.Default);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.QueryAsync(Request, cts.Token));
        Assert.Equal(0, client.OpenConnections);
    }

    [Fact]
    public async Task UnixSocketEndpoint_Works()
    {
        string path = Path.Combine(Path.GetTempPath(), $"policy-{Guid.NewGuid():N}.sock");
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        listener.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
        listener.Listen();
        var serve = Task.Run(async () =>
        {
            using var s = await listener.AcceptAsync();
            var buf = new byte[8192];
            var got = new System.Text.StringBuilder();
            while (!got.ToString().Contains("\n\n"))
            {
                int n = await s.ReceiveAsync(buf);
                if (n == 0) return;
                got.Append(System.Text.Encoding.UTF8.GetString(buf, 0, n));
            }
            await s.SendAsync("action=OK\n\n"u8.ToArray());
        });
        try
        {
            await using var client = new PolicyClient(PolicyEndpoint.Unix(path), Fast);
            var r = await client.QueryAsync(Request);
            Assert.Equal(AccessActionKind.Ok, r.Action.Kind);
            await serve;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
