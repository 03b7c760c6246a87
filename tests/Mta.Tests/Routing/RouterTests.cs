// Router matrix: mydestination, every transport(5) value form, texthash and inline tables, parent-domain
// matching, relayhost, default_transport, and table errors naming table and line.
using Mta.Configuration;
using Mta.Delivery;
using Mta.Routing;
using Mta.Smtp.Envelope;

namespace Mta.Tests.Routing;

public sealed class RouterTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("router-").FullName;
    public void Dispose() => Directory.Delete(_dir, true);

    private static Router Make(string[]? maps = null, string relay = "", string def = "smtp", params string[] mydest) =>
        new(new IdentityOptions { MyDestination = mydest.Length == 0 ? ["mx.example.net", "localhost.example.net"] : mydest },
            new DeliveryOptions { TransportMaps = maps ?? [], RelayHost = relay, DefaultTransport = def });

    private static SmtpPath P(string addr)
    {
        int at = addr.LastIndexOf('@');
        return at < 0 ? new SmtpPath(addr, "") : new SmtpPath(addr[..at], addr[(at + 1)..]);
    }

    [Theory]
    [InlineData("u@MX.example.NET")]
    [InlineData("u@mx.example.net.")]
    [InlineData("u@localhost")]
    [InlineData("postmaster")]
    public void Local_domains_go_local(string addr) => Assert.Equal(NextHop.Local, Make().Route(P(addr)));

    [Fact]
    public void Star_makes_everything_local() => Assert.Equal(NextHop.Local, Make(mydest: "*").Route(P("u@anything.example")));

    [Theory]
    [InlineData("smtp:[10.0.0.1]:2525", TransportKind.Smtp, "10.0.0.1", 2525, true, null)]
    [InlineData("smtp:[mail.example.com]", TransportKind.Smtp, "mail.example.com", 25, true, null)]
    [InlineData("smtp:mail.example.com", TransportKind.Smtp, "mail.example.com", 25, false, null)]
    [InlineData("smtp:Mail.Example.com:587", TransportKind.Smtp, "mail.example.com", 587, false, null)]
    [InlineData("smtp:[IPv6:2001:db8::1]:26", TransportKind.Smtp, "2001:db8::1", 26, true, null)]
    [InlineData("relay:[relay.example]", TransportKind.Smtp, "relay.example", 25, true, null)]
    [InlineData("smtp:", TransportKind.Smtp, "dest.example", 25, false, null)]
    [InlineData("smtp", TransportKind.Smtp, "dest.example", 25, false, null)]
    [InlineData("lmtp:lmtp.example:2424", TransportKind.Lmtp, "lmtp.example", 2424, true, null)]
    [InlineData("lmtp:[127.0.0.1]:24", TransportKind.Lmtp, "127.0.0.1", 24, true, null)]
    [InlineData("lmtp:inet:lmtp.example", TransportKind.Lmtp, "lmtp.example", 24, true, null)]
    [InlineData("lmtp:unix:/run/dovecot/lmtp", TransportKind.Lmtp, "", 0, true, "/run/dovecot/lmtp")]
    [InlineData("discard:", TransportKind.Discard, "", 0, true, null)]
    [InlineData("discard:silently", TransportKind.Discard, "silently", 0, true, null)]
    [InlineData("error:5.1.1 mailbox unavailable", TransportKind.Error, "5.1.1 mailbox unavailable", 0, true, null)]
    [InlineData("local:", TransportKind.Local, "", 0, true, null)]
    public void Transport_values_in_texthash(string value, TransportKind kind, string host, int port, bool suppressMx, string? unix)
    {
        var file = Path.Combine(_dir, "transport");
        File.WriteAllText(file, $"# comment\n\ndest.example   {value}\n");
        var hop = Make([$"texthash:{file}"]).Route(P("user@Dest.Example"));
        Assert.Equal(new NextHop(kind, host, port, suppressMx, unix), hop);
    }

    [Fact]
    public void Inline_table_with_braced_entry_and_split_list_items()
    {
        // The config loader splits list parameters on commas; the router reassembles inline:{...}.
        var r = Make(["inline:{ a.example=smtp:[10.0.0.2]:25", "{ b.example = error:5.7.1 go away, really }", "c.example=discard: }"]);
        Assert.Equal(new NextHop(TransportKind.Smtp, "10.0.0.2", 25, true), r.Route(P("x@a.example")));
        Assert.Equal(new NextHop(TransportKind.Error, "5.7.1 go away, really", 0, true), r.Route(P("x@b.example")));
        Assert.Equal(TransportKind.Discard, r.Route(P("x@c.example")).Transport);
        Assert.Equal(new NextHop(TransportKind.Smtp, "d.example", 25, false), r.Route(P("x@d.example")));
    }

    [Fact]
    public void Lookup_order_address_domain_parents_wildcard()
    {
        var r = Make(["inline:{ vip@example.com=smtp:[vip.relay], example.com=smtp:[exact], .example.com=smtp:[parent], .com=smtp:[tld], *=smtp:[any] }"]);
        Assert.Equal("vip.relay", r.Route(P("VIP@example.com")).Host);
        Assert.Equal("exact", r.Route(P("other@example.com")).Host);
        Assert.Equal("parent", r.Route(P("u@a.b.example.com")).Host);
        Assert.Equal("tld", r.Route(P("u@other.com")).Host);
        Assert.Equal("any", r.Route(P("u@other.org")).Host);
    }

    [Fact]
    public void First_table_wins_per_key_and_tables_are_consulted_key_by_key()
    {
        var r = Make(["inline:{ .example.com=smtp:[first] }", "inline:{ sub.example.com=smtp:[second], .example.com=smtp:[ignored] }"]);
        Assert.Equal("second", r.Route(P("u@sub.example.com")).Host);   // exact domain key comes before parent key
        Assert.Equal("first", r.Route(P("u@x.example.com")).Host);
    }

    [Fact]
    public void Empty_transport_uses_default_transport()
    {
        var r = Make(["inline:{ a.example=:[hop.example] }"], def: "lmtp");
        Assert.Equal(new NextHop(TransportKind.Lmtp, "hop.example", 24, true), r.Route(P("u@a.example")));
    }

    [Theory]
    [InlineData("[relay.example]:587", "relay.example", 587, true)]
    [InlineData("relay.example", "relay.example", 25, false)]
    [InlineData("[192.0.2.7]", "192.0.2.7", 25, true)]
    public void Relayhost_applies_when_no_table_matches(string relay, string host, int port, bool suppress)
    {
        var r = Make(["inline:{ special.example=discard: }"], relay: relay);
        Assert.Equal(new NextHop(TransportKind.Smtp, host, port, suppress), r.Route(P("u@remote.example")));
        Assert.Equal(TransportKind.Discard, r.Route(P("u@special.example")).Transport);
        Assert.Equal(NextHop.Local, r.Route(P("u@mx.example.net")));
    }

    [Theory]
    [InlineData("smtp", "u@remote.example", TransportKind.Smtp, "remote.example", 25, false)]
    [InlineData("smtp", "u@[192.0.2.1]", TransportKind.Smtp, "192.0.2.1", 25, true)]
    [InlineData("lmtp:unix:/run/lmtp", "u@remote.example", TransportKind.Lmtp, "", 0, true)]
    [InlineData("discard", "u@remote.example", TransportKind.Discard, "", 0, true)]
    [InlineData("error:5.7.1 relaying disabled", "u@remote.example", TransportKind.Error, "5.7.1 relaying disabled", 0, true)]
    public void Default_transport_with_recipient_domain(string def, string addr, TransportKind kind, string host, int port, bool suppress)
    {
        var hop = Make(def: def).Route(P(addr));
        Assert.Equal((kind, host, port, suppress), (hop.Transport, hop.Host, hop.Port, hop.SuppressMx));
    }

    [Fact]
    public void Malformed_recipient_literal_routes_to_error()
    {
        var hop = Make().Route(P("u@[192.0.2.1"));
        Assert.Equal(TransportKind.Error, hop.Transport);
    }

    [Theory]
    [InlineData("a.example smtp:[x]\nb.example bogus:thing\n", 2)]
    [InlineData("# c\n\nlonely\n", 3)]
    [InlineData("a.example smtp:[x]:99999\n", 1)]
    [InlineData("a.example smtp:[x\n", 1)]
    [InlineData("  indented-first smtp:\n", 1)]
    public void Texthash_errors_name_table_and_line(string text, int line)
    {
        var file = Path.Combine(_dir, "bad");
        File.WriteAllText(file, text);
        var e = Assert.Throws<RoutingConfigurationException>(() => Make([$"texthash:{file}"]));
        Assert.Equal($"texthash:{file}", e.Table);
        Assert.Equal(line, e.Line);
        Assert.Contains($"line {line}", e.Message);
    }

    [Fact]
    public void Texthash_continuation_lines_join()
    {
        var file = Path.Combine(_dir, "cont");
        File.WriteAllText(file, "a.example\n   smtp:[joined]:26\nb.example discard:\n");
        Assert.Equal(new NextHop(TransportKind.Smtp, "joined", 26, true), Make([$"texthash:{file}"]).Route(P("u@a.example")));
    }

    [Theory]
    [InlineData("hash:/etc/postfix/transport")]
    [InlineData("inline:{ a=b:c }")]
    [InlineData("inline: a=smtp:x")]
    [InlineData("texthash:/nonexistent/file")]
    public void Unsupported_or_bad_tables_fail_at_startup(string table) =>
        Assert.Throws<RoutingConfigurationException>(() => Make([table]));

    [Fact]
    public void Bad_relayhost_or_default_transport_fail_at_startup()
    {
        Assert.Equal("relayhost", Assert.Throws<RoutingConfigurationException>(() => Make(relay: "[x]:notaport")).Table);
        Assert.Equal("default_transport", Assert.Throws<RoutingConfigurationException>(() => Make(def: "uucp")).Table);
    }
}
