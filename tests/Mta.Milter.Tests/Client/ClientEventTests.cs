// MilterClient envelope events: CONNECT name rules, every reply type, session-level stickiness,
// quarantine/progress, protocol errors (unexpected codes, trailing data, EOF), macros per stage.
using System.Net;
using System.Text;
using Mta.Milter.Protocol;
using Mta.Milter.Tests.Support;
using static Mta.Milter.Tests.Support.FakeMilter;

namespace Mta.Milter.Tests.Client;

public class ClientEventTests
{
    private static async Task<(MilterClient, FakeMilter)> InEnvelopeAsync(uint protocol = 0, uint version = 6, MilterClientOptions? options = null)
    {
        var (client, milter) = await StartAsync(version: version, protocol: protocol | 0x1000, options: options); // NR_CONN
        await client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C');
        return (client, milter);
    }

    [Fact]
    public async Task Connect_unknown_name_becomes_bracketed_address()
    {
        var (client, milter) = await StartAsync(protocol: 0x1000);
        await client.ConnectEventAsync("unknown", MilterAddressFamily.Inet6, 587, "2001:db8::1");
        await milter.ExpectAsync('D', [(byte)'C']);
        await milter.ExpectAsync('C', Cat(Z("[2001:db8::1]"), [(byte)'6', 0x02, 0x4B], Z("2001:db8::1")));
    }

    [Fact]
    public async Task Connect_unknown_name_and_address_stay_unknown()
    {
        var (client, milter) = await StartAsync(protocol: 0x1000);
        await client.ConnectEventAsync("unknown", MilterAddressFamily.Unknown, 0, "unknown");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C', Cat(Z("unknown"), [(byte)'U']));
    }

    [Fact]
    public async Task Connect_from_ipv4_mapped_endpoint_is_family_4()
    {
        var (client, milter) = await StartAsync(protocol: 0x1000);
        await client.ConnectEventAsync("c.example", new IPEndPoint(IPAddress.Parse("::ffff:192.0.2.9"), 1025));
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C', Cat(Z("c.example"), [(byte)'4', 0x04, 0x01], Z("192.0.2.9")));
    }

    [Fact]
    public async Task Rcpt_replies_map_to_values()
    {
        var (client, milter) = await InEnvelopeAsync();
        async Task<MilterResponse> Rcpt(byte[] reply)
        {
            var t = client.RcptAsync(["<x@y>", "NOTIFY=NEVER"]);
            await milter.ExpectAsync('D');
            await milter.ExpectAsync('R', Z("<x@y>", "NOTIFY=NEVER"));
            await milter.SendRawAsync(reply);
            return await t;
        }
        Assert.Equal(MilterResponse.Continue, await Rcpt(Packet('c')));
        Assert.Equal(MilterResponse.Reject, await Rcpt(Packet('r')));
        Assert.Equal(MilterResponse.TempFail, await Rcpt(Packet('t')));
        var y = await Rcpt(Packet('y', Z("550 5.1.1 <x@y>: unknown user")));
        Assert.Equal(MilterAction.ReplyCode, y.Action);
        Assert.Equal("550 5.1.1 <x@y>: unknown user", y.SmtpReply);
        Assert.Equal(MilterSessionState.Envelope, client.State); // per-recipient decisions do not stick
        Assert.Equal("550 5.7.1 Command rejected", MilterResponse.Reject.SmtpReply);
        Assert.Equal("451 4.7.1 Service unavailable - try again later", MilterResponse.TempFail.SmtpReply);
    }

    [Fact]
    public async Task Progress_and_quarantine_are_not_final()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendAsync('p');
        await milter.SendAsync('q', Z(new string('r', 150)));
        await milter.SendAsync('p');
        Assert.False(t.IsCompleted);
        await milter.SendAsync('c');
        var r = await t;
        Assert.Equal(MilterAction.Continue, r.Action);
        Assert.Equal(new string('r', 100), r.QuarantineReason);
    }

    [Theory]
    [InlineData('r', MilterAction.Reject)]
    [InlineData('t', MilterAction.TempFail)]
    [InlineData('4', MilterAction.Shutdown)]
    public async Task Connect_level_refusal_sticks_and_closes(char code, MilterAction action)
    {
        var (client, milter) = await StartAsync();
        var t = client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C');
        await milter.SendAsync(code);
        var r = await t;
        Assert.Equal(action, r.Action);
        Assert.Equal(MilterSessionState.RejectedConnection, client.State);
        Assert.True(milter.ClientClosed());
        Assert.Same(r, await client.HeloAsync("x"));
        Assert.Same(r, await client.MailAsync(["<a@b>"]));
        Assert.Same(r, await client.HeaderAsync("A", " b"));
        await client.AbortAsync();
        await client.QuitAsync();
    }

    [Fact]
    public async Task Helo_reply_code_sticks_for_the_session()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.HeloAsync("bad");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('H', Z("bad"));
        await milter.SendAsync('y', Z("554 5.7.1 go away"));
        var r = await t;
        Assert.Equal("554 5.7.1 go away", r.ReplyText);
        Assert.Same(r, await client.MailAsync(["<a@b>"]));
        Assert.Same(r, await client.RcptAsync(["<a@b>"]));
    }

    [Fact]
    public async Task Shutdown_at_rcpt_also_ends_the_session()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.RcptAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('R');
        await milter.SendAsync('4');
        Assert.Equal(MilterAction.Shutdown, (await t).Action);
        Assert.Equal(MilterSessionState.RejectedConnection, client.State);
        Assert.Equal("421 4.7.0 Server closing connection", (await client.DataAsync()).SmtpReply);
    }

    [Fact]
    public async Task Accept_at_connect_ends_all_events()
    {
        var (client, milter) = await StartAsync();
        var t = client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C');
        await milter.SendAsync('a');
        Assert.Equal(MilterResponse.Accept, await t);
        Assert.Equal(MilterSessionState.AcceptedConnection, client.State);
        Assert.Equal(MilterResponse.Continue, await client.HeloAsync("x"));
        Assert.Equal(MilterResponse.Continue, await client.MailAsync(["<a@b>"]));
        var eob = await client.EndOfMessageAsync();
        Assert.Empty(eob.Modifications);
        Assert.True(milter.ClientClosed());
    }

    [Fact]
    public async Task Discard_at_helo_is_ignored_as_postfix_does()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.HeloAsync("x");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('H');
        await milter.SendAsync('d');
        Assert.Equal(MilterResponse.Continue, await t);
        Assert.Equal(MilterSessionState.Envelope, client.State);
    }

    [Fact]
    public async Task Accept_at_mail_skips_the_rest_of_the_message_until_abort()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendAsync('a');
        Assert.Equal(MilterResponse.Accept, await t);
        Assert.Equal(MilterSessionState.AcceptedMessage, client.State);
        Assert.Equal(MilterResponse.Continue, await client.RcptAsync(["<c@d>"]));
        Assert.Equal(MilterResponse.Continue, await client.DataAsync());
        Assert.Equal(MilterResponse.Continue, await client.HeaderAsync("A", " b"));
        var eob = await client.EndOfMessageAsync();
        Assert.Equal(MilterResponse.Continue, eob.Response);
        Assert.Empty(milter.Drain());
        await client.AbortAsync();
        await milter.ExpectAsync('A', []);
        var m = client.MailAsync(["<e@f>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M', Z("<e@f>"));
        await milter.SendAsync('c');
        Assert.Equal(MilterResponse.Continue, await m);
    }

    [Fact]
    public async Task Abort_and_quit_carry_no_reply()
    {
        var (client, milter) = await InEnvelopeAsync();
        await client.AbortAsync();
        await milter.ExpectAsync('A', []);
        await client.QuitAsync();
        await milter.ExpectAsync('Q', []);
        Assert.True(milter.ClientClosed());
        Assert.Equal(MilterSessionState.Closed, client.State);
    }

    [Fact]
    public async Task Abort_before_connect_event_sends_nothing()
    {
        var (client, milter) = await StartAsync();
        await client.AbortAsync();
        Assert.Empty(milter.Drain());
    }

    public static TheoryData<char> ModificationCodes => new() { 'h', 'i', 'm', '+', '-', '2', 'e', 'b' };

    [Theory]
    [MemberData(nameof(ModificationCodes))]
    public async Task Modification_outside_eob_is_a_protocol_error(char code)
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.RcptAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('R');
        await milter.SendAsync(code, Z("x", "y"));
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Equal($"unexpected filter response {MilterReplyCode.Name((byte)code)} after event SMFIC_RCPT", ex.Message);
        Assert.Equal(MilterFailureKind.Communication, ex.Kind);
        Assert.Equal(MilterSessionState.Error, client.State);
        Assert.True(milter.ClientClosed());
        await Assert.ThrowsAsync<MilterProtocolException>(() => client.DataAsync());
    }

    [Theory]
    [InlineData('f')]
    [InlineData('O')]
    [InlineData('l')]
    [InlineData('Z')]
    public async Task Unknown_or_unhandled_codes_are_protocol_errors(char code)
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.HeloAsync("x");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('H');
        await milter.SendAsync(code);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("unexpected filter response", ex.Message);
    }

    [Theory]
    [InlineData('c')]
    [InlineData('a')]
    [InlineData('r')]
    [InlineData('t')]
    [InlineData('d')]
    [InlineData('4')]
    [InlineData('p')]
    [InlineData('s')]
    public async Task Fixed_reply_with_data_is_a_protocol_error(char code)
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendAsync(code, 0);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("followed by 1 data bytes", ex.Message);
    }

    [Fact]
    public async Task Malformed_reply_code_is_a_configuration_error()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendAsync('y', Z("250 ok"));
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Equal(MilterFailureKind.Configuration, ex.Kind);
        Assert.StartsWith("malformed reply: 250 ok", ex.Message);
    }

    [Fact]
    public async Task Skip_not_offered_below_version_6_is_unexpected()
    {
        var opts = new MilterClientOptions { ProtocolVersion = 4, TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() };
        var (client, milter) = await InEnvelopeAsync(version: 4, options: opts);
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendAsync('s');
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("SMFIR_SKIP", ex.Message);
    }

    [Fact]
    public async Task Eof_while_waiting_is_a_protocol_error()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendRawAsync([0, 0]);
        milter.CloseFromMilter();
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("EOF", ex.Message);
    }

    [Fact]
    public async Task Oversize_inbound_packet_is_a_protocol_error()
    {
        var opts = new MilterClientOptions { MaxInboundPacketLength = 1000, TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() };
        var (client, milter) = await InEnvelopeAsync(options: opts);
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendRawAsync([0, 0, 0x03, 0xE9, (byte)'c']);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("unreasonable packet length: 1001 > 1000", ex.Message);
    }

    [Fact]
    public async Task Zero_length_inbound_packet_is_a_protocol_error()
    {
        var (client, milter) = await InEnvelopeAsync();
        var t = client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        await milter.SendRawAsync([0, 0, 0, 0]);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("bad packet length: 0", ex.Message);
    }

    [Fact]
    public async Task Optneg_reply_with_wrong_code_fails()
    {
        var milter = new FakeMilter();
        var client = new MilterClient(new MilterClientOptions { TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() });
        var t = client.ConnectAsync(milter.ClientTransport);
        await milter.ExpectAsync('O', Cat(U32(6), U32(0x1FF), U32(0x1FFFFF)));
        await milter.SendAsync('c');
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("unexpected reply \"c\" in initial handshake", ex.Message);
    }

    [Fact]
    public async Task Optneg_request_mask_conflict_fails()
    {
        var milter = new FakeMilter();
        var client = new MilterClient(new MilterClientOptions { TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() });
        var t = client.ConnectAsync(milter.ClientTransport);
        await milter.NegotiateAsync(6, 0x3FF, 0);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t);
        Assert.Contains("request mask", ex.Message);
        Assert.Equal(MilterSessionState.Error, client.State);
    }

    [Fact]
    public async Task Offer_uses_configured_version()
    {
        var milter = new FakeMilter();
        var client = new MilterClient(new MilterClientOptions { ProtocolVersion = 2, NoHeaderReply = true, TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() });
        var t = client.ConnectAsync(milter.ClientTransport);
        await milter.ExpectAsync('O', Cat(U32(2), U32(0x1FF), U32(0xFF)));
        await milter.SendAsync('O', Cat(U32(2), U32(0x0F), U32(0)));
        await t;
        Assert.Equal(2u, client.Negotiation.Version);
        Assert.Equal(MilterSessionState.Ready, client.State);
    }

    [Fact]
    public async Task Rcpt_rej_is_reported()
    {
        var (client, _) = await StartAsync(protocol: 0x800);
        Assert.True(client.WantsRejectedRecipients);
    }

    [Fact]
    public async Task Macros_only_known_values_single_letters_without_braces()
    {
        var (client, milter) = await StartAsync(protocol: 0x1000);
        var macros = new Dictionary<string, string>
        {
            ["j"] = "mx.example",          // listed as j
            ["{daemon_name}"] = "mx",     // listed braced
            ["{_}"] = "c.example [192.0.2.1]", // host keyed braced, list says _
            ["{client_addr}"] = "192.0.2.1", // not in the connect list
        };
        await client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1", macros);
        await milter.ExpectAsync('D', Cat([(byte)'C'], Z("j", "mx.example", "{daemon_name}", "mx", "_", "c.example [192.0.2.1]")));
    }

    [Fact]
    public async Task Setsymlist_overrides_only_the_stages_given()
    {
        var lists = Cat(U32(0), Z("{client_addr} j"), U32(2), Z(""), U32(6), Z("{auth_type}"));
        var (client, milter) = await StartAsync(protocol: 0x1000 | 0x4000 | 0x80 | 0x40000, macroLists: lists);
        Assert.Equal(["{client_addr}", "j"], client.MacroNamesFor(MilterMacroStage.Connect));
        Assert.Equal(["i", "{auth_type}", "{auth_authen}", "{auth_author}", "{mail_addr}", "{mail_host}", "{mail_mailer}"],
            client.MacroNamesFor(MilterMacroStage.EnvelopeFrom)); // empty list: MTA default (Postfix)
        Assert.Equal(["{auth_type}"], client.MacroNamesFor(MilterMacroStage.EndOfHeaders));
        Assert.Equal(["i"], client.MacroNamesFor(MilterMacroStage.EndOfMessage));

        var macros = new Dictionary<string, string> { ["{client_addr}"] = "192.0.2.1", ["i"] = "QID", ["{auth_type}"] = "PLAIN" };
        await client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1", macros);
        await milter.ExpectAsync('D', Cat([(byte)'C'], Z("{client_addr}", "192.0.2.1")));
        await milter.ExpectAsync('C');
        await client.MailAsync(["<a@b>"], macros);
        await milter.ExpectAsync('D', Cat([(byte)'M'], Z("i", "QID", "{auth_type}", "PLAIN")));
        await milter.ExpectAsync('M');
        await client.HeaderAsync("X", " y", macros);
        await milter.ExpectAsync('D', Cat([(byte)'L'], Z("{auth_type}", "PLAIN")));
        await milter.ExpectAsync('L', Z("X", "y"));
        await client.EndOfHeadersAsync(macros);
        await milter.ExpectAsync('D', Cat([(byte)'N'], Z("{auth_type}", "PLAIN")));
        await milter.ExpectAsync('N', []);
    }

    [Fact]
    public async Task Unknown_command_uses_its_own_list_and_full_line()
    {
        var opts = new MilterClientOptions { Macros = new MilterMacroLists { Unknown = "{client_addr}" }, TimeProvider = new Microsoft.Extensions.Time.Testing.FakeTimeProvider() };
        var (client, milter) = await InEnvelopeAsync(options: opts);
        var t = client.UnknownAsync("XFOO bar baz", new Dictionary<string, string> { ["{client_addr}"] = "192.0.2.1" });
        await milter.ExpectAsync('D', Cat([(byte)'U'], Z("{client_addr}", "192.0.2.1")));
        await milter.ExpectAsync('U', Z("XFOO bar baz"));
        await milter.SendAsync('y', Z("421 4.7.0 bye"));
        Assert.Equal("421 4.7.0 bye", (await t).ReplyText);
    }

    [Fact]
    public async Task Event_before_connect_is_a_usage_error()
    {
        var (client, _) = await StartAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.MailAsync(["<a@b>"]));
        var fresh = new MilterClient();
        await Assert.ThrowsAsync<InvalidOperationException>(() => fresh.HeloAsync("x"));
    }

    [Fact]
    public void Response_to_string_mentions_quarantine()
    {
        Assert.Contains("quarantine: why", MilterResponse.Accept.WithQuarantine("why").ToString());
        Assert.Same(MilterResponse.Accept, MilterResponse.Accept.WithQuarantine(null));
        _ = Encoding.UTF8;
    }
}
