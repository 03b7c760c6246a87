// M01 ScriptedMilterDiff: every reply and modification of the scripted libmilter milter
// (compat-tests/milters/scripted_milter.py) through a private Postfix 3.7 and through our MTA, each with its
// own milter instance and smtp-sink. Compared after MilterDiff's normalisations R1-R5 (see MilterDiff.cs):
// the client's replies (MAIL, RCPT, DATA, end of data), the delivered envelope and message, whether the
// message was held, and everything the milter saw (events, header values, body length/hash/chunking, macros).
// A difference fails the test and prints a line diff (- P = Postfix only, + M = our MTA only).
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Milter;

/// <summary>Scripted milter: Postfix vs our MTA.</summary>
public sealed class M01_ScriptedMilterDiffTests(ITestOutputHelper output)
{
    private static MailCase Eom(string name, params string[] actions) =>
        new() { Name = name, Message = Messages.Plain(actions.Select(a => "X-Test-Action: " + a).ToArray()) };

    private static readonly string LongValue = string.Join(" ", Enumerable.Range(1, 300).Select(i => $"word{i}"));

    /// <summary>All cases by name.</summary>
    public static readonly IReadOnlyDictionary<string, MailCase> Cases = new MailCase[]
    {
        Eom("eom-continue"),
        Eom("eom-accept", "accept"),
        Eom("eom-reject", "reject"),
        Eom("eom-tempfail", "tempfail"),
        Eom("eom-discard", "discard"),
        Eom("eom-replycode-550", "replycode 550 5.7.0 custom text"),
        Eom("eom-replycode-451-no-enhanced", "replycode 451 try later please"),
        Eom("eom-replycode-multiline", "replycode 550 5.7.0 first line{LF}second line"),
        Eom("eom-replycode-421", "replycode 421 4.7.0 closing now"),
        Eom("eom-quarantine", "quarantine held by test"),
        Eom("eom-addheader", "addheader X-Added: hello world"),
        Eom("eom-addheader-folded", "addheader X-Folded: part one{LF}{TAB}part two"),
        Eom("eom-insheader-0", "insheader 0 X-Ins0: at zero"),
        Eom("eom-insheader-1", "insheader 1 X-Ins1: at one"),
        Eom("eom-insheader-3", "insheader 3 X-Ins3: at three"),
        Eom("eom-insheader-past-end", "insheader 99 X-Ins99: past the end"),
        Eom("eom-chgheader-subject", "chgheader Subject 1 changed subject"),
        Eom("eom-chgheader-missing", "chgheader X-Missing 1 appended value"),
        new() { Name = "eom-delheader-second", Message = Messages.Plain("X-Test-Action: delheader X-Foo 2", "X-Foo: first", "X-Foo: second") },
        new() { Name = "eom-delheader-first", Message = Messages.Plain("X-Test-Action: delheader X-Foo 1", "X-Foo: first", "X-Foo: second") },
        new() { Name = "eom-chgheader-index0", Message = Messages.Plain("X-Test-Action: chgheader X-Foo 0 zero", "X-Foo: first", "X-Foo: second") },
        Eom("eom-addrcpt", "addrcpt <carol@relay.test>"),
        Eom("eom-addrcpt-par", "addrcpt_par <dave@relay.test> NOTIFY=NEVER"),
        new() { Name = "eom-delrcpt", To = ["bob@relay.test", "eve@relay.test"], Message = Messages.Plain("X-Test-Action: delrcpt <bob@relay.test>") },
        Eom("eom-chgfrom", "chgfrom <new@client.test> RET=HDRS"),
        Eom("eom-chgfrom-null", "chgfrom <>"),
        Eom("eom-replbody", "replbody replaced body{LF}line two{LF}"),
        Eom("eom-replbody-no-final-newline", "replbody no newline at end"),
        Eom("eom-combined", "addheader X-A: 1", "chgheader Subject 1 combined", "addrcpt <carol@relay.test>", "replbody combined body{LF}"),
        Eom("eom-edits-then-reject", "addheader X-A: 1", "reject"),
        new() { Name = "mail-reject", From = "reject-at-mail@client.test" },
        new() { Name = "mail-tempfail", From = "tempfail-at-mail@client.test" },
        new() { Name = "mail-replycode", From = "replycode-at-mail@client.test" },
        new() { Name = "mail-shutdown-421", From = "shutdown-at-mail@client.test" },
        new() { Name = "mail-discard", From = "discard-at-mail@client.test" },
        new() { Name = "mail-accept", From = "accept-at-mail@client.test", Message = Messages.Plain("X-Test-Action: reject") },
        new() { Name = "mail-quarantine", From = "quarantine-at-mail@client.test" },
        new() { Name = "rcpt-reject-one-of-two", To = ["reject-at-rcpt@relay.test", "bob@relay.test"] },
        new() { Name = "rcpt-tempfail-one-of-two", To = ["tempfail-at-rcpt@relay.test", "bob@relay.test"] },
        new() { Name = "rcpt-replycode", To = ["replycode-at-rcpt@relay.test", "bob@relay.test"] },
        new() { Name = "rcpt-discard", To = ["bob@relay.test", "discard-at-rcpt@relay.test"] },
        new() { Name = "rcpt-all-rejected", To = ["reject-at-rcpt@relay.test"] },
        new() { Name = "data-reject", From = "reject-at-data@client.test" },
        new() { Name = "data-tempfail", From = "tempfail-at-data@client.test" },
        new() { Name = "eoh-reject", From = "reject-at-eoh@client.test" },
        new() { Name = "body-reject", From = "reject-at-body@client.test" },
        new() { Name = "helo-reject-sticky", Helo = "reject-helo" },
        new() { Name = "helo-tempfail-sticky", Helo = "tempfail-helo" },
        new() { Name = "helo-replycode-sticky", Helo = "replycode-helo" },
        new() { Name = "helo-shutdown-421", Helo = "shutdown-helo" },
        new() { Name = "connect-reject", ConnectAction = "reject" },
        new() { Name = "connect-tempfail", ConnectAction = "tempfail" },
        new() { Name = "connect-shutdown-421", ConnectAction = "shutdown" },
        new() { Name = "connect-accept", ConnectAction = "accept", Message = Messages.Plain("X-Test-Action: reject") },
        new() { Name = "headers-shapes", Message = Messages.Plain(
            "X-Tab:\tafter tab", "X-NoSpace:nospace", "X-Two-Spaces:  two", "X-Empty:", "X-Trailing: trailing   ",
            "X-Folded: first\n  second\n\tthird", "X-Name-Blank : value") },
        new() { Name = "header-8bit", Message = Messages.Plain("X-Eight: caf\u00e9 \u00fcber") },
        new() { Name = "header-very-long", Message = Messages.Plain("X-Long: " + LongValue) },
        new() { Name = "body-8bit", Message = Messages.Plain() + "8-bit: caf\u00e9 na\u00efve \u00a0nbsp\n" },
        new() { Name = "body-large-chunks", Message = Messages.Plain() + string.Concat(Enumerable.Range(0, 2500).Select(i => $"line {i:D5} " + new string('x', 60) + "\n")) },
        new() { Name = "body-empty", Message = "From: a@client.test\nTo: bob@relay.test\nSubject: empty body\n\n" },
        new() { Name = "no-body-no-separator", Message = "From: a@client.test\nTo: bob@relay.test\nSubject: no separator\n" },
        new() { Name = "many-recipients", To = Enumerable.Range(1, 30).Select(i => $"r{i:D2}@relay.test").ToArray() },
        new() { Name = "corpus-mime", CorpusFile = "ham-mime2.eml" },
        new() { Name = "corpus-gb2312", CorpusFile = "ham-cjk_gb2312.2.eml" },
    }.ToDictionary(c => c.Name);

    /// <summary>Cases grouped so that one Postfix/MTA/milter/sink set serves a whole group (starting them dominates the run time).</summary>
    public static string GroupOf(string caseName) => caseName switch
    {
        _ when caseName.StartsWith("connect-", StringComparison.Ordinal) || caseName.StartsWith("helo-", StringComparison.Ordinal) => "session-stage",
        _ when caseName.StartsWith("mail-", StringComparison.Ordinal) || caseName.StartsWith("rcpt-", StringComparison.Ordinal)
            || caseName.StartsWith("data-", StringComparison.Ordinal) || caseName.StartsWith("eoh-", StringComparison.Ordinal)
            || caseName.StartsWith("body-reject", StringComparison.Ordinal) => "transaction-stage",
        _ when caseName.Contains("header", StringComparison.Ordinal) => "eom-headers",
        _ when caseName.StartsWith("eom-", StringComparison.Ordinal) => "eom-replies-and-envelope",
        _ => "content-shapes",
    };

    public static TheoryData<string> Groups => new(Cases.Keys.Select(GroupOf).Distinct());

    [Theory]
    [MemberData(nameof(Groups))]
    public Task Same_outcome_as_Postfix(string group) => Scenario.RunAsync(output, async s =>
    {
        var pfMilter = s.Own(await Peers.ScriptedMilterPeer.StartAsync(s.Dir, "milter-pf"));
        var mtaMilter = s.Own(await Peers.ScriptedMilterPeer.StartAsync(s.Dir, "milter-mta"));
        var pfSink = await s.StartSinkAsync(name: "sink-pf");
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var postfix = await s.StartPostfixAsync(new Peers.PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + pfSink.NextHop },
            ExtraMainCf = MilterDiff.PostfixMilterCf(pfMilter.Endpoint),
        });
        var mta = await s.StartMtaAsync(c => MilterDiff.MtaMilterCf(c, mtaMilter.Endpoint, mtaSink.Port));

        var differences = new List<string>();
        var cases = Cases.Values.Where(c => GroupOf(c.Name) == group).ToList();
        foreach (var mc in cases)
        {
            var p = await MilterDiff.ThroughPostfixAsync(s, mc, postfix, pfSink, pfMilter);
            var m = await MilterDiff.ThroughMtaAsync(s, mc, mta, mtaSink, mtaMilter);
            s.Note($"===== {mc.Name}: Postfix (normalised)\n{p.Compared}\n===== {mc.Name}: our MTA (normalised)\n{m.Compared}");
            if (p.Compared != m.Compared)
            {
                differences.Add($"--- case {mc.Name}:\n{MilterDiff.LineDiff(p.Compared, m.Compared)}");
            }
        }
        pfMilter.SetConnectAction(null);
        mtaMilter.SetConnectAction(null);
        Assert.True(differences.Count == 0,
            $"{differences.Count} of {cases.Count} case(s) differ between Postfix and our MTA (- P = Postfix only, + M = our MTA only):\n" + string.Join("\n", differences));
    }, timeoutSeconds: 600);

    /// <summary>R4b off: every macro value per stage compared (i at MAIL/RCPT, {mail_host}, {mail_mailer}, {rcpt_host} included).</summary>
    [Fact]
    public Task Macros_at_every_stage_match_Postfix() => Scenario.RunAsync(output, async s =>
    {
        var pfMilter = s.Own(await Peers.ScriptedMilterPeer.StartAsync(s.Dir, "milter-pf"));
        var mtaMilter = s.Own(await Peers.ScriptedMilterPeer.StartAsync(s.Dir, "milter-mta"));
        var pfSink = await s.StartSinkAsync(name: "sink-pf");
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var postfix = await s.StartPostfixAsync(new Peers.PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + pfSink.NextHop },
            ExtraMainCf = MilterDiff.PostfixMilterCf(pfMilter.Endpoint),
        });
        var mta = await s.StartMtaAsync(c => MilterDiff.MtaMilterCf(c, mtaMilter.Endpoint, mtaSink.Port));
        var mc = Cases["eom-continue"];
        var p = await MilterDiff.ThroughPostfixAsync(s, mc, postfix, pfSink, pfMilter, strictMacros: true);
        var m = await MilterDiff.ThroughMtaAsync(s, mc, mta, mtaSink, mtaMilter, strictMacros: true);
        MilterDiff.AssertSame(s, p, m);
    }, timeoutSeconds: 150);
}
