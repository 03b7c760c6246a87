// The SMTP client's BDAT path (RFC 3030 with RFC 2920 pipelining): a message up to smtp_chunking_size_limit
// goes as MAIL, RCPT..., "BDAT n LAST" and the content in one write, without dot-stuffing but with line
// ends repaired; larger messages, LMTP and a limit of 0 use DATA.
using System.Text;
using Mta.Smtp.Client;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Tests.Client;

public class SmtpClientChunkingTests
{
    private static readonly SmtpPath Sender = new("alice", "example.org");
    private static SmtpTransactionRecipient Rcpt(string local) => new(new SmtpPath(local, "example.com"));
    private static MemoryStream Content(string s) => new(Encoding.UTF8.GetBytes(s));
    private static SmtpClientOptions Opts(int chunkingLimit = 64 * 1024, SmtpClientProtocol protocol = SmtpClientProtocol.Smtp) => new()
    {
        Protocol = protocol, HeloName = "client.example", HeloTimeout = TimeSpan.FromSeconds(10), CommandTimeout = TimeSpan.FromSeconds(10),
        DataTransferTimeout = TimeSpan.FromSeconds(10), DataDoneTimeout = TimeSpan.FromSeconds(10), ChunkingSizeLimit = chunkingLimit,
    };

    private const string Ehlo = "250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n";
    private const string Message = ".leading dot\nbare LF line\r\n.\r\nno final crlf";
    private const string Repaired = ".leading dot\r\nbare LF line\r\n.\r\nno final crlf\r\n";

    private static async Task<SmtpClientSession> Open(FakeSmtpServer server, SmtpClientOptions o)
    {
        var s = new SmtpClientSession(await server.ConnectAsync(), o);
        Assert.Equal(220, (await s.ConnectAsync(default)).Code);
        Assert.True((await s.HelloAsync(default)).IsPositive);
        return s;
    }

    private static async Task Greet(FakePeer p, string ehlo = Ehlo)
    {
        await p.SendAsync("220 mx ESMTP\r\n");
        await p.ReadLineAsync();
        await p.SendAsync(ehlo);
    }

    [Fact]
    public async Task Small_message_goes_as_one_pipelined_bdat_last_without_dot_stuffing()
    {
        int n = Encoding.UTF8.GetByteCount(Repaired);
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            // Everything arrives before any reply: a client waiting for the MAIL reply would hang here.
            await p.ExpectAsync("MAIL FROM:<alice@example.org> BODY=8BITMIME");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.ExpectAsync("RCPT TO:<nobody@example.com>");
            await p.ExpectAsync($"BDAT {n} LAST");
            Assert.Equal(Repaired, Encoding.UTF8.GetString(await p.ReadBytesAsync(n)));
            await p.SendAsync("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 unknown\r\n250 2.0.0 Ok: queued as Q1\r\n");
            await p.ExpectAsync("QUIT");
            await p.SendAsync("221 Bye\r\n");
        });
        await using var s = await Open(server, Opts());
        var tx = new SmtpTransaction(Sender, new MailParameters { Body = BodyType.EightBitMime }, [Rcpt("bob"), Rcpt("nobody")], null);
        var result = await s.SendAsync(tx, Content(Message), default);
        Assert.Equal(new SmtpReply(250, "2.0.0", "Ok: queued as Q1"), result.Recipients[0].Reply);
        Assert.Equal(SmtpClientStage.EndOfData, result.Recipients[0].InReplyTo);
        Assert.Equal(550, result.Recipients[1].Reply.Code);
        Assert.Equal(SmtpClientStage.RcptTo, result.Recipients[1].InReplyTo);
        Assert.False(s.IsBroken);
        Assert.False(s.TransactionMayBeOpen);
        Assert.Equal(221, (await s.QuitAsync(default))!.Code);
        await server.Completion;
    }

    [Fact]
    public async Task Mail_refusal_decides_every_recipient_and_the_session_stays_usable()
    {
        int n = Encoding.UTF8.GetByteCount(Repaired);
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.ExpectAsync($"BDAT {n} LAST");
            await p.ReadBytesAsync(n);   // RFC 3030: the chunk is read even when it is refused
            await p.SendAsync("553 5.1.8 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n");
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.ExpectAsync($"BDAT {n} LAST");
            await p.ReadBytesAsync(n);
            await p.SendAsync("250 Ok\r\n250 Ok\r\n250 2.0.0 Ok: queued\r\n");
        });
        await using var s = await Open(server, Opts());
        var tx = new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("bob")], null);
        var first = await s.SendAsync(tx, Content(Message), default);
        Assert.Equal(553, first.Recipients[0].Reply.Code);
        Assert.Equal(SmtpClientStage.MailFrom, first.Recipients[0].InReplyTo);
        var second = await s.SendAsync(tx, Content(Message), default);
        Assert.Equal(250, second.Recipients[0].Reply.Code);
        Assert.Equal(SmtpClientStage.EndOfData, second.Recipients[0].InReplyTo);
        await server.Completion;
    }

    [Fact]
    public async Task Every_recipient_refused_keeps_the_rcpt_replies_not_the_bdat_refusal()
    {
        int n = Encoding.UTF8.GetByteCount(Repaired);
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ExpectAsync("RCPT TO:<a@example.com>");
            await p.ExpectAsync("RCPT TO:<b@example.com>");
            await p.ExpectAsync($"BDAT {n} LAST");
            await p.ReadBytesAsync(n);
            await p.SendAsync("250 Ok\r\n450 4.2.0 greylisted\r\n550 5.1.1 unknown\r\n554 5.5.1 Error: no valid recipients\r\n");
        });
        await using var s = await Open(server, Opts());
        var result = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content(Message), default);
        Assert.Equal(450, result.Recipients[0].Reply.Code);
        Assert.Equal(550, result.Recipients[1].Reply.Code);
        Assert.All(result.Recipients, r => Assert.Equal(SmtpClientStage.RcptTo, r.InReplyTo));
        await server.Completion;
    }

    [Fact]
    public async Task Bdat_refusal_applies_to_the_accepted_recipients()
    {
        int n = Encoding.UTF8.GetByteCount(Repaired);
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            for (int i = 0; i < 3; i++) await p.ReadLineAsync();
            await p.ReadBytesAsync(n);
            await p.SendAsync("250 Ok\r\n250 Ok\r\n554 5.7.1 spam\r\n");
        });
        await using var s = await Open(server, Opts());
        var result = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], null), Content(Message), default);
        Assert.Equal(new SmtpReply(554, "5.7.1", "spam"), result.Recipients[0].Reply);
        Assert.Equal(SmtpClientStage.EndOfData, result.Recipients[0].InReplyTo);
        Assert.True(s.TransactionMayBeOpen);   // the caller sends RSET before reusing the session
        await server.Completion;
    }

    [Theory]
    [InlineData(16, SmtpClientProtocol.Smtp)]   // larger than the limit: what was read ahead is sent first, then the rest
    [InlineData(0, SmtpClientProtocol.Smtp)]    // disabled
    [InlineData(65536, SmtpClientProtocol.Lmtp)]
    public async Task Larger_messages_lmtp_and_a_zero_limit_use_data(int limit, SmtpClientProtocol protocol)
    {
        var body = string.Concat(Enumerable.Range(0, 40).Select(i => $".line {i}\r\n"));
        var stuffed = string.Concat(Enumerable.Range(0, 40).Select(i => $"..line {i}\r\n")) + ".\r\n";
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.ExpectAsync("DATA");
            await p.SendAsync("250 Ok\r\n250 Ok\r\n354 go\r\n");
            Assert.Equal(stuffed, await p.ReadDataAsync());
            await p.SendAsync("250 2.0.0 Ok\r\n");
        });
        await using var s = await Open(server, Opts(limit, protocol));
        var result = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("bob")], null), Content(body), default);
        Assert.Equal(250, result.Recipients[0].Reply.Code);
        await server.Completion;
    }

    [Fact]
    public async Task A_size_hint_above_the_limit_uses_data_without_reading_ahead()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p);
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.ExpectAsync("DATA");
            await p.SendAsync("250 Ok\r\n250 Ok\r\n354 go\r\n");
            Assert.Equal("..leading dot\r\nbare LF line\r\n..\r\nno final crlf\r\n.\r\n", await p.ReadDataAsync());
            await p.SendAsync("250 Ok\r\n");
        });
        await using var s = await Open(server, Opts(chunkingLimit: 16));
        var result = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("bob")], 1000), Content(Message), default);
        Assert.Equal(250, result.Recipients[0].Reply.Code);
        await server.Completion;
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(SmtpClientOptions.MaxChunkingSizeLimit + 1)]
    public void Limit_out_of_range_is_refused(int limit) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Opts(limit));

    [Fact]
    public async Task Without_pipelining_chunking_alone_is_not_used()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await Greet(p, "250-mx\r\n250 CHUNKING\r\n");
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.SendAsync("250 Ok\r\n");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.SendAsync("250 Ok\r\n");
            await p.ExpectAsync("DATA");
            await p.SendAsync("354 go\r\n");
            Assert.Equal("..leading dot\r\nbare LF line\r\n..\r\nno final crlf\r\n.\r\n", await p.ReadDataAsync());
            await p.SendAsync("250 Ok\r\n");
        });
        await using var s = await Open(server, Opts());
        var result = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("bob")], null), Content(Message), default);
        Assert.Equal(250, result.Recipients[0].Reply.Code);
        await server.Completion;
    }
}
