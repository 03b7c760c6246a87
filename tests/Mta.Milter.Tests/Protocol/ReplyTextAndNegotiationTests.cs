// SMFIR_REPLYCODE validation (Postfix milter8_valid_smtp_reply) and OPTNEG offer/reply parsing.
using System.Text;
using Mta.Milter.Protocol;
using Mta.Milter.Tests.Support;

namespace Mta.Milter.Tests.Protocol;

public class ReplyTextTests
{
    [Theory]
    [InlineData("550 5.7.1 Rejected", "550 5.7.1 Rejected")]
    [InlineData("451 4.7.1 Try again later\0", "451 4.7.1 Try again later")]
    [InlineData("554 no enhanced code", "554 no enhanced code")]
    [InlineData("550 ", "550 ")]
    [InlineData("550-5.7.1 first\r\n550 5.7.1 last", "550-5.7.1 first\r\n550 5.7.1 last")]
    [InlineData("550-a\r\n551 b", "550-a\r\n551 b")]
    [InlineData("550 5.0.0 100%% sure", "550 5.0.0 100% sure")]
    [InlineData("550 x 50% off", "550 x 50 off")]
    [InlineData("421 4.7.0 bye", "421 4.7.0 bye")]
    public void Valid(string raw, string expected)
    {
        Assert.True(MilterReplyText.TryNormalize(Encoding.UTF8.GetBytes(raw), out var text));
        Assert.Equal(expected, text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\0")]
    [InlineData("250 ok")]
    [InlineData("350 x")]
    [InlineData("55 x")]
    [InlineData("550")]
    [InlineData("5a0 x")]
    [InlineData("550-final line with dash")]
    [InlineData("550 4.7.1 class mismatch")]
    [InlineData("450 5.7.1 class mismatch")]
    [InlineData("550 a\r\n550 b")]
    [InlineData("550-a\n550 b")]
    [InlineData("550-a\r550 b")]
    [InlineData("550 a\r\n")]
    [InlineData("550-a\r\n")]
    [InlineData("550 a\0b")]
    [InlineData("550-a\r\n250 b")]
    [InlineData("550 100 percent")] // Postfix: a digit after "550 " must be the enhanced-code class
    public void Malformed(string raw)
    {
        Assert.False(MilterReplyText.TryNormalize(Encoding.UTF8.GetBytes(raw), out _));
    }
}

public class NegotiationTests
{
    [Theory]
    [InlineData(2, 0x7Fu)]
    [InlineData(3, 0x17Fu)]
    [InlineData(4, 0x37Fu)]
    [InlineData(6, 0x1FFFFFu)]
    public void Offered_masks_per_version_as_postfix(int version, uint mask)
    {
        Assert.Equal(mask, (uint)MilterNegotiation.OfferedMask(version));
    }

    [Fact]
    public void No_header_reply_adds_NOHREPL()
    {
        Assert.Equal(0x37Fu | 0x80u, (uint)MilterNegotiation.OfferedMask(4, noHeaderReply: true));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(7)]
    public void Unsupported_versions(int version)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MilterNegotiation.OfferedMask(version));
        Assert.Throws<ArgumentException>(() => new MilterClient(new MilterClientOptions { ProtocolVersion = version }));
    }

    private static byte[] Reply(uint v, uint a, uint p, params byte[][] extra) =>
        FakeMilter.Cat([FakeMilter.U32(v), FakeMilter.U32(a), FakeMilter.U32(p), .. extra]);

    [Fact]
    public void Rspamd_reply_taken_as_given()
    {
        var n = MilterNegotiation.Parse(Reply(6, 0x1FF, 0x0FF080), 6, MilterNegotiation.V6Mask);
        Assert.Equal(6u, n.Version);
        Assert.Equal(MilterActions.All, n.Actions);
        Assert.Equal(MilterProtocolFlags.NoReplyMask, n.Protocol);
        Assert.Equal(MilterProtocolFlags.None, n.NonProtocolEvents);
        Assert.Empty(n.MacroLists);
        Assert.True(n.SkipOffered);
    }

    [Fact]
    public void Version_above_offer_is_an_error()
    {
        var ex = Assert.Throws<MilterProtocolException>(() => MilterNegotiation.Parse(Reply(6, 1, 0), 4, MilterNegotiation.V4Mask));
        Assert.Contains("protocol version 6 conflict", ex.Message);
    }

    [Fact]
    public void Actions_outside_offer_is_request_mask_conflict()
    {
        var ex = Assert.Throws<MilterProtocolException>(() => MilterNegotiation.Parse(Reply(6, 0x200, 0), 6, MilterNegotiation.V6Mask));
        Assert.Contains("request mask conflict", ex.Message.Replace("0x200 ", ""));
    }

    [Fact]
    public void Short_reply_is_an_error()
    {
        Assert.Throws<MilterProtocolException>(() => MilterNegotiation.Parse(new byte[11], 6, MilterNegotiation.V6Mask));
    }

    [Theory]
    [InlineData(6u, 0u)]
    [InlineData(5u, 0u)]
    [InlineData(4u, 0u)]
    [InlineData(3u, 0x200u)]
    [InlineData(2u, 0x300u)]
    [InlineData(1u, 0u)]
    public void Downgrade_drops_events_the_milter_version_lacks(uint milterVersion, uint np)
    {
        var n = MilterNegotiation.Parse(Reply(milterVersion, 0, 0), 6, MilterNegotiation.V6Mask);
        Assert.Equal(np, (uint)n.NonProtocolEvents);
    }

    [Fact]
    public void Offer_of_version_2_never_sends_data_or_unknown()
    {
        var n = MilterNegotiation.Parse(Reply(2, 0, 0), 2, MilterNegotiation.V2Mask);
        Assert.Equal(0x300u, (uint)n.NonProtocolEvents);
    }

    [Fact]
    public void Macro_lists_parsed_per_stage_unknown_stage_ignored()
    {
        var payload = Reply(6, 0x1FF, 0,
            FakeMilter.U32(0), FakeMilter.Z("j {client_addr}"),
            FakeMilter.U32(6), FakeMilter.Z("i {auth_type}"),
            FakeMilter.U32(9), FakeMilter.Z("x"),
            FakeMilter.U32(2), FakeMilter.Z(""));
        var n = MilterNegotiation.Parse(payload, 6, MilterNegotiation.V6Mask);
        Assert.Equal("j {client_addr}", n.MacroLists[MilterMacroStage.Connect]);
        Assert.Equal("i {auth_type}", n.MacroLists[MilterMacroStage.EndOfHeaders]);
        Assert.Equal("", n.MacroLists[MilterMacroStage.EnvelopeFrom]);
        Assert.Equal(3, n.MacroLists.Count);
    }

    [Fact]
    public void Truncated_macro_list_is_an_error()
    {
        Assert.Throws<MilterProtocolException>(() => MilterNegotiation.Parse(Reply(6, 0, 0, [0, 0]), 6, MilterNegotiation.V6Mask));
        Assert.Throws<MilterProtocolException>(() => MilterNegotiation.Parse(Reply(6, 0, 0, FakeMilter.U32(1), [(byte)'i']), 6, MilterNegotiation.V6Mask));
    }
}

public class EndpointTests
{
    [Theory]
    [InlineData("inet:localhost:8891", "localhost", 8891)]
    [InlineData("inet:127.0.0.1:11332", "127.0.0.1", 11332)]
    [InlineData("inet:[::1]:8891", "::1", 8891)]
    [InlineData("inet:[2001:db8::5]:1", "2001:db8::5", 1)]
    public void Inet(string text, string host, int port)
    {
        var ep = MilterEndpoint.Parse(text);
        Assert.False(ep.IsUnix);
        Assert.Equal(host, ep.Host);
        Assert.Equal(port, ep.Port);
    }

    [Theory]
    [InlineData("unix:/run/opendkim/opendkim.sock", "/run/opendkim/opendkim.sock")]
    [InlineData("local:/x", "/x")]
    [InlineData("unix:relative/path", "relative/path")]
    public void Unix(string text, string path)
    {
        var ep = MilterEndpoint.Parse(text);
        Assert.True(ep.IsUnix);
        Assert.Equal(path, ep.Path);
    }

    [Theory]
    [InlineData("localhost:8891")]
    [InlineData("inet:")]
    [InlineData("inet:host")]
    [InlineData("inet:host:0")]
    [InlineData("inet:host:65536")]
    [InlineData("inet::25")]
    [InlineData("inet:::1:25")]
    [InlineData("inet:[::1]8891")]
    [InlineData("tcp:host:1")]
    [InlineData(":x")]
    public void Bad(string text)
    {
        Assert.Throws<FormatException>(() => MilterEndpoint.Parse(text));
    }
}
