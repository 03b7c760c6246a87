// T22 BadInput: bad input gets a precise reply and the session goes on when it safely can
// (design.md "Bad input"); byte-exact input from RawSmtpClient, never swaks. Every case runs the SAME
// bytes through our MTA and through a private Postfix 3.7.11 (both relay relay.test to their own
// smtp-sink) and compares the sequence of reply CODES; on top, the MTA's exact codes and enhanced
// codes are asserted, and what reached each sink (a good "marker" message sent afterwards in the same
// session must arrive, nothing else may).
//
// Postfix configuration for the comparison: smtpd_forbid_bare_newline = reject (3.7.11 has it:
// normalize|yes|reject|no, default no) with smtpd_forbid_bare_newline_exclusions empty (its default
// $mynetworks would exempt our 127.0.0.1 client), and smtpd_forbid_bare_newline_reject_code = 554: the
// Postfix default is 550, the MTA answers 554 5.5.2; the code is a setting in Postfix, so the
// differential compares when and whether each server refuses, not a default.
//
// Text differences seen (the MTA | Postfix 3.7.11), not asserted:
//   bare LF in DATA   554 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>
//                   | 554 5.5.2 mx.test Error: bare <LF> received   (550 unless reject_code is set)
//   long MAIL line    500 5.5.2 Error: command line too long
//                   | 501 5.1.7 Bad sender address syntax: Postfix cuts the line at line_length_limit,
//                     skips the rest and parses what it kept (so the CODES differ; not compared)
//   unknown command   502 5.5.2 Error: command not recognized | 500 5.5.2 Error: command not recognized
//                     (RFC 5321 4.2.4 says 500; asserted, see Unknown_command_...)
//   SIZE= too big     552 5.3.4 Message size exceeds fixed limit | same. Postfix then refuses a plain
//                     MAIL FROM in the same session with 552 again until RSET (it keeps the SIZE);
//                     the MTA does not. The test sends RSET, as a real client would.
//   message too big   552 5.3.4 Message size exceeds fixed limit | 552 5.3.4 Error: message file too big
//   4th recipient     452 4.5.3 Error: too many recipients | same
//   RCPT before MAIL  503 5.5.1 Error: need MAIL command | same
//   hard error limit  421 4.7.0 <myhostname> Error: too many errors (right after the 3rd error's reply) | same
//   GET / HTTP/1.0    221 2.7.0 Error: I can break rules, too. Goodbye. | same
//   STARTTLS+RSET     220 2.0.0 Ready to start TLS, the RSET is dropped, the first reply inside TLS is EHLO's | same
//   good message      250 2.0.0 Ok: delivered as ID | 250 2.0.0 Ok: queued as ID
using System.Text;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Precise replies to malformed or over-limit input, compared with Postfix.</summary>
public sealed class T22_BadInputTests(ITestOutputHelper output)
{
    /// <summary>One server under test with its downstream sink.</summary>
    private sealed record Target(string Name, string Host, int Port, SmtpSinkPeer Sink, MtaProcess? Mta);

    /// <summary>A dialog that records every reply (or the connection closing) under a step name.</summary>
    private sealed class Dialog(RawSmtpClient client, string target)
    {
        public RawSmtpClient Client { get; } = client;

        public List<(string Step, int Code, string? Enhanced, string Text)> Replies { get; } = [];

        public bool Closed { get; private set; }

        /// <summary>Sends the bytes (unless closed) and reads one reply; a closed connection is recorded as code 0.</summary>
        public async Task<RawReply?> SendAsync(string step, string bytes, TimeSpan? timeout = null)
        {
            if (Closed)
            {
                return null;
            }
            try
            {
                await Client.SendAsync(bytes);
            }
            catch (IOException)
            {
                return MarkClosed(step);
            }
            return await ReadAsync(step, timeout);
        }

        /// <summary>Reads one reply without sending.</summary>
        public async Task<RawReply?> ReadAsync(string step, TimeSpan? timeout = null)
        {
            if (Closed)
            {
                return null;
            }
            try
            {
                var reply = await Client.ReadReplyAsync(timeout);
                Replies.Add((step, reply.Code, reply.Enhanced, reply.Text));
                return reply;
            }
            catch (IOException)
            {
                return MarkClosed(step);
            }
        }

        public Task<RawReply?> CommandAsync(string step, string line) => SendAsync(step, line + "\r\n");

        /// <summary>EHLO, MAIL, RCPT, DATA, the message, and the reply to its end.</summary>
        public async Task<RawReply?> SendMarkerAsync(RawMessage marker)
        {
            await CommandAsync("marker MAIL", "MAIL FROM:<sender@client.test>");
            await CommandAsync("marker RCPT", "RCPT TO:<marker@relay.test>");
            await CommandAsync("marker DATA", "DATA");
            return await SendAsync("marker end of data", marker.ForData());
        }

        /// <summary>The reply code of a step (0 when the connection was closed there, -1 when the step never ran).</summary>
        public int CodeOf(string step) => Replies.LastOrDefault(r => r.Step == step) is { Step: not null } r ? r.Code : -1;

        public string? EnhancedOf(string step) => Replies.LastOrDefault(r => r.Step == step).Enhanced;

        public IEnumerable<string> Codes => Replies.Select(r => $"{r.Step}={r.Code}");

        public override string ToString() => $"{target}: " + string.Join(", ", Replies.Select(r => $"{r.Step}={r.Code}"));

        private RawReply? MarkClosed(string step)
        {
            Closed = true;
            Replies.Add((step, 0, null, "connection closed"));
            return null;
        }
    }

    private static readonly string[] PostfixBareNewline =
    [
        "smtpd_forbid_bare_newline = reject",
        "smtpd_forbid_bare_newline_exclusions =",
        "smtpd_forbid_bare_newline_reject_code = 554",
    ];

    private async Task<(Target Mta, Target Postfix)> StartBothAsync(Scenario s, (string Name, string Value)[] settings, bool postfixTls = false)
    {
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var postfixSink = await s.StartSinkAsync(name: "sink-postfix");
        var mta = await s.StartMtaAsync(c =>
        {
            c.Transports(("relay.test", "smtp:" + mtaSink.NextHop));
            foreach (var (name, value) in settings)
            {
                c.Set(name, value);
            }
        });
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + postfixSink.NextHop },
            StartTls = postfixTls,
            ExtraMainCf = [.. PostfixBareNewline, .. settings.Select(p => $"{p.Name} = {p.Value}")],
        });
        return (new Target("mta", mta.Host, mta.Port, mtaSink, mta), new Target("postfix", postfix.Host, postfix.Port, postfixSink, null));
    }

    /// <summary>Connects, reads the greeting, says EHLO, runs <paramref name="body"/>, and returns the dialog.</summary>
    private static async Task<Dialog> RunAsync(Scenario s, Target target, Func<Dialog, Task> body)
    {
        await using var client = await s.ConnectAsync(target.Host, target.Port);
        var dialog = new Dialog(client, target.Name);
        await dialog.ReadAsync("greeting");
        await dialog.CommandAsync("EHLO", "EHLO client.test");
        await body(dialog);
        s.Note(dialog.ToString());
        return dialog;
    }

    /// <summary>
    /// Waits until <paramref name="target"/>'s sink holds the marker, gives a late extra message one more
    /// second to show up (Postfix delivers after its reply), and asserts the marker is all it got.
    /// </summary>
    private static async Task OnlyMarkerArrivedAsync(Target target, RawMessage marker)
    {
        var dumps = await target.Sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(1));
        dumps = target.Sink.Dumps().Where(d => d.Message.Length > 0).ToArray();
        Assert.True(dumps.Count == 1, $"{target.Name}: exactly the marker message must arrive downstream, got {dumps.Count}:\n" +
            string.Join("\n----\n", dumps.Select(d => d.Message)));
        Assert.Equal(["marker@relay.test"], dumps[0].Recipients);
        var body = dumps[0].Message;
        Assert.True(body.EndsWith(marker.Stored, StringComparison.Ordinal), $"{target.Name}: the marker arrived altered:\n{body}");
    }

    /// <summary>The same steps got the same reply codes, except <paramref name="except"/> (documented differences).</summary>
    private static void SameCodes(Dialog mta, Dialog postfix, params string[] except) =>
        Assert.True(mta.Codes.Where(c => !except.Any(e => c.StartsWith(e + "=", StringComparison.Ordinal)))
                .SequenceEqual(postfix.Codes.Where(c => !except.Any(e => c.StartsWith(e + "=", StringComparison.Ordinal)))),
            $"reply codes differ from Postfix{(except.Length > 0 ? " (not compared: " + string.Join(", ", except) + ")" : "")}:\n  {mta}\n  {postfix}");

    [Fact]
    public Task Bare_LF_in_DATA_gets_554_5_5_2_at_the_real_end_and_a_good_message_in_the_same_session_is_delivered() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, []);
        var marker = RawMessage.Create("T22 marker after bare LF", "good line");
        async Task Body(Dialog d)
        {
            await d.CommandAsync("MAIL", "MAIL FROM:<sender@client.test>");
            await d.CommandAsync("RCPT", "RCPT TO:<bob@relay.test>");
            await d.CommandAsync("DATA", "DATA");
            await d.SendAsync("end of data", "Subject: bare LF\r\n\r\nline one\nline two\r\n.\r\n");
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(554, mta.CodeOf("end of data"));
        Assert.Equal("5.5.2", mta.EnhancedOf("end of data"));
        Assert.Equal(250, mta.CodeOf("marker end of data"));
        SameCodes(mta, postfix);
        await OnlyMarkerArrivedAsync(mtaTarget, marker);
        await OnlyMarkerArrivedAsync(postfixTarget, marker);
    });

    [Theory]
    [InlineData("LF.CRLF", "\n.\r\n")]
    [InlineData("CRLF.LF", "\r\n.\n")]
    public Task Smuggled_end_of_data_never_ends_the_message_and_nothing_smuggled_arrives(string name, string fakeEnd) => Scenario.RunAsync(output, async s =>
    {
        s.Note($"fake end of data: {name}");
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, []);
        var marker = RawMessage.Create("T22 marker after smuggling", "good line");
        var smuggling =
            "Subject: outer\r\n\r\nouter body" + fakeEnd +
            "MAIL FROM:<evil@client.test>\r\n" +
            "RCPT TO:<smuggled@relay.test>\r\n" +
            "DATA\r\n" +
            "Subject: smuggled\r\n\r\nsmuggled body\r\n" +
            ".\r\n";
        async Task Body(Dialog d)
        {
            await d.CommandAsync("MAIL", "MAIL FROM:<sender@client.test>");
            await d.CommandAsync("RCPT", "RCPT TO:<bob@relay.test>");
            await d.CommandAsync("DATA", "DATA");
            await d.SendAsync("end of data", smuggling);
            // The next reply must be NOOP's: a server that ended the message at the fake end would
            // still owe replies to the smuggled MAIL, RCPT, DATA and dot.
            await d.CommandAsync("NOOP", "NOOP");
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(554, mta.CodeOf("end of data"));
        Assert.Equal("5.5.2", mta.EnhancedOf("end of data"));
        Assert.Equal(250, mta.CodeOf("NOOP"));
        Assert.DoesNotContain("2.1.0", mta.Replies.Single(r => r.Step == "NOOP").Text); // not MAIL's "250 2.1.0 Ok"
        SameCodes(mta, postfix);
        foreach (var target in new[] { mtaTarget, postfixTarget })
        {
            await OnlyMarkerArrivedAsync(target, marker);
            Assert.False(target.Sink.ReceivedRcptTo("smuggled@relay.test"), $"{target.Name} relayed the smuggled recipient");
        }
    });

    [Fact]
    public Task Over_long_command_line_gets_500_5_5_2_and_the_session_goes_on() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, []);
        var marker = RawMessage.Create("T22 marker after a long line", "good line");
        async Task Body(Dialog d)
        {
            // line_length_limit is 2048 in both (CRLF included for the MTA); 5000 bytes is well over.
            await d.SendAsync("long MAIL", "MAIL FROM:<" + new string('a', 5000) + "@client.test>\r\n");
            await d.CommandAsync("NOOP", "NOOP");
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(500, mta.CodeOf("long MAIL"));
        Assert.Equal("5.5.2", mta.EnhancedOf("long MAIL"));
        Assert.Equal(250, mta.CodeOf("NOOP"));
        Assert.Equal(250, mta.CodeOf("marker end of data"));
        await OnlyMarkerArrivedAsync(mtaTarget, marker);
        await OnlyMarkerArrivedAsync(postfixTarget, marker);
        SameCodes(mta, postfix, "long MAIL");
        Assert.Equal(501, postfix.CodeOf("long MAIL")); // Postfix truncates the line at line_length_limit and parses the rest
    });

    [Fact]
    public Task Size_parameter_above_message_size_limit_gets_552_5_3_4() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, [("message_size_limit", "10000")]);
        var marker = RawMessage.Create("T22 marker after SIZE=", "good line");
        async Task Body(Dialog d)
        {
            await d.CommandAsync("MAIL SIZE=20000", "MAIL FROM:<sender@client.test> SIZE=20000");
            await d.CommandAsync("RCPT after refused MAIL", "RCPT TO:<bob@relay.test>");
            // Postfix 3.7.11 keeps the refused SIZE=20000 and refuses a following "MAIL FROM:<..>" without
            // SIZE with 552 again, until RSET; so the client resets, as a real one would.
            await d.CommandAsync("RSET", "RSET");
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(552, mta.CodeOf("MAIL SIZE=20000"));
        Assert.Equal("5.3.4", mta.EnhancedOf("MAIL SIZE=20000"));
        Assert.Equal(503, mta.CodeOf("RCPT after refused MAIL"));
        Assert.Equal(250, mta.CodeOf("marker end of data"));
        SameCodes(mta, postfix);
        await OnlyMarkerArrivedAsync(mtaTarget, marker);
        await OnlyMarkerArrivedAsync(postfixTarget, marker);
    });

    [Fact]
    public Task Message_above_message_size_limit_gets_552_5_3_4_and_nothing_is_delivered() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, [("message_size_limit", "10000")]);
        var marker = RawMessage.Create("T22 marker after a big message", "good line");
        var big = RawMessage.Create("T22 too big", [.. Enumerable.Range(0, 200).Select(i => $"line {i:D4} " + new string('x', 60))]);
        Assert.True(big.Wire.Length > 12000);
        async Task Body(Dialog d)
        {
            await d.CommandAsync("MAIL", "MAIL FROM:<sender@client.test>");
            await d.CommandAsync("RCPT", "RCPT TO:<bob@relay.test>");
            await d.CommandAsync("DATA", "DATA");
            await d.SendAsync("end of data", big.ForData());
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(552, mta.CodeOf("end of data"));
        Assert.Equal("5.3.4", mta.EnhancedOf("end of data"));
        Assert.Equal(250, mta.CodeOf("marker end of data"));
        SameCodes(mta, postfix);
        await OnlyMarkerArrivedAsync(mtaTarget, marker);
        await OnlyMarkerArrivedAsync(postfixTarget, marker);
        Assert.False(mtaTarget.Sink.ReceivedRcptTo("bob@relay.test"), "the MTA passed the over-size message's recipient downstream");
        MtaExpect.QueueEmpty(mtaTarget.Mta!, "a refused message must not be queued");
    });

    [Fact]
    public Task Recipient_above_smtpd_recipient_limit_gets_452_4_5_3_and_the_first_three_get_the_message() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, [("smtpd_recipient_limit", "3")]);
        var message = RawMessage.Create("T22 three of four recipients", "good line");
        async Task Body(Dialog d)
        {
            await d.CommandAsync("MAIL", "MAIL FROM:<sender@client.test>");
            for (var i = 1; i <= 4; i++)
            {
                await d.CommandAsync($"RCPT {i}", $"RCPT TO:<r{i}@relay.test>");
            }
            await d.CommandAsync("DATA", "DATA");
            await d.SendAsync("end of data", message.ForData());
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal([250, 250, 250, 452], Enumerable.Range(1, 4).Select(i => mta.CodeOf($"RCPT {i}")));
        Assert.Equal("4.5.3", mta.EnhancedOf("RCPT 4"));
        Assert.Equal(250, mta.CodeOf("end of data"));
        SameCodes(mta, postfix);
        foreach (var target in new[] { mtaTarget, postfixTarget })
        {
            var dumps = await target.Sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(["r1@relay.test", "r2@relay.test", "r3@relay.test"],
                target.Sink.Dumps().Where(d => d.Message.Length > 0).SelectMany(d => d.Recipients).Order(StringComparer.Ordinal));
            Assert.False(target.Sink.ReceivedRcptTo("r4@relay.test"), $"{target.Name} relayed the recipient over the limit");
        }
    });

    [Fact]
    public Task Unknown_command_gets_500_5_5_2_like_postfix_and_RFC_5321() => Scenario.RunAsync(output, async s =>
    {
        // RFC 5321 4.2.4: "502 SHOULD be used when the command is actually recognized by the SMTP server,
        // but not implemented. If the command is not recognized, code 500 SHOULD be returned."
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, []);
        async Task Body(Dialog d)
        {
            await d.CommandAsync("XYZZY", "XYZZY");
            await d.CommandAsync("NOOP", "NOOP");
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(500, postfix.CodeOf("XYZZY"));
        Assert.Equal(250, mta.CodeOf("NOOP"));
        Assert.Equal("5.5.2", mta.EnhancedOf("XYZZY"));
        Assert.Equal(500, mta.CodeOf("XYZZY"));
        SameCodes(mta, postfix);
    });

    [Fact]
    public Task Hard_error_limit_3_gets_421_4_7_0_and_close_after_the_third_error() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, [("smtpd_hard_error_limit", "3")]);
        async Task Body(Dialog d)
        {
            // RCPT before MAIL: 503 5.5.1 in both servers, so the test is about the limit only.
            await d.CommandAsync("error 1", "RCPT TO:<bob@relay.test>");
            await d.CommandAsync("error 2", "RCPT TO:<bob@relay.test>");
            await d.CommandAsync("error 3", "RCPT TO:<bob@relay.test>");
            // Nothing more is sent: the server must end the session on its own after the third error.
            await d.ReadAsync("after error 3", TimeSpan.FromSeconds(10));
            Assert.True(await d.Client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the connection stayed open after 421");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal([503, 503, 503], new[] { 1, 2, 3 }.Select(i => mta.CodeOf($"error {i}")));
        Assert.Equal(421, mta.CodeOf("after error 3"));
        Assert.Equal("4.7.0", mta.EnhancedOf("after error 3"));
        SameCodes(mta, postfix);
    });

    [Fact]
    public Task Http_GET_gets_221_and_close() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, []);
        async Task Body(Dialog d)
        {
            await d.SendAsync("GET", "GET / HTTP/1.0\r\n");
            Assert.True(await d.Client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the connection stayed open after the GET");
        }

        // No EHLO: a web client talks first. RunAsync says EHLO, so this one connects by hand.
        var dialogs = new List<Dialog>();
        foreach (var target in new[] { mtaTarget, postfixTarget })
        {
            await using var client = await s.ConnectAsync(target.Host, target.Port);
            var d = new Dialog(client, target.Name);
            await d.ReadAsync("greeting");
            await Body(d);
            s.Note(d.ToString());
            dialogs.Add(d);
        }

        Assert.Equal(221, dialogs[0].CodeOf("GET"));
        Assert.Equal("2.7.0", dialogs[0].EnhancedOf("GET"));
        SameCodes(dialogs[0], dialogs[1]);
    });

    [Fact]
    public Task Plaintext_pipelined_after_STARTTLS_is_never_answered() => Scenario.RunAsync(output, async s =>
    {
        var (mtaTarget, postfixTarget) = await StartBothAsync(s, [], postfixTls: true);
        var marker = RawMessage.Create("T22 marker inside TLS", "good line");
        async Task Body(Dialog d)
        {
            // One write: a man in the middle could have appended the RSET before the handshake.
            await d.SendAsync("STARTTLS", "STARTTLS\r\nRSET\r\n");
            if (d.CodeOf("STARTTLS") != 220)
            {
                return;
            }
            await d.Client.StartTlsAsync();
            // The first reply inside TLS must be EHLO's (multi-line), not a 250 left over from the RSET.
            var ehlo = await d.CommandAsync("EHLO in TLS", "EHLO client.test");
            Assert.True(ehlo is { Lines.Count: > 1 }, $"the first reply inside TLS is not EHLO's: {ehlo}");
            await d.CommandAsync("NOOP in TLS", "NOOP");
            await d.SendMarkerAsync(marker);
            await d.CommandAsync("QUIT", "QUIT");
        }

        var mta = await RunAsync(s, mtaTarget, Body);
        var postfix = await RunAsync(s, postfixTarget, Body);

        Assert.Equal(220, mta.CodeOf("STARTTLS"));
        Assert.Equal(250, mta.CodeOf("NOOP in TLS"));
        Assert.Equal(250, mta.CodeOf("marker end of data"));
        SameCodes(mta, postfix);
        await OnlyMarkerArrivedAsync(mtaTarget, marker);
        await OnlyMarkerArrivedAsync(postfixTarget, marker);
    });
}
