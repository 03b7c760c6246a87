// The listener over real loopback sockets: smtpd_session_limit, smtpd_client_connection_count_limit
// (mynetworks exempt), and the graceful stop that answers idle sessions with 421.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Server;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Tests.Server;

public class SmtpListenerServiceTests
{
    private sealed class AcceptAll : ISmtpSessionHandler
    {
        public ValueTask<SmtpReply?> OnConnectAsync(SmtpSessionContext s, CancellationToken ct) => new((SmtpReply?)null);
        public ValueTask<SmtpReply?> OnHeloAsync(SmtpSessionContext s, string h, CancellationToken ct) => new((SmtpReply?)null);
        public ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionContext s, SmtpPath p, MailParameters m, CancellationToken ct) => new((SmtpReply?)null);
        public ValueTask<SmtpReply?> OnRcptToAsync(SmtpSessionContext s, SmtpPath p, RecipientParameters r, CancellationToken ct) => new((SmtpReply?)null);
        public ValueTask<SmtpReply?> OnDataAsync(SmtpSessionContext s, CancellationToken ct) => new((SmtpReply?)null);
        public ValueTask<SmtpReply> OnMessageAsync(SmtpSessionContext s, SmtpTransaction t, MessageSpool c, CancellationToken ct) { c.Dispose(); return new(new SmtpReply(250, "2.0.0", "Ok")); }
        public void OnTransactionAborted(SmtpSessionContext s) { }
        public void OnDisconnected(SmtpSessionContext s) { }
    }

    private static async Task<SmtpListenerService> StartAsync(int sessionLimit, int perClientLimit, string[] myNetworks)
    {
        var smtpd = new SmtpdOptions
        {
            Listen = ["127.0.0.1:0"], SessionLimit = sessionLimit, ClientConnectionCountLimit = perClientLimit, MyNetworks = myNetworks,
            ShutdownTimeout = TimeSpan.FromSeconds(5),
        };
        var identity = new IdentityOptions { MyHostname = "mx.test" };
        var service = new SmtpListenerService(smtpd, identity, new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP" },
            _ => new AcceptAll(), null, NullLoggerFactory.Instance);
        await service.StartAsync(default);
        return service;
    }

    private static async Task<(TcpClient Client, StreamReader Reader, string Banner)> ConnectAsync(SmtpListenerService service)
    {
        var c = new TcpClient();
        await c.ConnectAsync((IPEndPoint)service.BoundEndPoints[0]);
        var r = new StreamReader(c.GetStream(), Encoding.ASCII);
        var banner = await r.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return (c, r, banner ?? "<closed>");
    }

    [Fact]
    public async Task Session_limit_refuses_the_next_connection_with_421()
    {
        var service = await StartAsync(sessionLimit: 2, perClientLimit: 0, myNetworks: ["127.0.0.0/8"]);
        var a = await ConnectAsync(service);
        var b = await ConnectAsync(service);
        var c = await ConnectAsync(service);
        Assert.StartsWith("220 ", a.Banner);
        Assert.StartsWith("220 ", b.Banner);
        Assert.Equal("421 4.3.2 mx.test Error: too many sessions, try again later", c.Banner);
        a.Client.Dispose();
        await Task.Delay(200);
        var d = await ConnectAsync(service);
        Assert.StartsWith("220 ", d.Banner);
        foreach (var x in new[] { b, c, d }) x.Client.Dispose();
        await service.StopAsync(default);
    }

    [Fact]
    public async Task Per_client_limit_applies_outside_mynetworks_only()
    {
        var strict = await StartAsync(sessionLimit: 100, perClientLimit: 1, myNetworks: ["192.0.2.0/24"]);
        var a = await ConnectAsync(strict);
        var b = await ConnectAsync(strict);
        Assert.StartsWith("220 ", a.Banner);
        Assert.Equal("421 4.7.0 mx.test Error: too many connections from 127.0.0.1", b.Banner);
        a.Client.Dispose(); b.Client.Dispose();
        await strict.StopAsync(default);

        var trusted = await StartAsync(sessionLimit: 100, perClientLimit: 1, myNetworks: ["127.0.0.0/8"]);
        var c = await ConnectAsync(trusted);
        var d = await ConnectAsync(trusted);
        Assert.StartsWith("220 ", d.Banner);
        c.Client.Dispose(); d.Client.Dispose();
        await trusted.StopAsync(default);
    }

    [Fact]
    public async Task Stop_answers_idle_sessions_with_421_and_stops_accepting()
    {
        var service = await StartAsync(sessionLimit: 10, perClientLimit: 0, myNetworks: ["127.0.0.0/8"]);
        var a = await ConnectAsync(service);
        var endpoint = (IPEndPoint)service.BoundEndPoints[0];
        await service.StopAsync(default);
        Assert.StartsWith("421 4.3.2", await a.Reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10)));
        using var late = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(() => late.ConnectAsync(endpoint));
        a.Client.Dispose();
    }

    [Theory]
    [InlineData("127.0.0.1:2525", "127.0.0.1:2525")]
    [InlineData("[::1]:25", "[::1]:25")]
    [InlineData("2525", "127.0.0.1:2525")]
    public void Listen_addresses(string spec, string expected) =>
        Assert.Equal(expected, SmtpListenerService.ParseEndPoint(spec).ToString());

    [Fact]
    public void Bad_listen_address_is_an_error() =>
        Assert.Throws<FormatException>(() => SmtpListenerService.ParseEndPoint("localhost"));
}
