// T04 SinkBehaviourRig: proves every smtp-sink behaviour the MTA tests depend on, with swaks alone:
// the stored form of a corpus message (Corpus.AsStoredAfterSwaks, the byte-exact expectation of the
// MTA tests), the end-of-data delay (-W .:N, dump written before the delayed reply), 4xx at RCPT or
// end of data (-r), and a chosen 5xx reply (-f with -B).
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Rig;

/// <summary>smtp-sink modes driven by swaks.</summary>
public sealed class T04_SinkBehaviourRig(ITestOutputHelper output)
{
    public static TheoryData<string> CorpusMessages => new()
    {
        "ham-001.eml", "ham-cjk_gb2312.2.eml", "ham-mime2.eml", "ham-mime3.eml", "ham-crlf-endings.eml", "ham-cjk_iso-2022-jp.2.eml",
    };

    [Theory]
    [MemberData(nameof(CorpusMessages))]
    public Task Sink_stores_corpus_message_exactly_as_Corpus_predicts(string message) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"], CorpusMessage = message });

        Assert.Equal(250, swaks.EndOfData.Code);
        var dump = Assert.Single(await sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10)));
        Assert.Equal(Corpus.AsStoredAfterSwaks(message), dump.Message);
    });

    [Fact]
    public Task Sink_delays_end_of_data_reply_after_writing_the_dump() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { Delay = (".", 2) });

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"], CorpusMessage = "ham-001.eml" });

        Assert.Equal(250, swaks.EndOfData.Code);
        Assert.True(swaks.EndOfData.Seconds >= 1.9, $"end-of-data answered after {swaks.EndOfData.Seconds}s, expected >= 2s");
        var dump = Assert.Single(sink.Dumps());
        var gap = swaks.FinishedUtc - dump.WrittenUtc;
        Assert.True(gap >= TimeSpan.FromSeconds(1.9), $"dump written only {gap.TotalSeconds:F2}s before swaks finished");
    });

    [Theory]
    [InlineData("RCPT")]
    [InlineData(".")]
    public Task Sink_soft_rejects_chosen_command_with_450(string command) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { SoftReject = [command] });

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"] });

        var reply = Assert.Single(swaks.Replies, r => r.Command == command);
        Assert.Equal(450, reply.Code);
        Assert.NotEqual(0, swaks.ExitCode);
        Assert.True(sink.ReceivedRcptTo("bob@relay.test"), "the sink never got RCPT TO:<bob@relay.test>");
    });

    [Fact]
    public Task Sink_restarted_on_same_port_switches_from_deferring_to_accepting() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { SoftReject = ["RCPT"] });
        var deferred = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"] });

        await sink.RestartAsync(SinkBehavior.Accept);
        var accepted = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"], CorpusMessage = "ham-mime2.eml" });

        Assert.Equal(450, Assert.Single(deferred.Rcpt).Code);
        Assert.Equal(250, accepted.EndOfData.Code);
        // A transaction refused at RCPT leaves no dump file; the -v log shows the RCPT was received.
        Assert.Empty(sink.DumpsOfLife(1));
        Assert.Equal(Corpus.AsStoredAfterSwaks("ham-mime2.eml"), Assert.Single(sink.Dumps()).Message);
    });

    [Theory]
    [InlineData("RCPT", "550 5.1.1 No such user here")]
    [InlineData(".", "554 5.7.1 Message refused by compat sink")]
    public Task Sink_hard_rejects_chosen_command_with_chosen_reply(string command, string reply) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { HardReject = [command], HardReply = reply });

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = sink.Port, To = ["bob@relay.test"] });

        var got = Assert.Single(swaks.Replies, r => r.Command == command);
        Assert.Equal(int.Parse(reply[..3]), got.Code);
        Assert.Contains(reply[4..], got.Text);
    });
}
