// T14 MixedRecipients (e): one transaction, recipients with different outcomes.
// Permanent mix: Dovecot LMTP knows alice, not nobody (550 5.1.1 at RCPT). The client gets 250
// (alice delivered before the reply), and the sender, whose domain local.test is in mydestination,
// receives an RFC 3464 DSN for nobody only, in data_directory/mail/sender@local.test/.
// Temporary mix: alice via Dovecot is delivered, carol's sink answers 450 at RCPT. The client gets
// 250, carol is in the queue at that moment; once the sink is restarted accepting, the queue runner
// delivers carol (byte-identical), alice gets no second copy and the queue drains.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Per-recipient outcomes: delivered + bounced, delivered + deferred.</summary>
public sealed class T14_MixedRecipientTests(ITestOutputHelper output)
{
    [Fact]
    public Task Lmtp_known_and_unknown_user_gives_250_and_a_DSN_for_the_unknown_one() => Scenario.RunAsync(output, async s =>
    {
        var dovecot = await s.StartDovecotAsync(["alice@lmtp.test"]);
        var mta = await s.StartMtaAsync(c => c.Transports(("lmtp.test", "lmtp:" + dovecot.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest
        {
            Port = mta.Port, From = "sender@local.test", To = ["alice@lmtp.test", "nobody@lmtp.test"], CorpusMessage = "ham-001.eml",
        });

        Assert.Equal([250, 250], swaks.Rcpt.Select(r => r.Code));
        Assert.Equal(250, swaks.EndOfData.Code);
        var delivered = Assert.Single(Maildir.Messages(dovecot.MaildirOf("alice@lmtp.test")));
        Assert.Contains(Corpus.SubjectLine("ham-001.eml"), delivered);
        var dsn = Assert.Single(await Maildir.WaitForAsync(mta.MaildirOf("sender@local.test"), 1, TimeSpan.FromSeconds(30), "the DSN to the sender"));
        MtaExpect.DsnReportsFailure(dsn, failed: "nobody@lmtp.test", status: "5.1.1", notMentioned: "alice@lmtp.test");
        await MtaExpect.QueueDrainsAsync(mta, TimeSpan.FromSeconds(15));
    });

    [Fact]
    public Task Delivered_plus_deferred_gives_250_then_queue_runner_delivers_the_deferred_one() => Scenario.RunAsync(output, async s =>
    {
        var dovecot = await s.StartDovecotAsync(["alice@lmtp.test"]);
        var sink = await s.StartSinkAsync(new SinkBehavior { SoftReject = ["RCPT"] });
        var mta = await s.StartMtaAsync(c => c.Transports(("lmtp.test", "lmtp:" + dovecot.NextHop), ("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest
        {
            Port = mta.Port, To = ["alice@lmtp.test", "carol@relay.test"], CorpusMessage = "ham-cjk_gb2312.2.eml",
        });

        Assert.Equal(250, swaks.EndOfData.Code);
        MtaExpect.QueueNotEmpty(mta, "carol was deferred, so the 250 promises a queued copy");
        Assert.Single(Maildir.Messages(dovecot.MaildirOf("alice@lmtp.test")));
        Assert.Empty(sink.Dumps()); // the deferring sink got no message
        Assert.True(sink.ReceivedRcptTo("carol@relay.test"), "the sink never got RCPT TO:<carol@relay.test>");

        await sink.RestartAsync(SinkBehavior.Accept);
        var dump = Assert.Single(await sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));

        Assert.Equal(["carol@relay.test"], dump.Recipients);
        MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks("ham-cjk_gb2312.2.eml"), dump.Message);
        await MtaExpect.QueueDrainsAsync(mta, TimeSpan.FromSeconds(15));
        Assert.Single(Maildir.Messages(dovecot.MaildirOf("alice@lmtp.test")));
    });
}
