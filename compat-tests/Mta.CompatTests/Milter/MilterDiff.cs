// MilterDiff: owns the differential harness of the milter compat tests: one SMTP transaction (a MailCase)
// sent by swaks through a private Postfix and through our MTA, each with its own instance of the same
// milter and its own smtp-sink, and the normalised outcome of each side (SideOutcome) so a test can
// Assert.Equal the two and print both when they differ.
//
// Both MTAs run with myhostname = mx.test, relay relay.test to their sink, and see the client as
// "localhost [127.0.0.1]" (Postfix with smtpd_peername_lookup = yes; ours names loopback clients
// localhost). Postfix runs with local_header_rewrite_clients empty so its cleanup(8) does not add
// Date:/Message-ID: or rewrite addresses (it would, for a client on inet_interfaces), which our MTA never does.
//
// Normalisations (each one is a thing that legitimately differs between two MTAs):
//  R1 replies: the commands MAIL, RCPT, DATA, "." (end of data) and a 421 anywhere are compared; of the
//     greeting only the code (its text names the software); EHLO/QUIT not at all. For 2xx replies only the code is compared (Postfix says
//     "Ok: queued as ID", ours "Ok: delivered as ID"); 4xx/5xx are compared with their full text.
//  R2 delivered messages: each MTA's own Received: field ("... by mx.test ...") is replaced by the line
//     "Received: <own>" in place (its position is compared, its text not: software, queue ID, date).
//  R2c/R2d header name blanks before the colon and Postfix's splitting of lines over 998 characters (see RelayShape).
//  R2b a message's own Return-Path: header is dropped on both sides (Postfix's cleanup drops it,
//     message_drop_headers; ours passes it on: a relay difference unrelated to milters, reported).
//  R3 MAIL FROM arguments at the sink: SIZE=N dropped (the size includes the different Received:), and
//     BODY=8BITMIME (Postfix's cleanup declares 8-bit content it detects; ours only what the client declared;
//     a relay difference unrelated to milters, reported).
//  R3b RCPT TO arguments at the sink: "ORCPT=rfc822;ADDR" dropped when ADDR is that recipient itself: Postfix's
//     smtp client always passes the original recipient on to a DSN-capable next hop, ours only a client-given
//     ORCPT (a relay difference unrelated to milters; reported). A milter-set or different ORCPT stays.
//  R4 milter log: macros i (queue ID; only its presence is compared), v (software name and version),
//     {daemon_port}, {client_port} (ports of the run) are reduced to "<set>"; milter connections without a
//     HELO event (the rig's own 220 probes) are left out; connection numbers are renumbered from 1.
//  R4b (not with strictMacros, which M01's Macros_at_every_stage_match_Postfix uses to show these as findings): macros i at MAIL and RCPT
//     (Postfix has no queue ID before the first accepted RCPT; ours assigns it at MAIL), {mail_host} and
//     {mail_mailer} (Postfix resolves the sender's next hop; ours does not send them) and {rcpt_host}
//     (Postfix: the transport's nexthop "[127.0.0.1]:PORT"; ours "127.0.0.1") are left out.
//  R4d a message's own Return-Path: header event is left out of the milter log (R2b: Postfix's cleanup drops the
//     header before milters see it; our MTA relays the message unchanged, as RFC 5321 4.4 requires of a relay).
//  R4c consecutive "abort" events of one connection count as one: Postfix sends ABORT from its transaction
//     reset and again from its session reset, and libmilter runs the abort callback for both.
//  R5 held messages: Postfix's hold queue and our queue hold a message each; their files are not compared.
using System.Text;
using System.Text.RegularExpressions;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;

namespace Mta.CompatTests.Milter;

/// <summary>One transaction to run through both MTAs.</summary>
public sealed record MailCase
{
    /// <summary>Case name (shown in test names).</summary>
    public required string Name { get; init; }

    /// <summary>HELO name.</summary>
    public string Helo { get; init; } = "client.test";

    /// <summary>Envelope sender.</summary>
    public string From { get; init; } = "sender@client.test";

    /// <summary>Envelope recipients (all routed to the sink unless a milter refuses them).</summary>
    public IReadOnlyList<string> To { get; init; } = ["bob@relay.test"];

    /// <summary>The message (LF line ends; swaks sends CRLF).</summary>
    public string Message { get; init; } = Messages.Plain();

    /// <summary>A corpus file sent instead of <see cref="Message"/>.</summary>
    public string? CorpusFile { get; init; }

    /// <summary>What the scripted milter answers at CONNECT (its control file), or null.</summary>
    public string? ConnectAction { get; init; }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Synthetic messages.</summary>
public static class Messages
{
    /// <summary>A small plain message with the given extra header lines (LF-terminated each) first.</summary>
    public static string Plain(params string[] extraHeaders) =>
        string.Concat(extraHeaders.Select(h => h + "\n")) +
        "From: Sender <sender@client.test>\nTo: Bob <bob@relay.test>\nSubject: milter compat\n" +
        "Message-ID: <compat-1@client.test>\nDate: Mon, 2 Feb 2026 10:00:00 +0000\n\nHello milter.\nSecond line.\n";
}

/// <summary>The normalised outcome of one side.</summary>
public sealed record SideOutcome(string Replies, string Delivered, string MilterLog, bool Held, string Raw)
{
    /// <summary>Everything compared, as one text.</summary>
    public string Compared => $"== replies\n{Replies}\n== delivered\n{Delivered}\n== held: {Held}\n== milter saw\n{MilterLog}";
}

/// <summary>Runs cases through Postfix and our MTA and normalises the outcomes.</summary>
public static partial class MilterDiff
{
    [GeneratedRegex(@"\s+(SIZE=\d+|BODY=8BITMIME)", RegexOptions.IgnoreCase)]
    private static partial Regex SizeParam();


    private static string RcptArgs(string args)
    {
        var m = Regex.Match(args, @"^<([^>]*)>(.*)$");
        if (!m.Success) return args;
        var rest = m.Groups[2].Value.Replace(" ORCPT=rfc822;" + m.Groups[1].Value, "", StringComparison.OrdinalIgnoreCase);
        return $"<{m.Groups[1].Value}>{rest}";
    }

    /// <summary>Postfix main.cf lines for a milter test (see the file header).</summary>
    public static string[] PostfixMilterCf(string smtpdMilters, string defaultAction = "tempfail", params string[] extra) =>
    [
        $"smtpd_milters = {smtpdMilters}",
        $"milter_default_action = {defaultAction}",
        "smtpd_peername_lookup = yes",
        "local_header_rewrite_clients =",
        "smtpd_delay_reject = yes",
        .. extra,
    ];

    /// <summary>Our MTA's parameters for a milter test.</summary>
    public static void MtaMilterCf(MtaConfig c, string smtpdMilters, int sinkPort, string defaultAction = "tempfail")
    {
        c.Set("myhostname", "mx.test");
        c.Transports(("relay.test", $"smtp:[127.0.0.1]:{sinkPort}"));
        c.Set("smtpd_milters", smtpdMilters);
        c.Set("milter_default_action", defaultAction);
    }

    /// <summary>Writes the case's message into the run directory and returns the swaks request.</summary>
    public static SwaksRequest Request(Scenario s, MailCase mc, int port)
    {
        string? file = null;
        if (mc.CorpusFile is null)
        {
            file = Path.Combine(s.Dir.Sub("messages"), Regex.Replace(mc.Name, "[^A-Za-z0-9_.-]", "_") + ".eml");
            File.WriteAllBytes(file, Encoding.Latin1.GetBytes(mc.Message));
        }
        return new SwaksRequest
        {
            Port = port, Helo = mc.Helo, From = mc.From, To = mc.To, DataFile = file, CorpusMessage = mc.CorpusFile, TimeoutSeconds = 60,
        };
    }

    /// <summary>Runs the case through Postfix and waits until Postfix has finished with the message.</summary>
    public static async Task<SideOutcome> ThroughPostfixAsync(Scenario s, MailCase mc, PostfixPeer postfix, SmtpSinkPeer sink, ScriptedMilterPeer? milter,
        bool strictMacros = false)
    {
        milter?.SetConnectAction(mc.ConnectAction);
        var before = Snapshot(sink, milter, postfix.QueueFiles("hold").Count);
        var swaks = await s.SwaksAsync(Request(s, mc, postfix.Port));
        // Postfix queues first and delivers later: wait until incoming/active/deferred are empty.
        await Task.Delay(300);
        await Wait.UntilAsync(() => postfix.QueueFiles("incoming").Count + postfix.QueueFiles("active").Count + postfix.QueueFiles("maildrop").Count == 0,
            TimeSpan.FromSeconds(30), "Postfix to finish the message", postfix.DescribeLogs);
        var deferred = postfix.QueueFiles("deferred");
        Assert.True(deferred.Count == 0, "Postfix deferred the message (rig problem):\n" + postfix.MailLog);
        return await OutcomeAsync(swaks, sink, milter, postfix.QueueFiles("hold").Count > before.Held, strictMacros, before);
    }

    /// <summary>Runs the case through our MTA (delivery happens before its reply).</summary>
    public static async Task<SideOutcome> ThroughMtaAsync(Scenario s, MailCase mc, MtaProcess mta, SmtpSinkPeer sink, ScriptedMilterPeer? milter,
        bool strictMacros = false)
    {
        milter?.SetConnectAction(mc.ConnectAction);
        var before = Snapshot(sink, milter, mta.QueuedFiles().Count);
        var swaks = await s.SwaksAsync(Request(s, mc, mta.Port));
        return await OutcomeAsync(swaks, sink, milter, mta.QueuedFiles().Count > before.Held, strictMacros, before);
    }

    private sealed record Before(int Dumps, int Events, int Held);

    private static Before Snapshot(SmtpSinkPeer sink, ScriptedMilterPeer? milter, int held) =>
        new(sink.Dumps().Count, milter?.Events().Count ?? 0, held);

    private static async Task<SideOutcome> OutcomeAsync(SwaksResult swaks, SmtpSinkPeer sink, ScriptedMilterPeer? milter, bool held, bool strictMacros,
        Before before)
    {
        if (milter is not null)
        {
            // Both MTAs end the milter conversation after the SMTP session: wait for every connection to close.
            try
            {
                await Wait.UntilAsync(() =>
                {
                    var ev = milter.Events().Skip(before.Events).ToList();
                    return ev.Count(e => e.Event == "close") >= ev.Count(e => e.Event == "negotiate");
                }, TimeSpan.FromSeconds(10), "every milter connection to close");
            }
            catch (TimeoutException)
            {
                // Compared below: an MTA that keeps a milter connection open shows up as a missing close.
            }
        }
        var dumps = sink.Dumps().Skip(before.Dumps).Where(d => d.Message.Length > 0).ToList();
        var delivered = string.Join("\n", dumps.Select(d =>
            $"MAIL {SizeParam().Replace(d.MailArgs, "")}\n" + string.Concat(d.RcptArgs.Select(r => $"RCPT {RcptArgs(r)}\n")) + "--\n" + OwnReceived(d.Message)));
        var log = milter is null ? "" : NormaliseLog(milter.Events().Skip(before.Events).ToList(), strictMacros);
        return new SideOutcome(Replies(swaks), delivered, log, held, swaks.Transcript);
    }

    /// <summary>R1.</summary>
    public static string Replies(SwaksResult swaks) =>
        string.Join("\n", swaks.Replies
            .Where(r => r.Command is "GREETING" or "MAIL" or "RCPT" or "DATA" or "." || r.Code == 421)
            .Select(r => r.Code / 100 == 2 || (r.Command == "GREETING" && r.Code != 421) ? $"{r.Command} {r.Code}" : $"{r.Command} {StripPrefix(r.Text)}"));

    private static string StripPrefix(string text) =>
        string.Join(" | ", text.Split('\n').Select(l => Regex.Replace(l, @"^(<-|<~|<\*\*|<~\*)\s+", "")));

    /// <summary>
    /// R2c: blanks before a header name's colon are removed ("X-Name-Blank : v" -> "X-Name-Blank: v": Postfix's cleanup
    /// rewrites the name, ours relays it unchanged); R2d: a field over 998 characters that Postfix's SMTP client split
    /// (smtp_line_length_limit) is unsplit on both sides (ours relays the line unchanged). Relay differences, reported.
    /// </summary>
    private static string RelayShape(string field)
    {
        var f = Regex.Replace(field, @"^([^:\s]+)[ \t]+:", "$1:");
        return f.Length > 998 ? Regex.Replace(f, @"\n[ \t]", "") : f;
    }

    /// <summary>R2.</summary>
    public static string OwnReceived(string message)
    {
        var outp = new StringBuilder();
        var rest = message;
        while (rest.Length > 0 && !rest.StartsWith('\n'))
        {
            var (field, after) = Bytes.SplitFirstField(rest);
            if (field.Length == 0) break;
            outp.Append(field.StartsWith("Received:", StringComparison.OrdinalIgnoreCase) && field.Contains("by mx.test", StringComparison.Ordinal)
                ? "Received: <own>\n" : field.StartsWith("Return-Path:", StringComparison.OrdinalIgnoreCase) ? "" : RelayShape(field));
            rest = after;
        }
        return outp + rest;
    }

    /// <summary>R4.</summary>
    public static string NormaliseLog(IReadOnlyList<MilterEvent> events, bool strictMacros = false)
    {
        var conns = events.GroupBy(e => e.Conn).Where(g => g.Any(e => e.Event == "helo")).OrderBy(g => g.Key).ToList();
        var sb = new StringBuilder();
        int n = 0;
        foreach (var g in conns)
        {
            n++;
            string? previous = null;
            foreach (var e in g)
            {
                if (e.Event == "abort" && previous == "abort") continue;
                if (e.Event == "header" && e.Json.TryGetProperty("name", out var hn) && string.Equals(hn.GetString(), "Return-Path", StringComparison.OrdinalIgnoreCase))
                    continue; // R4d: a message's own Return-Path: (see R2b)
                previous = e.Event;
                sb.Append($"[{n}] {e.Event}");
                foreach (var p in e.Json.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (p.Name is "conn" or "ev" or "macros") continue;
                    sb.Append($" {p.Name}={p.Value.GetRawText()}");
                }
                var macros = e.Macros.Where(m => strictMacros || !(
                    (m.Key == "i" && e.Event is "mail" or "rcpt") || m.Key is "{mail_host}" or "{mail_mailer}" or "{rcpt_host}"))
                    .ToDictionary(m => m.Key, m => m.Value);
                if (macros.Count > 0)
                {
                    sb.Append(" macros{");
                    sb.Append(string.Join(", ", macros.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m =>
                        m.Key is "i" or "v" or "{daemon_port}" or "{client_port}" ? $"{m.Key}=<set>"
                        : m.Key == "{rcpt_host}" ? $"{m.Key}={Regex.Replace(m.Value, @":\d+$", ":<port>")}" : $"{m.Key}={m.Value}")));
                    sb.Append('}');
                }
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }

    /// <summary>Asserts both outcomes are equal; the message shows both in full.</summary>
    public static void AssertSame(Scenario s, SideOutcome postfix, SideOutcome mta)
    {
        s.Note("===== Postfix (normalised)\n" + postfix.Compared);
        s.Note("===== our MTA (normalised)\n" + mta.Compared);
        Assert.True(postfix.Compared == mta.Compared, "Postfix and our MTA differ:\n" + LineDiff(postfix.Compared, mta.Compared));
    }

    /// <summary>A minimal line diff: lines only in Postfix ("- P") and only in ours ("+ M"), per section order.</summary>
    public static string LineDiff(string a, string b)
    {
        var la = a.Split('\n');
        var lb = b.Split('\n');
        // LCS table (outputs are small).
        var dp = new int[la.Length + 1, lb.Length + 1];
        for (int i = la.Length - 1; i >= 0; i--)
            for (int j = lb.Length - 1; j >= 0; j--)
                dp[i, j] = la[i] == lb[j] ? dp[i + 1, j + 1] + 1 : Math.Max(dp[i + 1, j], dp[i, j + 1]);
        var sb = new StringBuilder();
        int x = 0, y = 0;
        while (x < la.Length || y < lb.Length)
        {
            if (x < la.Length && y < lb.Length && la[x] == lb[y]) { sb.Append("    ").AppendLine(la[x]); x++; y++; }
            else if (y < lb.Length && (x == la.Length || dp[x, y + 1] >= dp[x + 1, y])) { sb.Append("+ M ").AppendLine(lb[y]); y++; }
            else { sb.Append("- P ").AppendLine(la[x]); x++; }
        }
        return sb.ToString();
    }
}
