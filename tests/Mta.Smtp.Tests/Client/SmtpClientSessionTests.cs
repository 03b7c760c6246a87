// Tests of SmtpClientSession against scripted in-process peers: plain and pipelined SMTP, DSN and
// size parameters, HELO fallback, STARTTLS via callback, LMTP per-recipient replies, dot-stuffing,
// timeouts, and a peer closing mid-transaction. RFC 5321, RFC 2920, RFC 2033, RFC 3207, RFC 3461.
using System.Text;
using Mta.Smtp.Client;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Tests.Client;

public class SmtpClientSessionTests
{
    private static readonly SmtpPath Sender = new("alice", "example.org");
    private static SmtpTransactionRecipient Rcpt(string local, string domain = "example.com") => new(new SmtpPath(local, domain));
    private static MemoryStream Content(string s) => new(Encoding.UTF8.GetBytes(s));
    private static SmtpClientOptions Opts(SmtpClientProtocol p = SmtpClientProtocol.Smtp) => new()
    {
        Protocol = p, HeloName = "client.example", HeloTimeout = TimeSpan.FromSeconds(10), CommandTimeout = TimeSpan.FromSeconds(10),
        DataTransferTimeout = TimeSpan.FromSeconds(10), DataDoneTimeout = TimeSpan.FromSeconds(10),
    };

    private static async Task<SmtpClientSession> Open(FakeSmtpServer server, SmtpClientOptions? o = null)
    {
        var s = new SmtpClientSession(await server.ConnectAsync(), o ?? Opts());
        Assert.Equal(220, (await s.ConnectAsync(default)).Code);
        Assert.True((await s.HelloAsync(default)).IsPositive);
        return s;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Plain_transaction_with_one_refused_recipient(bool byteByByte)
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            p.ByteByByte = byteByByte;
            await p.SendAsync("220 mx.example ESMTP\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx.example\r\n250-SIZE 100000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
            await p.ExpectAsync("MAIL FROM:<alice@example.org> SIZE=11 BODY=8BITMIME");
            await p.SendAsync("250 2.1.0 Ok\r\n");
            await p.ExpectAsync("RCPT TO:<bob@example.com>");
            await p.SendAsync("250 2.1.5 Ok\r\n");
            await p.ExpectAsync("RCPT TO:<nobody@example.com>");
            await p.SendAsync("550-5.1.1 <nobody@example.com>:\r\n550 5.1.1 Recipient address rejected: User unknown\r\n");
            await p.ExpectAsync("DATA");
            await p.SendAsync("354 End data with <CR><LF>.<CR><LF>\r\n");
            Assert.Equal("Subject: x\r\n\r\nhi\r\n.\r\n", await p.ReadDataAsync());
            await p.SendAsync("250 2.0.0 Ok: queued as ABC123\r\n");
            await p.ExpectAsync("QUIT");
            await p.SendAsync("221 2.0.0 Bye\r\n");
        });
        await using var s = await Open(server);
        var tx = new SmtpTransaction(Sender, new MailParameters { Body = BodyType.EightBitMime }, [Rcpt("bob"), Rcpt("nobody")], 11);
        var result = await s.SendAsync(tx, Content("Subject: x\r\n\r\nhi"), default);
        Assert.Equal(new SmtpReply(250, "2.0.0", "Ok: queued as ABC123"), result.Recipients[0].Reply);
        Assert.Equal(SmtpClientStage.EndOfData, result.Recipients[0].InReplyTo);
        Assert.Equal(550, result.Recipients[1].Reply.Code);
        Assert.Equal("5.1.1", result.Recipients[1].Reply.EnhancedStatus);
        Assert.Equal("RCPT TO", result.Recipients[1].CommandText);
        Assert.Equal(221, (await s.QuitAsync(default))!.Code);
        await server.Completion;
    }

    [Fact]
    public async Task Pipelining_sends_mail_rcpts_and_data_in_one_write()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx ESMTP\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250-PIPELINING\r\n250-DSN\r\n250 SMTPUTF8\r\n");
            // All four lines must arrive before any reply is sent; a non-pipelining client would hang here.
            await p.ExpectAsync("MAIL FROM:<alice@example.org> SMTPUTF8 RET=HDRS ENVID=id+2B1");
            await p.ExpectAsync("RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bx@example.com");
            await p.ExpectAsync("RCPT TO:<b@example.com> NOTIFY=NEVER");
            await p.ExpectAsync("DATA");
            await p.SendAsync("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n450 4.2.0 greylisted\r\n354 go\r\n");
            Assert.Equal("..leading dot\r\nmid . dot\r\n...\r\nno final crlf\r\n.\r\n", await p.ReadDataAsync());
            await p.SendAsync("250 2.0.0 queued\r\n");
        });
        await using var s = await Open(server);
        var tx = new SmtpTransaction(Sender, new MailParameters { SmtpUtf8 = true, Ret = DsnRet.Headers, EnvId = "id+1" },
        [
            new(new SmtpPath("a", "example.com"), new RecipientParameters { Notify = DsnNotify.Success | DsnNotify.Failure, OriginalRecipient = "rfc822;a+x@example.com" }),
            new(new SmtpPath("b", "example.com"), new RecipientParameters { Notify = DsnNotify.Never }),
        ], null);
        var r = await s.SendAsync(tx, Content(".leading dot\r\nmid . dot\r\n..\r\nno final crlf"), default);
        Assert.Equal(250, r.Recipients[0].Reply.Code);
        Assert.Equal(450, r.Recipients[1].Reply.Code);
        Assert.Equal(SmtpClientStage.RcptTo, r.Recipients[1].InReplyTo);
        await server.Completion;
    }

    [Fact]
    public async Task No_dsn_size_or_body_parameters_when_not_announced()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250 mx\r\n");
            await p.ExpectAsync("MAIL FROM:<>");
            await p.SendAsync("250 ok\r\n");
            await p.ExpectAsync("RCPT TO:<a@example.com>");
            await p.SendAsync("250 ok\r\n");
            await p.ExpectAsync("DATA");
            await p.SendAsync("354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("250 ok\r\n");
        });
        await using var s = await Open(server);
        var tx = new SmtpTransaction(SmtpPath.Null, new MailParameters { Body = BodyType.EightBitMime, Ret = DsnRet.Full, EnvId = "x" },
            [new(new SmtpPath("a", "example.com"), new RecipientParameters { Notify = DsnNotify.Failure })], 5);
        var r = await s.SendAsync(tx, Content("x\r\n"), default);
        Assert.True(r.Recipients[0].Reply.IsPositive);
        await server.Completion;
    }

    [Fact]
    public async Task Mail_refusal_applies_to_every_recipient_and_data_is_not_sent()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250 mx\r\n");
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.SendAsync("553 5.7.1 sender rejected\r\n");
            await p.ExpectAsync("QUIT");
            await p.SendAsync("221 bye\r\n");
        });
        await using var s = await Open(server);
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content("x"), default);
        Assert.All(r.Recipients, x => { Assert.Equal(553, x.Reply.Code); Assert.Equal(SmtpClientStage.MailFrom, x.InReplyTo); });
        await s.QuitAsync(default);
        await server.Completion;
    }

    [Fact]
    public async Task Second_transaction_on_the_same_session_for_connection_reuse()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250 PIPELINING\r\n");
            for (int i = 0; i < 3; i++) await p.ReadLineAsync();
            await p.SendAsync("250 ok\r\n250 ok\r\n354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("250 queued 1\r\n");
            // Reused after a completed transaction: MAIL directly, no RSET. This one refuses the sender.
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            await p.ReadLineAsync(); await p.ReadLineAsync();
            await p.SendAsync("452 4.3.1 try later\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
            await p.ExpectAsync("RSET");
            await p.SendAsync("250 reset\r\n");
            await p.ExpectAsync("QUIT");
            await p.SendAsync("221 bye\r\n");
        });
        await using var s = await Open(server);
        var tx = new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], null);
        var r1 = await s.SendAsync(tx, Content("one\r\n"), default);
        Assert.Equal("queued 1", r1.Recipients[0].Reply.Text);
        Assert.Equal(250, s.LastMailReply!.Code);
        Assert.False(s.IsBroken);
        Assert.False(s.HasUnreadInput);
        var r2 = await s.SendAsync(tx, Content("two\r\n"), default);
        Assert.Equal((452, SmtpClientStage.MailFrom), (r2.Recipients[0].Reply.Code, r2.Recipients[0].InReplyTo));
        Assert.Equal(452, s.LastMailReply!.Code);
        Assert.Equal(250, (await s.ResetAsync(default)).Code);
        await s.QuitAsync(default);
        Assert.True(s.IsBroken);
        await server.Completion;
    }

    [Fact]
    public async Task Pipelined_all_recipients_refused_but_354_sends_empty_end()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250 PIPELINING\r\n");
            for (int i = 0; i < 3; i++) await p.ReadLineAsync();
            await p.SendAsync("250 ok\r\n550 no\r\n354 go anyway\r\n");
            Assert.Equal(".\r\n", await p.ReadDataAsync());
            await p.SendAsync("554 no valid recipients\r\n");
        });
        await using var s = await Open(server);
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], null), Content("x"), default);
        Assert.Equal(550, r.Recipients[0].Reply.Code);
        await server.Completion;
    }

    [Fact]
    public async Task Data_refusal_applies_to_accepted_recipients()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250 mx\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("550 5.1.1 no\r\n");
            await p.ExpectAsync("DATA");
            await p.SendAsync("451 4.3.0 try later\r\n");
        });
        await using var s = await Open(server);
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content("x"), default);
        Assert.Equal((451, SmtpClientStage.Data), (r.Recipients[0].Reply.Code, r.Recipients[0].InReplyTo));
        Assert.Equal((550, SmtpClientStage.RcptTo), (r.Recipients[1].Reply.Code, r.Recipients[1].InReplyTo));
        await server.Completion;
    }

    [Fact]
    public async Task Ehlo_5xx_falls_back_to_helo()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 old\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("502 5.5.2 what\r\n");
            await p.ExpectAsync("HELO client.example");
            await p.SendAsync("250 old\r\n");
        });
        await using var s = await Open(server);
        Assert.True(s.UsedHelo);
        Assert.Equal(SmtpExtensions.None, s.Capabilities.Extensions);
        await server.Completion;
    }

    [Fact]
    public async Task Starttls_calls_the_callback_and_repeats_ehlo()
    {
        Stream? handed = null;
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
            await p.ExpectAsync("STARTTLS");
            await p.SendAsync("220 2.0.0 Ready to start TLS\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250 SIZE 10\r\n");
        });
        await using var s = await Open(server);
        Assert.True(s.Capabilities.Supports(SmtpExtensions.StartTls));
        var r = await s.StartTlsAsync((st, ct) => { handed = st; return Task.FromResult(st); }, default);
        Assert.True(r.IsPositive);
        Assert.NotNull(handed);
        Assert.True(s.IsTls);
        Assert.False(s.Capabilities.Supports(SmtpExtensions.Pipelining));
        Assert.Equal(10, s.Capabilities.SizeLimit);
        await server.Completion;
    }

    [Fact]
    public async Task Starttls_refusal_is_a_value_and_handshake_failure_an_exception()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250 STARTTLS\r\n");
            await p.ExpectAsync("STARTTLS");
            await p.SendAsync("454 4.7.0 TLS not available\r\n");
            await p.ExpectAsync("STARTTLS");
            await p.SendAsync("220 go\r\n");
        });
        await using var s = await Open(server);
        Assert.Equal(454, (await s.StartTlsAsync((st, ct) => Task.FromResult(st), default)).Code);
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() =>
            s.StartTlsAsync((st, ct) => Task.FromException<Stream>(new System.Security.Authentication.AuthenticationException("bad")), default));
        Assert.Equal(SmtpProtocolError.TlsHandshakeFailed, e.Error);
        await server.Completion;
    }

    [Fact]
    public async Task Starttls_reply_followed_by_injected_data_is_rejected()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ExpectAsync("EHLO client.example");
            await p.SendAsync("250-mx\r\n250 STARTTLS\r\n");
            await p.ExpectAsync("STARTTLS");
            await p.SendAsync("220 go\r\n250 injected\r\n");
            await Task.Delay(500);
        });
        await using var s = await Open(server);
        await Task.Delay(100);
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() => s.StartTlsAsync((st, ct) => Task.FromResult(st), default));
        Assert.Equal(SmtpProtocolError.Malformed, e.Error);
    }

    [Fact]
    public async Task Lmtp_reads_one_reply_per_accepted_recipient()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            p.ByteByByte = true;
            await p.SendAsync("220 lmtp ready\r\n");
            await p.ExpectAsync("LHLO client.example");
            await p.SendAsync("250-lmtp\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n");
            await p.ExpectAsync("MAIL FROM:<alice@example.org>");
            for (int i = 0; i < 4; i++) await p.ReadLineAsync();
            await p.ExpectAsync("DATA");
            await p.SendAsync("250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 unknown\r\n250 2.1.5 ok\r\n250 2.1.5 ok\r\n354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("250 2.0.0 <a> saved\r\n552 5.2.2 <c> mailbox full\r\n451 4.3.0 <d> temporary failure\r\n");
        });
        await using var s = await Open(server, Opts(SmtpClientProtocol.Lmtp));
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b"), Rcpt("c"), Rcpt("d")], null), Content("x\r\n"), default);
        Assert.Equal([250, 550, 552, 451], r.Recipients.Select(x => x.Reply.Code));
        Assert.Equal([SmtpClientStage.EndOfData, SmtpClientStage.RcptTo, SmtpClientStage.EndOfData, SmtpClientStage.EndOfData], r.Recipients.Select(x => x.InReplyTo));
        await server.Completion;
    }

    [Fact]
    public async Task Lmtp_connection_lost_after_first_reply_keeps_the_delivered_recipient()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 lmtp\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("250 lmtp\r\n");
            for (int i = 0; i < 3; i++) { await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n"); }
            await p.ExpectAsync("DATA");
            await p.SendAsync("354 go\r\n");
            await p.ReadDataAsync();
            await p.SendAsync("250 2.0.0 saved\r\n");
        });
        await using var s = await Open(server, Opts(SmtpClientProtocol.Lmtp));
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() =>
            s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content("x\r\n"), default));
        Assert.Equal(SmtpProtocolError.ConnectionLost, e.Error);
        Assert.Equal(SmtpClientStage.EndOfData, e.Stage);
        Assert.Equal(250, e.RecipientReplies![0]!.Code);
        Assert.Null(e.RecipientReplies[1]);
    }

    [Fact]
    public async Task Server_closing_mid_transaction_is_connection_lost_with_decided_replies()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n");
            await p.ReadLineAsync();
            await p.SendAsync("250 mx\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("550 no\r\n");
            await p.ReadLineAsync(); // second RCPT, then hang up
        });
        await using var s = await Open(server);
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() =>
            s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content("x"), default));
        Assert.Equal(SmtpProtocolError.ConnectionLost, e.Error);
        Assert.Equal(SmtpClientStage.RcptTo, e.Stage);
        Assert.Equal("while sending RCPT TO", e.StageText);
        Assert.Equal(550, e.RecipientReplies![0]!.Code);
        Assert.Null(e.RecipientReplies[1]);
        await Assert.ThrowsAsync<InvalidOperationException>(() => s.ResetAsync(default));
    }

    [Fact]
    public async Task Greeting_timeout_is_a_timeout_exception()
    {
        var release = new TaskCompletionSource();
        await using var server = new FakeSmtpServer(async p => await release.Task);
        await using var s = new SmtpClientSession(await server.ConnectAsync(), Opts() with { HeloTimeout = TimeSpan.FromMilliseconds(200) });
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() => s.ConnectAsync(default));
        Assert.Equal(SmtpProtocolError.Timeout, e.Error);
        Assert.Equal(SmtpClientStage.Greeting, e.Stage);
        release.SetResult();
    }

    [Fact]
    public async Task Data_done_timeout_applies_to_the_final_reply()
    {
        var release = new TaskCompletionSource();
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n"); await p.ReadLineAsync(); await p.SendAsync("250 mx\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("354 go\r\n");
            await p.ReadDataAsync();
            await release.Task;
        });
        await using var s = await Open(server, Opts() with { DataDoneTimeout = TimeSpan.FromMilliseconds(200) });
        var e = await Assert.ThrowsAsync<SmtpProtocolException>(() =>
            s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], null), Content("x"), default));
        Assert.Equal((SmtpProtocolError.Timeout, SmtpClientStage.EndOfData), (e.Error, e.Stage));
        release.SetResult();
    }

    [Fact]
    public async Task Caller_cancellation_carries_decided_replies()
    {
        var release = new TaskCompletionSource();
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n"); await p.ReadLineAsync(); await p.SendAsync("250 mx\r\n");
            await p.ReadLineAsync(); await p.SendAsync("250 ok\r\n");
            await p.ReadLineAsync(); await p.SendAsync("550 no\r\n");
            await p.ReadLineAsync();
            await release.Task;
        });
        await using var s = await Open(server);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var e = await Assert.ThrowsAsync<SmtpTransactionCanceledException>(() =>
            s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a"), Rcpt("b")], null), Content("x"), cts.Token));
        Assert.Equal(550, e.RecipientReplies[0]!.Code);
        Assert.Null(e.RecipientReplies[1]);
        release.SetResult();
    }

    [Fact]
    public async Task Non_ascii_address_without_smtputf8_is_refused_without_sending()
    {
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n"); await p.ReadLineAsync(); await p.SendAsync("250-mx\r\n250 SIZE 3\r\n");
            await p.ExpectAsync("QUIT"); await p.SendAsync("221 bye\r\n");
        });
        await using var s = await Open(server);
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("jürgen")], null), Content("x"), default);
        Assert.Equal(new SmtpReply(553, "5.6.7", "SMTPUTF8 is required, but was not offered by the server"), r.Recipients[0].Reply);
        Assert.Null(r.MailReply);
        var big = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], 4), Content("abcd"), default);
        Assert.Equal((552, "5.3.4"), (big.Recipients[0].Reply.Code, big.Recipients[0].Reply.EnhancedStatus));
        await s.QuitAsync(default);
        await server.Completion;
    }

    [Fact]
    public async Task Large_content_is_streamed_and_stuffed()
    {
        var body = new StringBuilder();
        for (int i = 0; i < 20000; i++) body.Append(i % 7 == 0 ? ".dot line " : "line ").Append(i).Append("\r\n");
        string expected = body.ToString().Replace("\r\n.", "\r\n..") + ".\r\n";
        await using var server = new FakeSmtpServer(async p =>
        {
            await p.SendAsync("220 mx\r\n"); await p.ReadLineAsync(); await p.SendAsync("250-mx\r\n250 PIPELINING\r\n");
            for (int i = 0; i < 3; i++) await p.ReadLineAsync();
            await p.SendAsync("250 ok\r\n250 ok\r\n354 go\r\n");
            Assert.Equal("..dot line 0\r\n" + expected[expected.IndexOf('\n')..][1..], await p.ReadDataAsync());
            await p.SendAsync("250 ok\r\n");
        });
        await using var s = await Open(server, Opts() with { ContentBufferSize = 1000 });
        var r = await s.SendAsync(new SmtpTransaction(Sender, MailParameters.Empty, [Rcpt("a")], null), Content(body.ToString()), default);
        Assert.True(r.Recipients[0].Reply.IsPositive);
        await server.Completion;
    }
}
