// M04 DkimSignature: the DKIM-Signature OpenDKIM (signing mode, key made by opendkim-genkey at test time)
// adds through our MTA verifies with an independent verifier: dkimpy (Debian python3-dkim) through
// compat-tests/milters/dkim_verify.py, whose DNS function answers with the generated public key. Checked
// for several message shapes (plain, folded/long headers, 8-bit body, multipart, CRLF file with a From:
// rewritten to client.test, an unencoded 8-bit Subject). Controls that make the test able to fail: the same message through Postfix
// verifies too (the verifier and key plumbing work), and the message delivered by our MTA with one body
// byte changed does NOT verify.
using System.Text;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Milter;

/// <summary>OpenDKIM signatures added through our MTA verify independently.</summary>
public sealed class M04_DkimSignatureTests(ITestOutputHelper output)
{
    /// <summary>A corpus file without its mbox From_ line and with its From: header replaced by one at client.test (OpenDKIM's Domain).</summary>
    private static string FromClientTest(string corpusFile)
    {
        var text = Infrastructure.Corpus.Raw(corpusFile);
        if (text.StartsWith("From ", StringComparison.Ordinal)) text = text[(text.IndexOf('\n') + 1)..];
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length && lines[i].TrimEnd('\r').Length > 0; i++)
        {
            if (lines[i].StartsWith("From:", StringComparison.OrdinalIgnoreCase))
            {
                lines[i] = "From: Sender <sender@client.test>" + (lines[i].EndsWith('\r') ? "\r" : "");
            }
        }
        return string.Join('\n', lines);
    }

    public static IReadOnlyList<MailCase> Cases() =>
    [
        new() { Name = "plain", Message = Messages.Plain() },
        new() { Name = "folded-long", Message = "From: Sender <sender@client.test>\nTo: Bob <bob@relay.test>,\n  Carol <carol@relay.test>\n" +
            "Subject: " + string.Join(" ", Enumerable.Range(1, 120).Select(i => $"w{i}")) + "\nX-Folded: a\n\tb\nDate: Mon, 2 Feb 2026 10:00:00 +0000\n\nbody\n" },
        new() { Name = "8bit", Message = "From: Sender <sender@client.test>\nTo: bob@relay.test\nSubject: 8bit\nMIME-Version: 1.0\n" +
            "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\nCaf\u00e9 \u00fcber\n" },
        new() { Name = "mime", Message = FromClientTest("ham-mime2.eml") },
        // An unencoded 8-bit (Latin-1) Subject: OpenDKIM signs Subject, so the milter must get its exact bytes.
        new() { Name = "8bit-subject", Message = "From: Sender <sender@client.test>\nTo: bob@relay.test\nSubject: caf\u00e9 \u00fcber\n" +
            "Date: Mon, 2 Feb 2026 10:00:00 +0000\n\nbody\n" },
        new() { Name = "crlf", Message = FromClientTest("ham-crlf-endings.eml") },
    ];

    private static async Task<(int Exit, string Output)> VerifyAsync(Scenario s, string txtFile, string message, string what)
    {
        var file = Path.Combine(s.Dir.Sub("verify"), Guid.NewGuid().ToString("N")[..8] + ".eml");
        await File.WriteAllBytesAsync(file, Encoding.Latin1.GetBytes(message));
        var script = Path.Combine(AppContext.BaseDirectory, "milters", "dkim_verify.py");
        var r = await CommandRunner.RunAsync("/bin/sh", ["-c", $"/usr/bin/python3 '{script}' '{txtFile}' < '{file}'"], TimeSpan.FromSeconds(30));
        s.Note($"--- {what}: exit {r.ExitCode}: {r.Output.Trim()}");
        return (r.ExitCode, r.Output);
    }

    [Fact]
    public Task OpenDkim_signature_added_through_our_MTA_verifies_with_dkimpy() => Scenario.RunAsync(output, async s =>
    {
        var dkim = s.Own(await RealMilterPeer.StartOpenDkimAsync(s.Dir, "opendkim"));
        var txtFile = Path.Combine(dkim.Root, "key.txt");
        await File.WriteAllTextAsync(txtFile, dkim.DkimTxtRecord);
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var pfSink = await s.StartSinkAsync(name: "sink-pf");
        var mta = await s.StartMtaAsync(c => MilterDiff.MtaMilterCf(c, dkim.Endpoint, mtaSink.Port));
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + pfSink.NextHop },
            ExtraMainCf = MilterDiff.PostfixMilterCf(dkim.Endpoint),
        });

        var failures = new List<string>();
        foreach (var mc in Cases())
        {
            var mtaBefore = mtaSink.Dumps().Count;
            var pfBefore = pfSink.Dumps().Count;
            var m = await MilterDiff.ThroughMtaAsync(s, mc, mta, mtaSink, null);
            Assert.Contains(". 250", m.Replies);
            var ours = Assert.Single(mtaSink.Dumps().Skip(mtaBefore), d => d.Message.Length > 0).Message;
            Assert.Contains("DKIM-Signature:", ours);
            var (exit, text) = await VerifyAsync(s, txtFile, ours, $"{mc.Name} via our MTA");
            if (exit != 0) failures.Add($"{mc.Name}: our MTA's message does not verify: {text}\n{ours}");

            await MilterDiff.ThroughPostfixAsync(s, mc, postfix, pfSink, null);
            var theirs = Assert.Single(pfSink.Dumps().Skip(pfBefore), d => d.Message.Length > 0).Message;
            var (pexit, ptext) = await VerifyAsync(s, txtFile, theirs, $"{mc.Name} via Postfix");
            Assert.True(pexit == 0, $"control: Postfix's message must verify (verifier or key plumbing broken): {ptext}");

            if (mc.Name == "plain")
            {
                var tampered = ours.Replace("Hello milter.", "Hello milter!", StringComparison.Ordinal);
                Assert.NotEqual(ours, tampered);
                var (texit, _) = await VerifyAsync(s, txtFile, tampered, "tampered copy");
                Assert.True(texit != 0, "control: a tampered message must not verify");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }, timeoutSeconds: 300);
}
