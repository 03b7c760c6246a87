// In-memory functional tests of a whole server session: dialog, pipelining, DATA/BDAT, limits,
// timeouts (fake clock), STARTTLS injection, smuggling, error limits, shutdown.
using System.Text;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Smtp.Tests.Server;

public class SmtpServerSessionTests
{
    private static async Task<SessionHarness> Greeted(SmtpServerOptions? o = null, RecordingHandler? h = null)
    {
        var s = new SessionHarness(o, h);
        Assert.Equal("220 mx.test ESMTP\r\n", await s.ReplyAsync());
        return s;
    }

    [Fact]
    public async Task Full_dialog_delivers_content_unstuffed_and_quits()
    {
        await using var s = await Greeted();
        var ehlo = await s.CommandAsync("EHLO client.test");
        Assert.StartsWith("250-mx.test\r\n", ehlo);
        foreach (var kw in new[] { "PIPELINING", "SIZE 10240000", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8" })
            Assert.Contains("250-" + kw + "\r\n", ehlo);
        Assert.EndsWith("250 CHUNKING\r\n", ehlo);
        Assert.Equal("250 2.1.0 Ok\r\n", await s.CommandAsync("MAIL FROM:<a@b.test>"));
        Assert.Equal("250 2.1.5 Ok\r\n", await s.CommandAsync("RCPT TO:<c@d.test>"));
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", await s.CommandAsync("DATA"));
        await s.SendAsync("Subject: t\r\n\r\n..dot\r\nbody\r\n.\r\n");
        Assert.Equal("250 2.0.0 Ok: delivered\r\n", await s.ReplyAsync());
        Assert.Equal("221 2.0.0 Bye\r\n", await s.CommandAsync("QUIT"));
        await s.ServerClosedAsync();
        Assert.Equal("Subject: t\r\n\r\n.dot\r\nbody\r\n", Encoding.ASCII.GetString(s.Handler.Messages.Single().Content));
        Assert.Equal(SessionEndReason.Quit, s.Context.EndReason);
        Assert.Equal("data=1 ehlo=1 mail=1 quit=1 rcpt=1 commands=5", s.Context.FormatCommandCounts());
    }

    [Fact]
    public async Task Pipelined_commands_get_replies_in_order_in_one_batch()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.SendAsync("MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<bad@>\r\nRCPT TO:<z@y>\r\nDATA\r\n");
        Assert.Equal("250 2.1.0 Ok\r\n", await s.ReplyAsync());
        Assert.Equal("250 2.1.5 Ok\r\n", await s.ReplyAsync());
        Assert.StartsWith("501 5.1.3", await s.ReplyAsync());
        Assert.Equal("250 2.1.5 Ok\r\n", await s.ReplyAsync());
        Assert.StartsWith("354", await s.ReplyAsync());
        await s.SendAsync("x\r\n.\r\n");
        Assert.StartsWith("250", await s.ReplyAsync());
        Assert.Equal(2, s.Handler.Messages.Single().Tx.Recipients.Count);
    }

    [Fact]
    public async Task Whole_dialog_fed_one_byte_at_a_time()
    {
        await using var s = await Greeted();
        await s.SendByteByByteAsync("HELO c\r\nMAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nDATA\r\n");
        Assert.Equal("250 mx.test\r\n", await s.ReplyAsync());
        Assert.StartsWith("250 2.1.0", await s.ReplyAsync());
        Assert.StartsWith("250 2.1.5", await s.ReplyAsync());
        Assert.StartsWith("354", await s.ReplyAsync());
        await s.SendByteByByteAsync("line1\r\n..\r\n.\r\n");
        Assert.StartsWith("250", await s.ReplyAsync());
        Assert.Equal("line1\r\n.\r\n", Encoding.ASCII.GetString(s.Handler.Messages.Single().Content));
    }

    [Theory]
    [InlineData("a\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n", "554 5.5.2 Error: bare <LF> received")]
    [InlineData("a\r\n.\nRCPT TO:<evil@x>\r\n.\r\n", "554 5.5.2 Error: bare <LF> received")]
    [InlineData("a\r.\r\nx\r\n.\r\n", "554 5.5.2 Error: bare <CR> received")]
    public async Task Smuggling_attempts_are_refused_and_never_executed(string body, string expected)
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.CommandAsync("DATA");
        await s.SendAsync(body);
        Assert.StartsWith(expected, await s.ReplyAsync());
        Assert.Empty(s.Handler.Messages);
        Assert.DoesNotContain(s.Handler.Calls, c => c.Contains("evil"));
        // The session is in sync and goes on.
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP"));
        Assert.StartsWith("250 2.1.0", await s.CommandAsync("MAIL FROM:<a@b>"));
    }

    [Fact]
    public async Task Message_size_limit_is_enforced_while_reading_data()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", MessageSizeLimit = 100 });
        await s.CommandAsync("EHLO c");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await s.CommandAsync("MAIL FROM:<a@b> SIZE=101"));
        await s.CommandAsync("MAIL FROM:<a@b> SIZE=100");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.CommandAsync("DATA");
        await s.SendAsync(new string('x', 200) + "\r\n.\r\n");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await s.ReplyAsync());
        Assert.Empty(s.Handler.Messages);
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Bdat_chunks_assemble_a_message_and_each_chunk_is_answered()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.SendAsync("BDAT 10\r\nSubject: x");
        Assert.Equal("250 2.0.0 Ok: 10 bytes\r\n", await s.ReplyAsync());
        await s.SendAsync("BDAT 8 LAST\r\n\r\n\r\nbody");
        Assert.Equal("250 2.0.0 Ok: delivered\r\n", await s.ReplyAsync());
        Assert.Equal("Subject: x\r\n\r\nbody", Encoding.ASCII.GetString(s.Handler.Messages.Single().Content));
    }

    [Fact]
    public async Task Bdat_over_the_size_limit_fails_the_transaction_and_consumes_the_chunk()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", MessageSizeLimit = 10 });
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.SendAsync("BDAT 20\r\n01234567890123456789");
        Assert.Equal("552 5.3.4 Message size exceeds fixed limit\r\n", await s.ReplyAsync());
        await s.SendAsync("BDAT 3 LAST\r\nabc");
        Assert.StartsWith("503 5.5.1", await s.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP"));
        Assert.Empty(s.Handler.Messages);
    }

    [Fact]
    public async Task Bdat_without_transaction_is_refused_after_its_chunk_is_read()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.SendAsync("BDAT 6 LAST\r\nNOOP\r\n");
        Assert.StartsWith("503 5.5.1 Error: need MAIL command", await s.ReplyAsync());
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP"));
    }

    [Fact]
    public async Task Bare_lf_in_bdat_content_is_refused()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.SendAsync("BDAT 5 LAST\r\na\nb\r\n");
        Assert.StartsWith("554 5.5.2 Error: bare <LF>", await s.ReplyAsync());
        Assert.Empty(s.Handler.Messages);
    }

    [Fact]
    public async Task Starttls_discards_pipelined_plaintext_and_resets_the_session()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        Assert.StartsWith("503 5.5.1 Error: MAIL transaction in progress", await s.CommandAsync("STARTTLS"));
        await s.CommandAsync("RSET");
        await s.SendAsync("STARTTLS\r\nMAIL FROM:<injected@evil>\r\n");
        Assert.Equal("220 2.0.0 Ready to start TLS\r\n", await s.ReplyAsync());
        // Now "encrypted": the injected MAIL was dropped, and the state is back to before EHLO.
        Assert.StartsWith("503 5.5.1 Error: send HELO/EHLO first", await s.CommandAsync("MAIL FROM:<a@b>"));
        var ehlo = await s.CommandAsync("EHLO c");
        Assert.DoesNotContain("STARTTLS", ehlo);
        Assert.DoesNotContain(s.Handler.Calls, c => c.Contains("injected"));
        Assert.True(s.Context.IsSecure);
        Assert.StartsWith("554 5.5.1 Error: TLS already active", await s.CommandAsync("STARTTLS"));
    }

    [Fact]
    public async Task Command_line_length_limit()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", LineLengthLimit = 64 });
        Assert.Equal("500 5.5.2 Error: command line too long\r\n", await s.CommandAsync("NOOP " + new string('x', 100)));
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP " + new string('x', 50)));
        // A line with no end at all is refused once the limit is passed and skipped to its end.
        await s.SendAsync("NOOP " + new string('y', 200));
        Assert.Equal("500 5.5.2 Error: command line too long\r\n", await s.ReplyAsync());
        await s.SendAsync("yyy\r\nNOOP\r\n");
        Assert.Equal("250 2.0.0 Ok\r\n", await s.ReplyAsync());
    }

    [Fact]
    public async Task Recipient_limit()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", RecipientLimit = 2 });
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        Assert.StartsWith("250", await s.CommandAsync("RCPT TO:<1@y>"));
        Assert.StartsWith("250", await s.CommandAsync("RCPT TO:<2@y>"));
        Assert.Equal("452 4.5.3 Error: too many recipients\r\n", await s.CommandAsync("RCPT TO:<3@y>"));
    }

    [Fact]
    public async Task Hard_error_limit_closes_with_421()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", HardErrorLimit = 3, ErrorSleepTime = TimeSpan.Zero });
        Assert.StartsWith("500", await s.CommandAsync("FOO"));
        Assert.StartsWith("500", await s.CommandAsync("BAR"));
        await s.SendAsync("BAZ\r\n");
        Assert.StartsWith("500", await s.ReplyAsync());
        Assert.Equal("421 4.7.0 mx.test Error: too many errors\r\n", await s.ReplyAsync());
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.TooManyErrors, s.Context.EndReason);
    }

    [Fact]
    public async Task Command_timeout_gives_421_and_closes()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        s.Time.Advance(TimeSpan.FromSeconds(299));
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("NOOP"));
        await Task.Delay(50);
        s.Time.Advance(TimeSpan.FromSeconds(301));
        Assert.Equal("421 4.4.2 mx.test Error: timeout exceeded\r\n", await s.ReplyAsync());
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.CommandTimeout, s.Context.EndReason);
    }

    [Fact]
    public async Task Session_timeout_gives_421_even_to_a_busy_client()
    {
        await using var s = await Greeted(new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", SessionTimeout = TimeSpan.FromSeconds(600) });
        for (int i = 0; i < 3; i++)
        {
            Assert.StartsWith("250", await s.CommandAsync("NOOP"));
            s.Time.Advance(TimeSpan.FromSeconds(250));
        }
        Assert.Equal("421 4.4.2 mx.test Error: session time limit exceeded\r\n", await s.ReplyAsync());
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.SessionTimeout, s.Context.EndReason);
    }

    [Fact]
    public async Task Http_request_is_answered_and_closed()
    {
        await using var s = await Greeted();
        Assert.Equal("221 2.7.0 Error: I can break rules, too. Goodbye.\r\n", await s.CommandAsync("GET / HTTP/1.1"));
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.ProtocolViolation, s.Context.EndReason);
    }

    [Fact]
    public async Task Handler_refusal_at_connect_is_sent_instead_of_the_banner()
    {
        var h = new RecordingHandler { Connect = new SmtpReply(421, "4.7.0", "go away") };
        await using var s = new SessionHarness(handler: h);
        Assert.Equal("421 4.7.0 go away\r\n", await s.ReplyAsync());
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.Refused, s.Context.EndReason);
    }

    [Fact]
    public async Task A_554_greeting_keeps_the_connection_and_answers_503_until_quit()
    {
        var h = new RecordingHandler { Connect = new SmtpReply(554, null, "mx.test ESMTP not accepting connections") };
        await using var s = new SessionHarness(handler: h);
        Assert.Equal("554 mx.test ESMTP not accepting connections\r\n", await s.ReplyAsync());
        Assert.StartsWith("503 5.5.1", await s.CommandAsync("EHLO c"));
        Assert.StartsWith("503 5.5.1", await s.CommandAsync("MAIL FROM:<a@b>"));
        Assert.Equal("221 2.0.0 Bye\r\n", await s.CommandAsync("QUIT"));
        await s.ServerClosedAsync();
        Assert.DoesNotContain(h.Calls, c => c.StartsWith("helo") || c.StartsWith("mail"));
    }

    [Fact]
    public async Task Unknown_command_goes_to_the_handler_and_only_its_4xx_replaces_500()
    {
        var h = new RecordingHandler { Unknown = l => l.StartsWith("TEMP") ? new SmtpReply(451, "4.7.1", "try later") : new SmtpReply(550, "5.7.1", "no") };
        await using var s = await Greeted(h: h);
        Assert.Equal("451 4.7.1 try later\r\n", await s.CommandAsync("TEMP x y"));
        Assert.Equal("500 5.5.2 Error: command not recognized\r\n", await s.CommandAsync("PERM z"));
        Assert.Contains("unknown TEMP x y", h.Calls);
    }

    [Fact]
    public async Task Xforward_and_xclient_need_authorization()
    {
        await using var s = await Greeted();
        var ehlo = await s.CommandAsync("EHLO c");
        Assert.DoesNotContain("XFORWARD", ehlo);
        Assert.Equal("550 5.7.0 Error: insufficient authorization\r\n", await s.CommandAsync("XFORWARD ADDR=192.0.2.1"));
        Assert.Equal("550 5.7.0 Error: insufficient authorization\r\n", await s.CommandAsync("XCLIENT ADDR=192.0.2.1"));
    }

    [Fact]
    public async Task Xforward_applies_to_one_transaction()
    {
        var h = new RecordingHandler { Authorized = true };
        await using var s = await Greeted(h: h);
        var ehlo = await s.CommandAsync("EHLO c");
        Assert.EndsWith("250 XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n", ehlo);
        Assert.Equal("250 2.0.0 Ok\r\n", await s.CommandAsync("XFORWARD NAME=mail.example.org ADDR=192.0.2.7 HELO=[UNAVAILABLE]"));
        Assert.Equal("501 5.5.4 Syntax: XFORWARD attribute=value...\r\n", await s.CommandAsync("XFORWARD COLOR=red"));
        Assert.Equal("192.0.2.7", s.Context.Xforward["ADDR"]);
        await s.CommandAsync("MAIL FROM:<a@b>");
        Assert.StartsWith("503 5.5.1", await s.CommandAsync("XFORWARD ADDR=192.0.2.8"));
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.CommandAsync("DATA");
        await s.SendAsync("x\r\n.\r\n");
        Assert.StartsWith("250", await s.ReplyAsync());
        Assert.Empty(s.Context.Xforward);
    }

    [Fact]
    public async Task Xclient_replaces_the_client_and_restarts_with_a_greeting()
    {
        var h = new RecordingHandler { Authorized = true };
        await using var s = await Greeted(h: h);
        await s.CommandAsync("EHLO c");
        Assert.Equal("220 mx.test ESMTP\r\n", await s.CommandAsync("XCLIENT ADDR=192.0.2.9 NAME=[UNAVAILABLE]"));
        Assert.Equal(System.Net.IPAddress.Parse("192.0.2.9"), s.Context.RemoteAddress);
        Assert.Equal(System.Net.IPAddress.Loopback, s.Context.PeerAddress);
        Assert.Equal("unknown", s.Context.ClientName);
        Assert.StartsWith("503 5.5.1 Error: send HELO/EHLO first", await s.CommandAsync("MAIL FROM:<a@b>"));
    }

    [Fact]
    public async Task Recipient_refusal_is_per_recipient_and_data_needs_one_accepted()
    {
        var h = new RecordingHandler { Rcpt = r => r.LocalPart == "no" ? new SmtpReply(554, "5.7.1", $"{r}: Relay access denied") : null };
        await using var s = await Greeted(h: h);
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        Assert.Equal("554 5.7.1 <no@y>: Relay access denied\r\n", await s.CommandAsync("RCPT TO:<no@y>"));
        Assert.Equal("554 5.5.1 Error: no valid recipients\r\n", await s.CommandAsync("DATA"));
    }

    [Fact]
    public async Task Utf8_recipient_needs_smtputf8_on_mail()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        Assert.StartsWith("553 5.6.7", await s.CommandAsync("RCPT TO:<пользователь@пример.рф>"));
        await s.CommandAsync("RSET");
        await s.CommandAsync("MAIL FROM:<a@b> SMTPUTF8");
        Assert.StartsWith("250 2.1.5", await s.CommandAsync("RCPT TO:<пользователь@пример.рф>"));
    }

    [Fact]
    public async Task Shutdown_closes_an_idle_session_with_421()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        s.Shutdown();
        Assert.StartsWith("421 4.3.2", await s.ReplyAsync());
        await s.ServerClosedAsync();
        Assert.Equal(SessionEndReason.Shutdown, s.Context.EndReason);
    }

    [Fact]
    public async Task Client_closing_mid_data_loses_nothing_that_was_answered_and_ends_cleanly()
    {
        await using var s = await Greeted();
        await s.CommandAsync("EHLO c");
        await s.CommandAsync("MAIL FROM:<a@b>");
        await s.CommandAsync("RCPT TO:<x@y>");
        await s.CommandAsync("DATA");
        await s.SendAsync("partial\r\n");
        s.CloseClient();
        await s.ServerClosedAsync();
        Assert.Empty(s.Handler.Messages);
        Assert.Contains("abort", s.Handler.Calls);
        Assert.Equal(SessionEndReason.ClientClosed, s.Context.EndReason);
    }
}
