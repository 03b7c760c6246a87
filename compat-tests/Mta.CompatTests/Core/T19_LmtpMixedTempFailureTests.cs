// T19 LmtpMixedTempFailure: Dovecot LMTP answers one recipient 250 and the other 4xx in the SAME
// transaction (LMTP's per-recipient replies after the final dot, RFC 2033 4.2). The client must get
// 250 (alice is delivered, bob is durably queued); the queue holds exactly one envelope record in
// which bob is the only Pending recipient (alice Delivered, or absent) with Dovecot's 4xx as its last
// reply; bob gets nothing until the condition is fixed; then the queue runner (minimal_backoff_time
// = 1s, queue_run_delay = 1s) delivers bob exactly once, alice still has exactly one copy, and the
// queue drains.
//
// Two real ways to make Dovecot 2.3 defer one user, verified by hand against this Dovecot:
// - quota: mail_plugins = quota, plugin { quota = maildir:User quota }, the user's userdb field
//   quota_rule=*:storage=1K, and the TOP-LEVEL (lda/lmtp) setting quota_full_tempfail = yes (inside
//   plugin {} it is ignored and Dovecot answers 552 5.2.2). Dovecot then answers, after DATA, for
//   that recipient only: "452 4.2.2 <bob@lmtp.test> Quota exceeded (mailbox for user is full)".
//   Fixed by rewriting the passwd-file with quota_rule=*:storage=100M (re-read at the next lookup).
// - permissions: the user's home lies under a root-owned 0755 directory, so mail_uid nobody cannot
//   create HOME/Maildir. Dovecot answers "451 4.2.0 <carl@lmtp.test> Internal error occurred. Refer to
//   server log for more information. [date]" after DATA (log: "mkdir(...) failed: Permission denied
//   (euid=65534(nobody) ... missing +w perm"). Fixed by chown nobody of that directory.
// With lmtp_rcpt_check_quota = no (the default) the RCPT of the over-quota user is still 250, so the
// mix really is decided per recipient after the dot.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>LMTP 250 + 4xx in one transaction: 250 to the client, only the deferred recipient queued, delivered later.</summary>
public sealed class T19_LmtpMixedTempFailureTests(ITestOutputHelper output)
{
    private const string Alice = "alice@lmtp.test";
    private const string Bob = "bob@lmtp.test";

    private static readonly string[] QuotaConfig =
    [
        "mail_plugins = $mail_plugins quota",
        "quota_full_tempfail = yes",
        "plugin {",
        "  quota = maildir:User quota",
        "}",
    ];

    public enum Cause
    {
        /// <summary>bob is over quota: 452 4.2.2.</summary>
        Quota,
        /// <summary>bob's home cannot be created by mail_uid nobody: 451 4.2.0.</summary>
        Permissions,
    }

    [Theory]
    [InlineData(Cause.Quota, 452, "4.2.2")]
    [InlineData(Cause.Permissions, 451, "4.2.0")]
    public Task Lmtp_250_plus_4xx_gives_250_queues_only_the_deferred_recipient_and_delivers_it_after_the_fix(
        Cause cause, int dovecotCode, string dovecotStatus) => Scenario.RunAsync(output, async s =>
    {
        var locked = s.Dir.Sub("locked"); // root-owned 0755: nobody cannot create bob's home here
        DovecotUser brokenBob = cause == Cause.Quota
            ? new DovecotUser(Bob, ExtraFields: ["userdb_quota_rule=*:storage=1K"])
            : new DovecotUser(Bob, Home: Path.Combine(locked, Bob));
        var dovecot = await s.StartDovecotAsync([Alice, brokenBob], cause == Cause.Quota ? QuotaConfig : []);
        var mta = await s.StartMtaAsync(c => c.Transports(("lmtp.test", "lmtp:" + dovecot.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = [Alice, Bob], CorpusMessage = "ham-mime2.eml" });

        Assert.Equal([250, 250], swaks.Rcpt.Select(r => r.Code));
        Assert.Equal(250, swaks.EndOfData.Code);
        Assert.Contains("queued as", swaks.EndOfData.Text);
        Assert.Single(Maildir.Messages(dovecot.MaildirOf(Alice)));
        Assert.Empty(Maildir.Messages(dovecot.MaildirOf(Bob)));

        // Only bob is waiting in the queue, with Dovecot's own 4xx as the reason.
        var record = Assert.Single(mta.QueueEnvelopes());
        s.Note($"envelope record {record.Path}:\n{record.Json}");
        Assert.Equal([Bob], record.Pending);
        var bob = Assert.Single(record.Recipients, r => r.Address == Bob);
        Assert.Equal(dovecotCode, bob.LastCode);
        Assert.Equal(dovecotStatus, bob.LastEnhancedStatus);
        Assert.All(record.Recipients.Where(r => r.Address == Alice), a => Assert.Equal("Delivered", a.State));

        // The queue runner keeps retrying (backoff 1-2 s) while the condition lasts; bob still gets nothing.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Empty(Maildir.Messages(dovecot.MaildirOf(Bob)));
        Assert.Equal([Bob], Assert.Single(mta.QueueEnvelopes()).Pending);

        if (cause == Cause.Quota)
        {
            await dovecot.SetUsersAsync([Alice, new DovecotUser(Bob, ExtraFields: ["userdb_quota_rule=*:storage=100M"])]);
        }
        else
        {
            Unix.Chown(locked, "nobody:nogroup");
        }

        var delivered = Assert.Single(await Maildir.WaitForAsync(dovecot.MaildirOf(Bob), 1, TimeSpan.FromSeconds(30), "bob's Maildir after the fix"));
        Assert.EndsWith(Corpus.AsStoredAfterSwaks("ham-mime2.eml"), delivered);
        await MtaExpect.QueueDrainsAsync(mta, TimeSpan.FromSeconds(15));
        await Task.Delay(TimeSpan.FromSeconds(2)); // a second copy from a racing retry would show up by now
        Assert.Single(Maildir.Messages(dovecot.MaildirOf(Bob)));
        Assert.Single(Maildir.Messages(dovecot.MaildirOf(Alice)));
    });
}
