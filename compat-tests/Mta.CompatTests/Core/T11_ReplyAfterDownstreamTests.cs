// T11 ReplyAfterDownstream (b): the pre-queue promise. smtp-sink holds its end-of-data reply for
// 3 s (-W .:3) after it has written the message; our MTA's 250 to swaks must come after that, i.e.
// (1) swaks measured >= 3 s between its "." and our reply, and (2) swaks finished >= 3 s after the
// sink's dump file was last written. An MTA that answered 250 first and delivered afterwards fails
// both: its reply would come well under 3 s, and the dump would be written after swaks finished.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>End-of-data reply only after the downstream accepted.</summary>
public sealed class T11_ReplyAfterDownstreamTests(ITestOutputHelper output)
{
    private const int SinkDelaySeconds = 3;

    [Fact]
    public Task End_of_data_250_comes_only_after_slow_downstream_accepted() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { Delay = (".", SinkDelaySeconds) });
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "ham-001.eml" });

        Assert.Equal(250, swaks.EndOfData.Code);
        Assert.NotNull(swaks.EndOfData.Seconds);
        Assert.True(swaks.EndOfData.Seconds >= SinkDelaySeconds - 0.1,
            $"our end-of-data reply came {swaks.EndOfData.Seconds}s after the dot; the downstream needed {SinkDelaySeconds}s to accept");
        var dump = Assert.Single(sink.Dumps());
        var gap = swaks.FinishedUtc - dump.WrittenUtc;
        Assert.True(gap >= TimeSpan.FromSeconds(SinkDelaySeconds - 0.1),
            $"swaks finished {gap.TotalSeconds:F2}s after the sink stored the message; the sink answered only {SinkDelaySeconds}s after storing");
        MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks("ham-001.eml"), dump.Message);
        MtaExpect.QueueEmpty(mta, "a message delivered before the reply must not be queued");
    });
}
