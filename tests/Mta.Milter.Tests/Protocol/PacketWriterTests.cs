// Byte-exact vectors for every MTA -> milter command (hand-written arrays, reference 1.1-1.2).
using System.Buffers;
using Mta.Milter.Protocol;

namespace Mta.Milter.Tests.Protocol;

public class PacketWriterTests
{
    private static byte[] Write(Action<IBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public void OptNeg_version6_actions1FF_protocol1FFFFF()
    {
        var bytes = Write(w => MilterPacketWriter.WriteOptionNegotiation(w, 6, MilterActions.All, (MilterProtocolFlags)0x1FFFFF));
        Assert.Equal(new byte[] { 0, 0, 0, 13, (byte)'O', 0, 0, 0, 6, 0, 0, 0x01, 0xFF, 0, 0x1F, 0xFF, 0xFF }, bytes);
    }

    [Fact]
    public void Macro_with_pairs()
    {
        var bytes = Write(w => MilterPacketWriter.WriteMacros(w, (byte)'C', [new("j", "mx"), new("{daemon_name}", "d")]));
        byte[] expected = [0, 0, 0, 22, (byte)'D', (byte)'C',
            (byte)'j', 0, (byte)'m', (byte)'x', 0,
            (byte)'{', (byte)'d', (byte)'a', (byte)'e', (byte)'m', (byte)'o', (byte)'n', (byte)'_', (byte)'n', (byte)'a', (byte)'m', (byte)'e', (byte)'}', 0,
            (byte)'d', 0];
        expected[3] = (byte)(expected.Length - 4);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Macro_empty_list_is_just_the_stage_byte()
    {
        var bytes = Write(w => MilterPacketWriter.WriteMacros(w, (byte)'T', []));
        Assert.Equal(new byte[] { 0, 0, 0, 2, (byte)'D', (byte)'T' }, bytes);
    }

    [Fact]
    public void Connect_inet4()
    {
        var bytes = Write(w => MilterPacketWriter.WriteConnect(w, "h", MilterAddressFamily.Inet, 25, "1.2.3.4"));
        byte[] expected = [0, 0, 0, 15, (byte)'C', (byte)'h', 0, (byte)'4', 0, 25,
            (byte)'1', (byte)'.', (byte)'2', (byte)'.', (byte)'3', (byte)'.', (byte)'4', 0];
        expected[3] = (byte)(expected.Length - 4);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Connect_inet6_port_big_endian()
    {
        var bytes = Write(w => MilterPacketWriter.WriteConnect(w, "[::1]", MilterAddressFamily.Inet6, 0x1234, "::1"));
        byte[] expected = [0, 0, 0, 0, (byte)'C', (byte)'[', (byte)':', (byte)':', (byte)'1', (byte)']', 0, (byte)'6', 0x12, 0x34,
            (byte)':', (byte)':', (byte)'1', 0];
        expected[3] = (byte)(expected.Length - 4);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Connect_unix_has_port_zero()
    {
        var bytes = Write(w => MilterPacketWriter.WriteConnect(w, "localhost", MilterAddressFamily.Unix, 0, "/s"));
        byte[] expected = [0, 0, 0, 0, (byte)'C', (byte)'l', (byte)'o', (byte)'c', (byte)'a', (byte)'l', (byte)'h', (byte)'o', (byte)'s', (byte)'t', 0,
            (byte)'L', 0, 0, (byte)'/', (byte)'s', 0];
        expected[3] = (byte)(expected.Length - 4);
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Connect_unknown_family_omits_port_and_address()
    {
        var bytes = Write(w => MilterPacketWriter.WriteConnect(w, "x", MilterAddressFamily.Unknown, 25, "ignored"));
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'C', (byte)'x', 0, (byte)'U' }, bytes);
    }

    [Fact]
    public void Helo()
    {
        var bytes = Write(w => MilterPacketWriter.WriteHelo(w, "ab"));
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'H', (byte)'a', (byte)'b', 0 }, bytes);
    }

    [Fact]
    public void Mail_argv()
    {
        var bytes = Write(w => MilterPacketWriter.WriteMail(w, ["<a@b>", "SIZE=1"]));
        byte[] expected = [0, 0, 0, 14, (byte)'M', (byte)'<', (byte)'a', (byte)'@', (byte)'b', (byte)'>', 0,
            (byte)'S', (byte)'I', (byte)'Z', (byte)'E', (byte)'=', (byte)'1', 0];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Rcpt_argv_single()
    {
        var bytes = Write(w => MilterPacketWriter.WriteRcpt(w, ["<>"]));
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'R', (byte)'<', (byte)'>', 0 }, bytes);
    }

    [Theory]
    [InlineData('T')]
    [InlineData('N')]
    [InlineData('E')]
    [InlineData('A')]
    [InlineData('Q')]
    [InlineData('K')]
    public void Empty_packets(char code)
    {
        var bytes = Write(w => MilterPacketWriter.WriteEmpty(w, (byte)code));
        Assert.Equal(new byte[] { 0, 0, 0, 1, (byte)code }, bytes);
    }

    [Fact]
    public void Header_name_and_value()
    {
        var bytes = Write(w => MilterPacketWriter.WriteHeader(w, "To", "x\n\ty"));
        Assert.Equal(new byte[] { 0, 0, 0, 9, (byte)'L', (byte)'T', (byte)'o', 0, (byte)'x', (byte)'\n', (byte)'\t', (byte)'y', 0 }, bytes);
    }

    [Fact]
    public void Body_raw_not_terminated()
    {
        var bytes = Write(w => MilterPacketWriter.WriteBody(w, "a\r\n"u8));
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'B', (byte)'a', 13, 10 }, bytes);
    }

    [Fact]
    public void Unknown_command_line()
    {
        var bytes = Write(w => MilterPacketWriter.WriteUnknown(w, "XYZ 1"));
        Assert.Equal(new byte[] { 0, 0, 0, 7, (byte)'U', (byte)'X', (byte)'Y', (byte)'Z', (byte)' ', (byte)'1', 0 }, bytes);
    }

    [Fact]
    public void Utf8_strings_and_nul_cut()
    {
        var bytes = Write(w => MilterPacketWriter.WriteHelo(w, "é\0tail"));
        Assert.Equal(new byte[] { 0, 0, 0, 4, (byte)'H', 0xC3, 0xA9, 0 }, bytes);
    }

    [Fact]
    public void Body_at_limit_ok_one_more_throws_and_writes_nothing()
    {
        var ok = Write(w => MilterPacketWriter.WriteBody(w, new byte[65535]));
        Assert.Equal(65540, ok.Length);
        Assert.Equal(new byte[] { 0, 1, 0, 0, (byte)'B' }, ok[..5]);
        var w = new ArrayBufferWriter<byte>();
        Assert.Throws<MilterProtocolException>(() => MilterPacketWriter.WriteBody(w, new byte[65536]));
        Assert.Equal(0, w.WrittenCount);
    }

    [Fact]
    public void Header_over_limit_throws()
    {
        var w = new ArrayBufferWriter<byte>();
        var ex = Assert.Throws<MilterProtocolException>(() => MilterPacketWriter.WriteHeader(w, "X", new string('a', 65535)));
        Assert.Contains("SMFIC_HEADER", ex.Message);
    }

    [Fact]
    public void Constants_match_mfdef()
    {
        Assert.Equal(0x1FFu, (uint)MilterActions.All);
        Assert.Equal(0x0FF080u, (uint)MilterProtocolFlags.NoReplyMask);
        Assert.Equal(0x37Fu, (uint)MilterProtocolFlags.NoSendMask);
        Assert.Equal(0x100000u, (uint)MilterProtocolFlags.HeaderLeadingSpace);
        Assert.Equal(0x10000000u, (uint)MilterProtocolFlags.MaxDataSize256K);
        Assert.Equal(0x20000000u, (uint)MilterProtocolFlags.MaxDataSize1M);
        Assert.Equal(5u, (uint)MilterMacroStage.EndOfMessage);
        Assert.Equal(6u, (uint)MilterMacroStage.EndOfHeaders);
        Assert.Equal("SMFIR_INSHEADER", MilterReplyCode.Name((byte)'i'));
        Assert.Equal("SMFIC_BODYEOB", MilterCommand.Name((byte)'E'));
    }
}
