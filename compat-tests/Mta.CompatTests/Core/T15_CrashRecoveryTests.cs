// T15 CrashRecovery (f): what was answered 250 survives kill -9. dave's sink accepts, erin's sink
// defers (450 at RCPT), so the client gets 250 with erin queued. The MTA is killed with SIGKILL (no
// shutdown code runs), erin's sink is restarted accepting, the MTA is started again on the same
// data_directory, and erin's copy arrives byte-identical; dave never gets a second copy.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Durability of the queue across a crash.</summary>
public sealed class T15_CrashRecoveryTests(ITestOutputHelper output)
{
    [Fact]
    public Task Queued_message_survives_kill_9_and_is_delivered_after_restart() => Scenario.RunAsync(output, async s =>
    {
        var now = await s.StartSinkAsync(name: "sink-now");
        var later = await s.StartSinkAsync(new SinkBehavior { SoftReject = ["RCPT"] }, name: "sink-later");
        var mta = await s.StartMtaAsync(c => c.Transports(("now.test", "smtp:" + now.NextHop), ("later.test", "smtp:" + later.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["dave@now.test", "erin@later.test"], CorpusMessage = "ham-mime3.eml" });
        Assert.Equal(250, swaks.EndOfData.Code);
        MtaExpect.QueueNotEmpty(mta, "erin was deferred, so the 250 promises a queued copy");
        Assert.Single(now.Dumps());

        await mta.KillAsync();
        MtaExpect.QueueNotEmpty(mta, "the queued copy must be on disk after kill -9");
        await later.RestartAsync(SinkBehavior.Accept);
        await mta.RestartAsync();

        var dump = Assert.Single(await later.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(["erin@later.test"], dump.Recipients);
        MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks("ham-mime3.eml"), dump.Message);
        await MtaExpect.QueueDrainsAsync(mta, TimeSpan.FromSeconds(15));
        Assert.Single(now.Dumps());
    });
}
