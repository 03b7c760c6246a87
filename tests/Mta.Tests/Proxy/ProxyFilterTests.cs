// smtpd_proxy_filter pieces without real peers: smtpd_listen groups with overrides, the per-listener
// configuration reload, XFORWARD encoding, and the proxy client against a scripted in-process filter
// (TcpListener): replies relayed as they came, 451 4.3.0 for internal trouble, XFORWARD only when announced.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.Configuration;
using Mta.Proxy;
using Mta.Smtp.Content;

namespace Mta.Tests.Proxy;

public class ListenerSpecTests
{
    [Fact]
    public void Plain_address_has_no_overrides()
    {
        var spec = ListenerSpec.Parse("127.0.0.1:25");
        Assert.Equal("127.0.0.1:25", spec.Address);
        Assert.Empty(spec.Overrides);
    }

    [Fact]
    public void Group_keeps_commas_inside_a_value_and_nested_braces()
    {
        var spec = ListenerSpec.Parse("{ 127.0.0.1:10026, smtpd_proxy_filter=, smtpd_recipient_restrictions=permit_mynetworks,reject, transport_maps = inline:{ a=b, c=d } }");
        Assert.Equal("127.0.0.1:10026", spec.Address);
        Assert.Equal(["smtpd_proxy_filter=", "smtpd_recipient_restrictions=permit_mynetworks, reject", "transport_maps=inline:{ a=b, c=d }"], spec.Overrides);
    }

    [Theory]
    [InlineData("{ 127.0.0.1:10026, smtpd_milters= ")]
    [InlineData("{ smtpd_milters=, 127.0.0.1:10026 }")]
    [InlineData("{ 127.0.0.1:10026, junk }")]
    public void Bad_groups_are_refused(string entry) => Assert.Throws<FormatException>(() => ListenerSpec.Parse(entry));

    [Fact]
    public void Listener_overrides_reload_the_same_file_with_the_overrides_last()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "smtpd_listen = 127.0.0.1:2525, { 127.0.0.1:10026, smtpd_proxy_filter=, smtpd_milters= }\n" +
                "smtpd_proxy_filter = 127.0.0.1:10025\nsmtpd_milters = inet:127.0.0.1:11332\nmyhostname = mx.test\n");
            var config = ConfigLoader.Load(file, ["smtpd_proxy_options=speed_adjust"]);
            var plans = Mta.Server.ListenerPlan.For(config);
            Assert.Equal(2, plans.Count);
            Assert.Equal("127.0.0.1:10025", plans[0].Proxy.Filter);
            Assert.True(plans[0].ProxyFilter!.SpeedAdjust);
            Assert.Single(plans[0].Milters);
            Assert.Equal("127.0.0.1:10026", plans[1].Spec.Address);
            Assert.Null(plans[1].ProxyFilter);
            Assert.Empty(plans[1].Milters);
            Assert.True(plans[1].Proxy.SpeedAdjust);          // the global -o still applies
            Assert.Equal("mx.test", plans[1].Identity.MyHostname);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Unknown_parameter_in_a_listener_group_is_a_config_error()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "smtpd_listen = { 127.0.0.1:10026, no_such_parameter=1 }\n");
            var e = Assert.Throws<ConfigException>(() => Mta.Server.ListenerPlan.For(ConfigLoader.Load(file, [])));
            Assert.Contains("no_such_parameter", e.Message);
        }
        finally { File.Delete(file); }
    }
}

public class XforwardTests
{
    private static readonly XforwardFacts Facts = new("client.example", IPAddress.Parse("192.0.2.1"), 4711, "ESMTP", "helo name+x", "QID1");

    [Fact]
    public void Only_announced_attributes_are_sent_in_postfix_order_xtext_encoded()
    {
        var lines = Facts.Commands(new HashSet<string> { "HELO", "NAME", "ADDR", "PROTO" });
        Assert.Equal(["XFORWARD NAME=client.example ADDR=192.0.2.1 PROTO=ESMTP HELO=helo+20name+2Bx"], lines);
    }

    [Fact]
    public void Unknown_values_are_unavailable_and_ipv6_is_prefixed()
    {
        var facts = new XforwardFacts(null, IPAddress.Parse("2001:db8::1"), null, "SMTP", null, "Q");
        var lines = facts.Commands(new HashSet<string> { "NAME", "ADDR", "PORT", "HELO", "SOURCE" });
        Assert.Equal(["XFORWARD NAME=[UNAVAILABLE] ADDR=IPV6:2001:db8::1 PORT=[UNAVAILABLE] HELO=[UNAVAILABLE] SOURCE=REMOTE"], lines);
    }

    [Fact]
    public void Long_values_are_split_into_commands_of_at_most_512_bytes()
    {
        var facts = Facts with { Name = new string('n', 300), Helo = new string('h', 300) };
        var lines = facts.Commands(new HashSet<string> { "NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE" });
        Assert.True(lines.Count >= 2);
        Assert.All(lines, l => Assert.True(l.Length + 2 <= 512, l));
        Assert.All(lines, l => Assert.StartsWith("XFORWARD ", l));
    }
}

public class ProxyFilterClientTests
{
    /// <summary>A scripted filter: answers each command by the first matching rule; records what it received.</summary>
    private sealed class FakeFilter : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _loop;
        public List<string> Received { get; } = [];
        public string Data { get; private set; } = "";

        public FakeFilter(string banner, Func<string, string> reply)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                using var client = await _listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.Latin1);
                async Task Send(string s) => await stream.WriteAsync(Encoding.Latin1.GetBytes(s));
                await Send(banner);
                string? line;
                while ((line = await reader.ReadLineAsync()) != null)
                {
                    lock (Received) Received.Add(line);
                    if (line == "DATA")
                    {
                        var r = reply(line);
                        await Send(r);
                        if (!r.StartsWith('3')) continue;
                        var sb = new StringBuilder();
                        while ((line = await reader.ReadLineAsync()) != null && line != ".") sb.Append(line).Append("\r\n");
                        Data = sb.ToString();
                        await Send(reply("."));
                        continue;
                    }
                    var answer = reply(line);
                    if (answer == "") return;   // drop the connection
                    await Send(answer);
                    if (line == "QUIT") return;
                }
            });
        }

        public ProxyFilterSettings Settings(bool speedAdjust = false, int timeoutSeconds = 5) =>
            new(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)_listener.LocalEndpoint).Port), "mx.test", TimeSpan.FromSeconds(timeoutSeconds), speedAdjust);

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try { await _loop.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
        }
    }

    private static string Standard(string line) => line switch
    {
        _ when line.StartsWith("EHLO") => "250-filter.test\r\n250-PIPELINING\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250 8BITMIME\r\n",
        _ when line.StartsWith("XFORWARD") => "250 2.0.0 Ok\r\n",
        _ when line.StartsWith("MAIL") => "250 2.1.0 Ok\r\n",
        _ when line.StartsWith("RCPT TO:<bad@") => "550-5.1.1 <bad@x.test>: Recipient address rejected\r\n550 5.1.1 second line\r\n",
        _ when line.StartsWith("RCPT") => "250 2.1.5 Ok\r\n",
        "DATA" => "354 End data with <CR><LF>.<CR><LF>\r\n",
        "." => "554 5.7.1 Spam detected (filter)\r\n",
        "QUIT" => "221 2.0.0 Bye\r\n",
        _ => "500 5.5.2 what\r\n",
    };

    private static readonly XforwardFacts Facts = new("client.example", IPAddress.Parse("192.0.2.1"), 4711, "ESMTP", "helo.example", "QID1");

    private static MessageContent Message(string text)
    {
        var spool = new MessageSpool(1 << 20, Path.GetTempPath());
        spool.Write(Encoding.ASCII.GetBytes(text));
        spool.Flush();
        return new MessageContent(ReadOnlyMemory<byte>.Empty, spool);
    }

    [Fact]
    public async Task Full_dialogue_relays_refusals_verbatim_and_sends_announced_xforward()
    {
        await using var filter = new FakeFilter("220 filter.test ESMTP\r\n", Standard);
        var (client, refusal, _) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test> SIZE=100", default);
        Assert.Null(refusal);
        await using var _c = client!;
        Assert.Null(await client!.RcptAsync("RCPT TO:<ok@x.test>", default));
        var bad = await client.RcptAsync("RCPT TO:<bad@x.test>", default);
        Assert.Equal("550-5.1.1 <bad@x.test>: Recipient address rejected\r\n550 5.1.1 second line\r\n", bad!.ToWireString());
        var final = await client.SendMessageAsync(Message("Subject: x\r\n\r\n.leading dot\r\nlast line without CRLF"), default);
        Assert.Equal("554 5.7.1 Spam detected (filter)\r\n", final.ToWireString());
        Assert.Equal("Subject: x\r\n\r\n..leading dot\r\nlast line without CRLF\r\n", filter.Data);
        Assert.Equal(["EHLO mx.test", "XFORWARD NAME=client.example ADDR=192.0.2.1 PROTO=ESMTP HELO=helo.example",
            "MAIL FROM:<a@x.test> SIZE=100", "RCPT TO:<ok@x.test>", "RCPT TO:<bad@x.test>", "DATA"], filter.Received.Take(6));
    }

    [Fact]
    public async Task No_xforward_when_not_announced()
    {
        await using var filter = new FakeFilter("220 filter.test ESMTP\r\n", l => l.StartsWith("EHLO") ? "250 filter.test\r\n" : Standard(l));
        var (client, refusal, _) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test>", default);
        Assert.Null(refusal);
        await client!.DisposeAsync();
        Assert.DoesNotContain(filter.Received, l => l.StartsWith("XFORWARD"));
    }

    [Theory]
    [InlineData("554 5.3.2 go away\r\n", "EHLO")]            // bad banner
    [InlineData("220 ok\r\n", "EHLO")]                       // EHLO refused
    [InlineData("220 ok\r\n", "XFORWARD")]                   // XFORWARD refused
    public async Task Trouble_before_mail_is_masked_as_451_4_3_0(string banner, string failAt)
    {
        await using var filter = new FakeFilter(banner, l => l.StartsWith(failAt) ? "502 5.5.1 no\r\n" : Standard(l));
        var (client, refusal, failure) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test>", default);
        Assert.Null(client);
        Assert.Equal("451 4.3.0 Error: queue file write error", refusal!.ToString());
        Assert.False(string.IsNullOrEmpty(failure));
    }

    [Fact]
    public async Task Refused_mail_is_relayed_not_masked()
    {
        await using var filter = new FakeFilter("220 ok\r\n", l => l.StartsWith("MAIL") ? "452 4.3.1 Insufficient system storage\r\n" : Standard(l));
        var (client, refusal, _) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test>", default);
        Assert.Null(client);
        Assert.Equal("452 4.3.1 Insufficient system storage", refusal!.ToString());
    }

    [Fact]
    public async Task Connection_refused_is_masked()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var settings = new ProxyFilterSettings(new IPEndPoint(IPAddress.Loopback, port), "mx.test", TimeSpan.FromSeconds(5), false);
        var (client, refusal, failure) = await ProxyFilterClient.OpenAsync(settings, Facts, "MAIL FROM:<a@x.test>", default);
        Assert.Null(client);
        Assert.Equal(451, refusal!.Code);
        Assert.Contains("connect", failure);
    }

    [Fact]
    public async Task Dropped_connection_and_unexpected_2xx_at_data_are_masked()
    {
        await using (var filter = new FakeFilter("220 ok\r\n", l => l == "DATA" ? "250 2.0.0 huh\r\n" : Standard(l)))
        {
            var (client, _, _) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test>", default);
            Assert.Null(await client!.RcptAsync("RCPT TO:<ok@x.test>", default));
            Assert.Equal(451, (await client.SendMessageAsync(Message("x\r\n"), default)).Code);
            await client.DisposeAsync();
        }
        await using (var filter = new FakeFilter("220 ok\r\n", l => l.StartsWith("RCPT") ? "" : Standard(l)))
        {
            var (client, _, _) = await ProxyFilterClient.OpenAsync(filter.Settings(), Facts, "MAIL FROM:<a@x.test>", default);
            Assert.Equal(451, (await client!.RcptAsync("RCPT TO:<ok@x.test>", default))!.Code);
            Assert.True(client.Broken);
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Silent_filter_times_out_into_451()
    {
        await using var filter = new FakeFilter("220 ok\r\n", l => l.StartsWith("MAIL") ? "" : Standard(l));
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();   // accepts (backlog) but never sends a banner
        try
        {
            var settings = new ProxyFilterSettings(silent.LocalEndpoint, "mx.test", TimeSpan.FromMilliseconds(300), false);
            var (client, refusal, failure) = await ProxyFilterClient.OpenAsync(settings, Facts, "MAIL FROM:<a@x.test>", default);
            Assert.Null(client);
            Assert.Equal(451, refusal!.Code);
            Assert.Contains("timeout", failure);
        }
        finally { silent.Stop(); }
    }

    [Theory]
    [InlineData("inet:127.0.0.1:10025", "127.0.0.1:10025")]
    [InlineData("127.0.0.1:10025", "127.0.0.1:10025")]
    [InlineData("[::1]:10025", "[::1]:10025")]
    [InlineData("localhost:10025", "Unspecified/localhost:10025")]
    public void Filter_endpoints(string spec, string expected) => Assert.Equal(expected, ProxyFilterSettings.ParseEndPoint(spec).ToString());
}
