// Tests of SmtpReplyReader (RFC 5321 4.2 reply framing, RFC 2034 status codes), whole and one byte per read.
using System.Text;
using Mta.Smtp.Client;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Tests.Client;

public class SmtpReplyReaderTests
{
    /// <summary>Returns at most one byte per read, like a peer trickling its reply.</summary>
    private sealed class TrickleStream(byte[] data) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(1, buffer.Length)], cancellationToken);
    }

    private static async Task<List<SmtpReply>> ReadAll(string wire, bool trickle, int count)
    {
        var bytes = Encoding.UTF8.GetBytes(wire);
        var reader = new SmtpReplyReader(trickle ? new TrickleStream(bytes) : new MemoryStream(bytes));
        var list = new List<SmtpReply>();
        for (int i = 0; i < count; i++) list.Add(await reader.ReadReplyAsync(SmtpClientStage.Greeting, default));
        return list;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Parses_single_and_multi_line_replies(bool trickle)
    {
        var r = await ReadAll("220 mx.example ESMTP\r\n250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n250 2.1.0 Ok\r\n354\r\n", trickle, 4);
        Assert.Equal(new SmtpReply(220, null, "mx.example ESMTP"), r[0]);
        Assert.Equal(new SmtpReply(250, null, "mx.example", "PIPELINING", "SIZE 1000"), r[1]);
        Assert.Equal(new SmtpReply(250, "2.1.0", "Ok"), r[2]);
        Assert.Equal(354, r[3].Code);
        Assert.Equal("", r[3].Text);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Strips_enhanced_status_from_every_line(bool trickle)
    {
        var r = (await ReadAll("550-5.1.1 The account\n550-5.1.1 does not\r\n550 5.1.1 exist\r\n", trickle, 1))[0];
        Assert.Equal("5.1.1", r.EnhancedStatus);
        Assert.Equal(["The account", "does not", "exist"], r.Lines);
    }

    [Theory]
    [InlineData("550 2.1.0 class mismatch\r\n", null, "2.1.0 class mismatch")]
    [InlineData("451 4.3.0\r\n", "4.3.0", "")]
    [InlineData("250 1234.5 not a status\r\n", null, "1234.5 not a status")]
    [InlineData("250 2.0.00000 too long detail\r\n", null, "2.0.00000 too long detail")]
    [InlineData("452 4.5.3 Too many recipients\r\n", "4.5.3", "Too many recipients")]
    public async Task Recognises_status_only_when_well_formed(string wire, string? status, string text)
    {
        var r = (await ReadAll(wire, false, 1))[0];
        Assert.Equal(status, r.EnhancedStatus);
        Assert.Equal(text, r.Text);
    }

    [Theory]
    [InlineData("hello\r\n")]
    [InlineData("25\r\n")]
    [InlineData("250x\r\n")]
    [InlineData("199 too low\r\n")]
    [InlineData("250-first\r\n251 second\r\n")]
    public async Task Malformed_reply_is_a_protocol_exception(string wire)
    {
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() => ReadAll(wire, false, 1));
        Assert.Equal(SmtpProtocolError.Malformed, e.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("250 no line end")]
    [InlineData("250-first\r\n")]
    public async Task End_of_stream_is_connection_lost(string wire)
    {
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() => ReadAll(wire, true, 1));
        Assert.Equal(SmtpProtocolError.ConnectionLost, e.Error);
    }

    [Fact]
    public async Task Overlong_line_is_malformed()
    {
        var reader = new SmtpReplyReader(new MemoryStream(Encoding.ASCII.GetBytes("250 " + new string('x', 600) + "\r\n")), maxLineLength: 512);
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() => reader.ReadReplyAsync(SmtpClientStage.Hello, default).AsTask());
        Assert.Equal(SmtpProtocolError.Malformed, e.Error);
        Assert.Equal(SmtpClientStage.Hello, e.Stage);
    }

    [Fact]
    public async Task Announced_enhanced_status_codes_are_taken_from_later_lines()
    {
        var reader = new SmtpReplyReader(new MemoryStream("250-hello\r\n250 2.0.0 ok\r\n"u8.ToArray())) { EnhancedStatusCodes = true };
        var r = await reader.ReadReplyAsync(SmtpClientStage.Hello, default);
        Assert.Equal("2.0.0", r.EnhancedStatus);
        Assert.Equal(["hello", "ok"], r.Lines);
    }

    [Fact]
    public void Capabilities_parse_keywords_and_parameters()
    {
        var c = SmtpCapabilities.Parse(new SmtpReply(250, null, "mx.example greets you", "pipelining", "SIZE 10240000", "8BITMIME",
            "SMTPUTF8", "STARTTLS", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "XFORWARD NAME ADDR proto HELO", "AUTH=LOGIN", "AUTH PLAIN LOGIN"));
        Assert.Equal("mx.example", c.ServerName);
        Assert.True(c.Supports(SmtpExtensions.Pipelining | SmtpExtensions.Size | SmtpExtensions.EightBitMime | SmtpExtensions.SmtpUtf8
            | SmtpExtensions.StartTls | SmtpExtensions.Chunking | SmtpExtensions.Dsn | SmtpExtensions.EnhancedStatusCodes | SmtpExtensions.Xforward));
        Assert.Equal(10240000, c.SizeLimit);
        Assert.Equal(new[] { "ADDR", "HELO", "NAME", "PROTO" }, c.XforwardAttributes.Order());
        Assert.Contains("PLAIN", c.Keywords["AUTH"]);
        Assert.False(c.Supports(SmtpExtensions.BinaryMime));

        var bare = SmtpCapabilities.Parse(new SmtpReply(250, null, "x", "SIZE"));
        Assert.Equal(0, bare.SizeLimit);
        Assert.Same(SmtpCapabilities.None, SmtpCapabilities.Parse(new SmtpReply(502, null, "no")));
        Assert.Null(SmtpCapabilities.None.SizeLimit);
    }
}
