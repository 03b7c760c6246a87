// T02 DovecotLmtpRig: proves the DovecotLmtpPeer fixture with swaks --protocol LMTP alone: a known
// user is accepted (RCPT 250, per-recipient 250 after DATA) and lands in its Maildir; an unknown
// user in the same transaction gets 550 at RCPT. This is the mixed per-recipient result the MTA
// tests rely on.
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Clients;
using Xunit.Abstractions;

namespace Mta.CompatTests.Rig;

/// <summary>Dovecot LMTP driven directly by swaks.</summary>
public sealed class T02_DovecotLmtpRig(ITestOutputHelper output)
{
    [Fact]
    public Task Lmtp_accepts_known_user_and_refuses_unknown_user() => Scenario.RunAsync(output, async s =>
    {
        var dovecot = await s.StartDovecotAsync(["alice@lmtp.test", "bob@lmtp.test"]);

        var swaks = await s.SwaksAsync(new SwaksRequest
        {
            Port = dovecot.Port, Lmtp = true, To = ["alice@lmtp.test", "nobody@lmtp.test"], CorpusMessage = "ham-001.eml",
        });

        Assert.Equal([250, 550], swaks.Rcpt.Select(r => r.Code));
        Assert.Contains("5.1.1", swaks.Rcpt[1].Text);
        Assert.Equal(250, swaks.EndOfData.Code);
        var message = Assert.Single(await Maildir.WaitForAsync(dovecot.MaildirOf("alice@lmtp.test"), 1, TimeSpan.FromSeconds(30), "alice's Maildir"));
        Assert.Contains(Corpus.SubjectLine("ham-001.eml"), message);
        Assert.Empty(Maildir.Messages(dovecot.MaildirOf("bob@lmtp.test")));
    });
}
