// SmtpDeliveryAgent against fake DNS and scripted peers: MX order and limits, implicit and null MX,
// NXDOMAIN and tempfail, fallback to the next address, per-recipient outcome mapping, LMTP over a UNIX
// socket, STARTTLS policies (real TLS handshake, plaintext fallback), timeouts and the deadline.
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mta.Configuration;
using Mta.Delivery;

namespace Mta.Tests.Delivery;

public class SmtpDeliveryAgentTests
{
    private static SmtpDeliveryAgent Agent(IDnsLookup dns, string tls = "none", int limit = 5, TimeSpan? command = null,
        Func<Stream, string, CancellationToken, Task<Stream>>? startTls = null) =>
        new(new DeliveryOptions
        {
            HeloName = "mta.test", TlsSecurityLevel = tls, MxAddressLimit = limit,
            ConnectTimeout = TimeSpan.FromSeconds(5), HeloTimeout = TimeSpan.FromSeconds(5),
            CommandTimeout = command ?? TimeSpan.FromSeconds(5), DataTransferTimeout = TimeSpan.FromSeconds(5), DataDoneTimeout = command ?? TimeSpan.FromSeconds(5),
        }, new IdentityOptions { MyHostname = "mta.test" }, dns, startTls: startTls);

    private static NextHop Mx(string domain, int port) => new(TransportKind.Smtp, domain, port, false);

    /// <summary>A port on which 127.0.0.1 refuses connections.</summary>
    private static int ClosedPort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int p = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return p;
    }

    [Fact]
    public async Task Sends_and_maps_each_recipient_reply()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync(rcpt: a => a.StartsWith("bad") ? "550 5.1.1 <" + a + ">: User unknown" : a.StartsWith("grey") ? "450 4.2.0 greylisted" : "250 2.1.5 Ok"));
        var dns = new FakeDns().WithMx("dest.example", (10, "mx1.dest.example")).WithHost("mx1.dest.example", "127.0.0.1");
        var outcomes = await Agent(dns).DeliverAsync(Msg.Request(Mx("dest.example", server.Port), "ok@dest.example", "bad@dest.example", "grey@dest.example"), default);
        Assert.Equal([DeliveryStatus.Sent, DeliveryStatus.Bounced, DeliveryStatus.Deferred], outcomes.Select(o => o.Status));
        Assert.All(outcomes, o => Assert.Equal($"mx1.dest.example[127.0.0.1]:{server.Port}", o.Relay));
        Assert.Equal("250 2.0.0 Ok: queued as FAKE1", outcomes[0].Reply.ToString());
        Assert.Equal("5.1.1", outcomes[1].Dsn);
        Assert.Equal(["ok@dest.example", "bad@dest.example", "grey@dest.example"], outcomes.Select(o => o.Recipient.Address.Address));
        Assert.StartsWith("Received: by test\r\nSubject: test", server.Peers[0].Data[0]);
        Assert.Contains(server.Peers[0].Lines, l => l.StartsWith("MAIL FROM:<alice@example.org>"));
        Assert.Contains("EHLO mta.test", server.Peers[0].Lines);
        Assert.True(outcomes[0].ConnectionSetup > TimeSpan.Zero);
    }

    [Fact]
    public async Task Mx_preference_order_and_fallback_to_the_next_host_on_connection_refused()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        // mx-a (preference 5) is 127.0.0.2 where nothing listens on this port; mx-b (10) is the server.
        var dns = new FakeDns().WithMx("dest.example", (10, "mx-b.dest.example"), (5, "mx-a.dest.example"))
            .WithHost("mx-a.dest.example", "127.0.0.2").WithHost("mx-b.dest.example", "127.0.0.1");
        var o = (await Agent(dns).DeliverAsync(Msg.Request(Mx("dest.example", server.Port), "u@dest.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, o.Status);
        Assert.Equal($"mx-b.dest.example[127.0.0.1]:{server.Port}", o.Relay);
        Assert.Equal(["MX dest.example", "A mx-a.dest.example", "A mx-b.dest.example"], dns.Calls);
    }

    [Fact]
    public async Task Equal_preferences_are_shuffled()
    {
        var seen = new HashSet<string>();
        for (int i = 0; i < 40 && seen.Count < 2; i++)
        {
            var dns = new FakeDns().WithMx("d.example", (10, "x.d.example"), (10, "y.d.example"), (20, "z.d.example"));
            await Agent(dns, limit: 1).DeliverAsync(Msg.Request(Mx("d.example", ClosedPort()), "u@d.example"), default);
            Assert.Equal("A z.d.example", dns.Calls[3]);   // the lower preference always comes last
            seen.Add(dns.Calls[1]);
        }
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public async Task Address_limit_and_connect_failure_wording()
    {
        int port = ClosedPort();
        var dns = new FakeDns().WithMx("d.example", (10, "mx1.d.example"), (20, "mx2.d.example"))
            .WithHost("mx1.d.example", "127.0.0.1", "127.0.0.3").WithHost("mx2.d.example", "127.0.0.4");
        var o = (await Agent(dns, limit: 2).DeliverAsync(Msg.Request(Mx("d.example", port), "u@d.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Deferred, o.Status);
        Assert.Equal($"451 4.4.1 connect to mx1.d.example[127.0.0.3]:{port}: Connection refused", o.Reply.ToString());
        Assert.Equal($"mx1.d.example[127.0.0.3]:{port}", o.Relay);
        Assert.DoesNotContain("A mx2.d.example", dns.Calls.Skip(3));
    }

    [Fact]
    public async Task Implicit_mx_uses_the_domain_addresses()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        var dns = new FakeDns().WithHost("d.example", "127.0.0.1");
        dns.Mx["d.example"] = new(DnsLookupStatus.NoRecords, []);
        var o = (await Agent(dns).DeliverAsync(Msg.Request(Mx("d.example", server.Port), "u@d.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, o.Status);
        Assert.Equal($"d.example[127.0.0.1]:{server.Port}", o.Relay);
    }

    [Fact]
    public async Task Null_mx_bounces_with_556_5_1_10()
    {
        var dns = new FakeDns().WithMx("nomail.example", (0, "."));
        var o = (await Agent(dns).DeliverAsync(Msg.Request(Mx("nomail.example", 25), "u@nomail.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Bounced, o.Status);
        Assert.Equal((556, "5.1.10"), (o.Reply.Code, o.Reply.EnhancedStatus));
        Assert.Equal("none", o.Relay);
        Assert.Equal(["MX nomail.example"], dns.Calls);
    }

    [Fact]
    public async Task Nxdomain_bounces_and_tempfail_defers()
    {
        var dns = new FakeDns();
        dns.Mx["temp.example"] = new(DnsLookupStatus.TempFail, [], "SERVFAIL");
        var nx = (await Agent(dns).DeliverAsync(Msg.Request(Mx("gone.example", 25), "u@gone.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Bounced, "5.1.2"), (nx.Status, nx.Dsn));
        Assert.Contains("Host or domain name not found", nx.Reply.Text);
        var tf = (await Agent(dns).DeliverAsync(Msg.Request(Mx("temp.example", 25), "u@temp.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Deferred, "4.4.3"), (tf.Status, tf.Dsn));
    }

    [Fact]
    public async Task Bracketed_host_and_ip_literal_skip_mx()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        var dns = new FakeDns().WithHost("relay.example", "127.0.0.1");
        var a = (await Agent(dns).DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "relay.example", server.Port, true), "u@x.example"), default)).Single();
        var b = (await Agent(dns).DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "u@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, a.Status);
        Assert.Equal(DeliveryStatus.Sent, b.Status);
        Assert.Equal(["A relay.example"], dns.Calls);
    }

    [Fact]
    public async Task Greeting_4xx_and_deferred_recipients_move_to_the_next_address()
    {
        await using var bad = new ScriptedServer(async (_, p) => { await p.SendAsync("421 4.3.2 busy\r\n"); }, IPAddress.Parse("127.0.0.1"));
        await using var good = new ScriptedServer((_, p) => p.ServeAsync(), IPAddress.Parse("127.0.0.5"), bad.Port);
        var dns = new FakeDns().WithMx("d.example", (10, "mx1.d.example"), (20, "mx2.d.example"))
            .WithHost("mx1.d.example", "127.0.0.1").WithHost("mx2.d.example", "127.0.0.5");
        var o = (await Agent(dns).DeliverAsync(Msg.Request(Mx("d.example", bad.Port), "u@d.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, o.Status);
        Assert.Equal($"mx2.d.example[127.0.0.5]:{bad.Port}", o.Relay);
    }

    [Fact]
    public async Task Soft_refused_recipients_are_retried_at_the_next_mx_and_hard_ones_are_not()
    {
        await using var first = new ScriptedServer((_, p) => p.ServeAsync(rcpt: a => a.StartsWith("soft") ? "451 4.3.0 try later" : a.StartsWith("hard") ? "550 5.1.1 no" : "250 ok"), IPAddress.Parse("127.0.0.1"));
        await using var second = new ScriptedServer((_, p) => p.ServeAsync(), IPAddress.Parse("127.0.0.6"), first.Port);
        var dns = new FakeDns().WithMx("d.example", (10, "mx1.d.example"), (20, "mx2.d.example"))
            .WithHost("mx1.d.example", "127.0.0.1").WithHost("mx2.d.example", "127.0.0.6");
        var o = await Agent(dns).DeliverAsync(Msg.Request(Mx("d.example", first.Port), "ok@d.example", "soft@d.example", "hard@d.example"), default);
        Assert.Equal([DeliveryStatus.Sent, DeliveryStatus.Sent, DeliveryStatus.Bounced], o.Select(x => x.Status));
        Assert.Contains("127.0.0.6", o[1].Relay);
        Assert.Contains("127.0.0.1", o[0].Relay);
        Assert.Equal(["RCPT TO:<soft@d.example>"], second.Peers[0].Lines.Where(l => l.StartsWith("RCPT")));
    }

    [Fact]
    public async Task Lmtp_over_unix_socket_with_mixed_replies()
    {
        var path = Path.Combine(Path.GetTempPath(), "lmtp-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        try
        {
            await using var server = new ScriptedServer((_, p) => p.ServeAsync(lmtp: true,
                rcpt: a => a.StartsWith("unknown") ? "550 5.1.1 unknown user" : "250 2.1.5 ok",
                final: acc => string.Join("\r\n", acc.Select(a => a.StartsWith("full") ? "552 5.2.2 <full> mailbox full" : a.StartsWith("temp") ? "451 4.3.0 <temp> temporary" : "250 2.0.0 <a> saved"))), unixPath: path);
            var hop = new NextHop(TransportKind.Lmtp, "", 0, true, path);
            var o = await Agent(new FakeDns()).DeliverAsync(Msg.Request(hop, "a@x", "unknown@x", "full@x", "temp@x"), default);
            Assert.Equal([DeliveryStatus.Sent, DeliveryStatus.Bounced, DeliveryStatus.Bounced, DeliveryStatus.Deferred], o.Select(x => x.Status));
            Assert.Equal($"localhost[{path}]", o[0].Relay);
            Assert.Contains("LHLO mta.test", server.Peers[0].Lines);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public async Task Encrypt_without_starttls_defers_4_7_5()
    {
        await using var server = new ScriptedServer((_, p) => p.ServeAsync());
        var o = (await Agent(new FakeDns(), tls: "encrypt").DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "u@x.example"), default)).Single();
        Assert.Equal((DeliveryStatus.Deferred, "4.7.5"), (o.Status, o.Dsn));
        Assert.Contains("TLS is required, but was not offered by host", o.Reply.Text);
    }

    [Fact]
    public async Task May_falls_back_to_plaintext_after_a_failed_handshake()
    {
        await using var server = new ScriptedServer((i, p) => i == 0
            ? StartTlsThenHangUp(p)
            : p.ServeAsync(ehlo: "PIPELINING,STARTTLS"));
        var o = (await Agent(new FakeDns(), tls: "may").DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "u@x.example"), default)).Single();
        Assert.True(o.Status == DeliveryStatus.Sent, o.Reply.ToString());
        Assert.Equal(2, server.Connections);
        Assert.DoesNotContain("STARTTLS", server.Peers[1].Lines);

        static async Task StartTlsThenHangUp(Peer p)
        {
            await p.SendAsync("220 x\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("250-x\r\n250 STARTTLS\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("220 go ahead\r\n");
            _ = await p.Stream.ReadAsync(new byte[4096]);   // the start of the ClientHello
            await p.SendAsync("this is not a TLS server hello\r\n");
        }
    }

    [Fact]
    public async Task May_uses_tls_when_offered()
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=mx.test", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var ephemeral = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        using var cert = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
        bool tlsUsed = false;
        await using var server = new ScriptedServer(async (_, p) =>
        {
            await p.SendAsync("220 x\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("250-x\r\n250 STARTTLS\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("220 go ahead\r\n");
            var ssl = new SslStream(p.Stream);
            await ssl.AuthenticateAsServerAsync(cert);
            tlsUsed = true;
            var inner = new Peer(ssl);
            await inner.ReadLineAsync();   // EHLO again
            await inner.SendAsync("250-x\r\n250 PIPELINING\r\n");
            for (int i = 0; i < 3; i++) await inner.ReadLineAsync();
            await inner.SendAsync("250 ok\r\n250 ok\r\n354 go\r\n");
            await inner.ReadDataAsync();
            await inner.SendAsync("250 2.0.0 queued over TLS\r\n");
            await inner.ReadLineAsync();
        });
        var o = (await Agent(new FakeDns(), tls: "may").DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "u@x.example"), default)).Single();
        Assert.Equal(DeliveryStatus.Sent, o.Status);
        Assert.Equal("queued over TLS", o.Reply.Text);
        Assert.True(tlsUsed);
    }

    [Fact]
    public async Task Command_timeout_defers_with_postfix_wording()
    {
        var release = new TaskCompletionSource();
        await using var server = new ScriptedServer(async (_, p) =>
        {
            await p.SendAsync("220 x\r\n"); await p.ReadLineAsync(); await p.SendAsync("250 x\r\n");
            await p.ReadLineAsync();
            await release.Task;
        });
        var o = (await Agent(new FakeDns(), command: TimeSpan.FromMilliseconds(300)).DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "u@x.example"), default)).Single();
        release.SetResult();
        Assert.Equal(DeliveryStatus.Deferred, o.Status);
        Assert.Equal($"451 4.4.2 conversation with 127.0.0.1[127.0.0.1]:{server.Port} timed out while sending MAIL FROM", o.Reply.ToString());
    }

    [Fact]
    public async Task Server_closing_after_rcpt_defers_undecided_and_keeps_decided()
    {
        await using var server = new ScriptedServer(async (_, p) =>
        {
            await p.SendAsync("220 x\r\n"); await p.ReadLineAsync(); await p.SendAsync("250 x\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("550 5.1.1 no\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync();   // DATA: hang up
        });
        var o = await Agent(new FakeDns()).DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "bad@x.example", "ok@x.example"), default);
        Assert.Equal(DeliveryStatus.Bounced, o[0].Status);
        Assert.Equal(DeliveryStatus.Deferred, o[1].Status);
        Assert.Equal($"451 4.4.2 lost connection with 127.0.0.1[127.0.0.1]:{server.Port} while sending DATA command", o[1].Reply.ToString());
    }

    [Fact]
    public async Task Deadline_defers_undecided_recipients()
    {
        var release = new TaskCompletionSource();
        await using var server = new ScriptedServer(async (_, p) =>
        {
            await p.SendAsync("220 x\r\n"); await p.ReadLineAsync(); await p.SendAsync("250 x\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("550 5.1.1 no\r\n");
            await p.ReadLineAsync();
            await release.Task;
        });
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(400));
        var o = await Agent(new FakeDns()).DeliverAsync(Msg.Request(new NextHop(TransportKind.Smtp, "127.0.0.1", server.Port, true), "bad@x.example", "slow@x.example"), deadline.Token);
        release.SetResult();
        Assert.Equal(DeliveryStatus.Bounced, o[0].Status);
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (o[1].Status, o[1].Dsn));
        Assert.Contains("deadline", o[1].Reply.Text);
    }
}
