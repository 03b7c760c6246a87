// M02 RealMilterDiff: the real Debian milters rspamd (milter proxy, milter_headers), OpenDKIM (signing) and
// OpenDMARC, one instance each shared by a private Postfix 3.7 and our MTA (both with smtpd_milters pointing
// at it, both relaying to their own smtp-sink). A corpus (real messages: plain, MIME, GB2312 8-bit, CRLF
// file, GTUBE; synthetic: folded and very long headers, 8-bit body, 30 recipients) goes through both; for
// every message the end-of-data reply and the delivered envelope and message must be the same after
// MilterDiff's R1-R3b and these normalisations, applied to both sides alike:
//   N1 X-Rspamd-Queue-Id: the value is each MTA's queue ID (the {i} macro) -> "<qid>".
//   N2 X-Spamd-Result / X-Spam-Status: every number (scores, thresholds) -> "<n>" (symbols are compared).
//   N0 relay differences unrelated to milters (reported as findings): a message's own Return-Path: header is
//      dropped (Postfix's cleanup drops it, message_drop_headers; ours keeps it); BODY=8BITMIME in MAIL FROM
//      to the sink is dropped (Postfix's cleanup detects 8-bit content and declares it; ours passes on only
//      what the client declared).
//   N2b X-Spamd-Result: the symbols are compared as a sorted list of names, without their [options], and
//      without *_FAIL symbols (DNS lookups that failed: which ones time out first varies from run to run).
//   N3 DKIM-Signature: the values of t= (signing time) and b= (the signature, which covers t=) -> "<t>",
//      "<b>"; bh= (body hash), h= (signed headers), d=, s=, c= are compared.
// Besides the comparison: GTUBE must get rspamd's 5xx from both; the rspamd case requires that rspamd's
// milter_headers did add headers (so the test cannot pass with a milter that silently did nothing).
using System.Text.RegularExpressions;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Milter;

/// <summary>rspamd, OpenDKIM, OpenDMARC: Postfix vs our MTA over a corpus.</summary>
public sealed partial class M02_RealMilterDiffTests(ITestOutputHelper output)
{
    // A long logical header (about 2,000 characters) folded every ten words, so no physical line passes 998
    // characters (a longer physical line is split by Postfix's smtp client, smtp_line_length_limit; M01's
    // header-very-long case shows that relay difference).
    private static readonly string LongSubject = "Subject: " + string.Join("\n ", Enumerable.Range(0, 25).Select(j =>
        string.Join(" ", Enumerable.Range(j * 10 + 1, 10).Select(i => $"long{i}"))));

    /// <summary>The corpus: real files and synthetic messages.</summary>
    public static IReadOnlyList<MailCase> Corpus() =>
    [
        new() { Name = "ham-001", CorpusFile = "ham-001.eml" },
        new() { Name = "ham-mime2", CorpusFile = "ham-mime2.eml" },
        new() { Name = "ham-cjk_gb2312", CorpusFile = "ham-cjk_gb2312.2.eml" },
        new() { Name = "ham-crlf", CorpusFile = "ham-crlf-endings.eml" },
        new() { Name = "folded-and-long-headers", Message =
            "From: Sender <sender@client.test>\nTo: Bob <bob@relay.test>,\n  Carol <carol@relay.test>,\n\tDave <dave@relay.test>\n" +
            LongSubject + "\nX-Folded-Many: a\n b\n c\n d\nMessage-ID: <long-1@client.test>\nDate: Mon, 2 Feb 2026 10:00:00 +0000\n\nbody\n" },
        new() { Name = "8bit-body", Message = "From: Sender <sender@client.test>\nTo: bob@relay.test\nSubject: 8 bit\nMIME-Version: 1.0\n" +
            "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\nMessage-ID: <8bit-1@client.test>\n" +
            "Date: Mon, 2 Feb 2026 10:00:00 +0000\n\nCaf\u00e9, na\u00efve, \u00fcber, \u00e5ngstr\u00f6m.\n" },
        new() { Name = "30-recipients", To = Enumerable.Range(1, 30).Select(i => $"r{i:D2}@relay.test").ToArray() },
        new() { Name = "gtube", CorpusFile = "spam-gtube.eml" },
    ];

    public static TheoryData<string> MilterKinds => new() { "rspamd", "opendkim", "opendmarc" };

    [GeneratedRegex(@"^(X-Rspamd-Queue-Id:\s*)\S+", RegexOptions.Multiline | RegexOptions.IgnoreCase)]
    private static partial Regex QueueIdHeader();

    [GeneratedRegex(@"\d+(\.\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"\b(t|b)=[^;]*", RegexOptions.None)]
    private static partial Regex DkimTB();

    /// <summary>N1-N3 on one delivered text (envelope lines and message).</summary>
    public static string Normalise(string delivered)
    {
        var text = QueueIdHeader().Replace(delivered, "$1<qid>");
        var outp = new System.Text.StringBuilder();
        var rest = text;
        // Walk header fields of each message (the envelope lines before "--" pass through unchanged).
        foreach (var part in Regex.Split(rest, "(?<=\n--\n)"))
        {
            var p = part;
            var sb = new System.Text.StringBuilder();
            while (p.Length > 0)
            {
                var (field, after) = Bytes.SplitFirstField(p);
                if (field.Length == 0 || field == "\n") { sb.Append(p); p = ""; break; }
                if (Regex.IsMatch(field, @"^Return-Path:", RegexOptions.IgnoreCase))
                    field = "";
                else if (Regex.IsMatch(field, @"^X-Spamd-Result:", RegexOptions.IgnoreCase))
                {
                    var first = Number().Replace(field[..field.IndexOf('\n')], "<n>");
                    var symbols = Regex.Matches(field, @"^\s+([A-Z0-9_]+)\(", RegexOptions.Multiline).Select(m => m.Groups[1].Value)
                        .Where(n => !n.EndsWith("_FAIL", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
                    field = first.TrimEnd(';') + " symbols: " + string.Join(" ", symbols) + "\n";
                }
                else if (Regex.IsMatch(field, @"^X-Spam-Status:", RegexOptions.IgnoreCase))
                    field = Number().Replace(field, "<n>");
                else if (Regex.IsMatch(field, @"^DKIM-Signature:", RegexOptions.IgnoreCase))
                    field = DkimTB().Replace(Regex.Replace(field, @"\n[ \t]+", " "), m => m.Value[0] + "=<" + m.Value[0] + ">");
                sb.Append(field);
                p = after;
            }
            outp.Append(sb);
        }
        return outp.ToString();
    }

    [Theory]
    [MemberData(nameof(MilterKinds))]
    public Task Corpus_through_Postfix_and_our_MTA_gives_the_same_replies_and_messages(string kind) => Scenario.RunAsync(output, async s =>
    {
        var milter = s.Own(kind switch
        {
            "rspamd" => await RealMilterPeer.StartRspamdAsync(s.Dir, "rspamd"),
            "opendkim" => await RealMilterPeer.StartOpenDkimAsync(s.Dir, "opendkim"),
            _ => await RealMilterPeer.StartOpenDmarcAsync(s.Dir, "opendmarc"),
        });
        var pfSink = await s.StartSinkAsync(name: "sink-pf");
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + pfSink.NextHop },
            ExtraMainCf = MilterDiff.PostfixMilterCf(milter.Endpoint, "tempfail", "milter_content_timeout = 60s"),
        });
        var mta = await s.StartMtaAsync(c =>
        {
            MilterDiff.MtaMilterCf(c, milter.Endpoint, mtaSink.Port);
            c.Set("milter_content_timeout", "60s");
        });

        var differences = new List<string>();
        foreach (var mc in Corpus())
        {
            var pfBefore = pfSink.Dumps().Count;
            var mtaBefore = mtaSink.Dumps().Count;
            var p = await MilterDiff.ThroughPostfixAsync(s, mc, postfix, pfSink, null);
            var m = await MilterDiff.ThroughMtaAsync(s, mc, mta, mtaSink, null);
            // Only this case's dumps: ThroughXAsync reports every dump of the sink so far.
            var pd = Normalise(string.Join("\n", pfSink.Dumps().Skip(pfBefore).Where(d => d.Message.Length > 0).Select(Describe)));
            var md = Normalise(string.Join("\n", mtaSink.Dumps().Skip(mtaBefore).Where(d => d.Message.Length > 0).Select(Describe)));
            var pc = $"== replies\n{p.Replies}\n== held: {p.Held}\n== delivered\n{pd}";
            var mcmp = $"== replies\n{m.Replies}\n== held: {m.Held}\n== delivered\n{md}";
            s.Note($"===== {kind} / {mc.Name}: Postfix\n{pc}\n===== {kind} / {mc.Name}: our MTA\n{mcmp}");
            if (pc != mcmp)
            {
                differences.Add($"--- {mc.Name}:\n{MilterDiff.LineDiff(pc, mcmp)}");
            }
            if (kind == "rspamd" && mc.Name == "gtube")
            {
                Assert.Matches(@"\. 5\d\d ", p.Replies);
                Assert.Matches(@"\. 5\d\d ", m.Replies);
            }
            if (kind == "rspamd" && mc.Name == "ham-001")
            {
                Assert.Contains("X-Spamd-Result:", md, StringComparison.OrdinalIgnoreCase);
            }
            if (kind == "opendkim" && mc.Name == "8bit-body")
            {
                Assert.Contains("DKIM-Signature:", md, StringComparison.OrdinalIgnoreCase);
            }
        }
        Assert.True(differences.Count == 0, $"{differences.Count} corpus message(s) differ between Postfix and our MTA:\n" + string.Join("\n", differences));
    }, timeoutSeconds: 400);

    private static string Describe(SinkDump d) =>
        $"MAIL {Regex.Replace(d.MailArgs, @"\s+(SIZE=\d+|BODY=8BITMIME)", "")}\n" + string.Concat(d.RcptArgs.Select(r => $"RCPT {Regex.Replace(r, @" ORCPT=rfc822;\S+", "")}\n")) +
        "--\n" + MilterDiff.OwnReceived(d.Message);
}
