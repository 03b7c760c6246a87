// T42 broken policy servers: down, hangs, closes early, answers with CRLF, answers junk. The default action
// applies (451 4.3.5 ... Server configuration problem by default, or DUNNO when configured), every session
// gets its reply, and the MTA keeps running and answering. Differential: Postfix gives the same reply.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Policy;

/// <summary>Broken policy servers.</summary>
public sealed class T42_PolicyFailureTests(ITestOutputHelper output)
{
    /// <summary>A TCP server on 127.0.0.1 that misbehaves in one way for every request ("down": not listening).</summary>
    private sealed class BrokenServer : IPeer
    {
        private readonly TcpListener? _listener;
        private readonly string _mode;
        private readonly List<TcpClient> _clients = [];
        private int _requests;

        public BrokenServer(string mode)
        {
            _mode = mode;
            if (mode == "down")
            {
                Port = PortAllocator.Next();
                return;
            }
            _listener = new TcpListener(IPAddress.Loopback, 0);
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _ = AcceptLoop();
        }

        public int Port { get; }
        public string Name => $"broken policy server ({_mode}) 127.0.0.1:{Port}";
        public string DescribeLogs() => $"requests seen: {Volatile.Read(ref _requests)}";

        private async Task AcceptLoop()
        {
            while (true)
            {
                TcpClient c;
                try { c = await _listener!.AcceptTcpClientAsync(); } catch (Exception) { return; }
                lock (_clients) _clients.Add(c);
                _ = Serve(c);
            }
        }

        private async Task Serve(TcpClient c)
        {
            try
            {
                var stream = c.GetStream();
                var reader = new StreamReader(stream, Encoding.ASCII);
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.Length > 0) continue;
                    Interlocked.Increment(ref _requests);
                    switch (_mode)
                    {
                        case "close": c.Close(); return;
                        case "crlf": await stream.WriteAsync("action=DUNNO\r\n\r\n"u8.ToArray()); break;
                        case "junk": await stream.WriteAsync("this is not a policy reply\n\n"u8.ToArray()); break;
                        default: break; // hang: say nothing
                    }
                }
            }
            catch (Exception)
            {
                // the client gave up
            }
        }

        public ValueTask DisposeAsync()
        {
            _listener?.Stop();
            lock (_clients) foreach (var c in _clients) c.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [Theory]
    [InlineData("down")]
    [InlineData("hang")]
    [InlineData("close")]
    [InlineData("crlf")]
    [InlineData("junk")]
    public Task Default_action_applies_and_the_MTA_keeps_running(string mode) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var broken = s.Own(new BrokenServer(mode));
        var service = $"inet:127.0.0.1:{broken.Port}";
        var mta = await PolicyRig.StartMtaAsync(s, sink,
            ("smtpd_recipient_restrictions", $"check_policy_service {service}"),
            ("smtpd_policy_service_timeout", "2s"), ("smtpd_policy_service_retry_delay", "1s"));
        var postfix = await PolicyRig.StartPostfixAsync(s, sink,
            $"smtpd_recipient_restrictions = check_policy_service {service}", "smtpd_policy_service_timeout = 2s");

        const string expected = "451 4.3.5 <rcpt@dest.test>: Recipient address rejected: Server configuration problem";
        var first = await PolicyRig.SendAsync(s, mta.Port, "one@sender.test");
        Assert.Equal(expected, PolicyRig.RcptLine(first));
        Assert.Contains(first.Replies, r => r.Command == "QUIT" && r.Code == 221); // the session went on to QUIT
        var again = await PolicyRig.SendAsync(s, mta.Port, "two@sender.test");
        Assert.Equal(expected, PolicyRig.RcptLine(again)); // the MTA is still there and still answers
        var theirs = await PolicyRig.SendAsync(s, postfix.Port, "three@sender.test");
        Assert.Equal(expected, PolicyRig.RcptLine(theirs));
        Assert.Empty(sink.Dumps());
    }, timeoutSeconds: 180);

    [Theory]
    [InlineData("hang")]
    [InlineData("junk")]
    public Task Default_action_DUNNO_lets_the_mail_through(string mode) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var broken = s.Own(new BrokenServer(mode));
        var mta = await PolicyRig.StartMtaAsync(s, sink,
            ("smtpd_recipient_restrictions", $"check_policy_service {{ inet:127.0.0.1:{broken.Port}, timeout=2s, try_limit=1 }}"),
            ("smtpd_policy_service_default_action", "DUNNO"));
        var r = await PolicyRig.SendAsync(s, mta.Port, "one@sender.test");
        Assert.Equal(250, Assert.Single(r.Rcpt).Code);
        Assert.Equal(250, r.EndOfData.Code);
        Assert.NotNull(await PolicyRig.DeliveredFromAsync(sink, "one@sender.test"));
    }, timeoutSeconds: 120);
}
