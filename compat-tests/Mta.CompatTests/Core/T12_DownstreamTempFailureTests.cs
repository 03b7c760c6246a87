// T12 DownstreamTempFailure (c): when the only next hop answers 4xx (at RCPT or at end of data), all
// recipients failed temporarily, so the client gets a 4xx (at RCPT or at end of data, never a 250
// for the message) and nothing is written to the queue: the client keeps responsibility and retries.
// The sink's -v command log proves the MTA really talked to the downstream (the 4xx is not our own refusal).
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Downstream 4xx becomes the client's 4xx, nothing queued.</summary>
public sealed class T12_DownstreamTempFailureTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("RCPT")]
    [InlineData(".")]
    public Task Downstream_4xx_gives_client_4xx_and_queues_nothing(string refusedCommand) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { SoftReject = [refusedCommand], SoftReply = "451 4.3.0 Try again later (compat sink)" });
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "ham-mime2.eml" });

        var refusal = swaks.Replies.FirstOrDefault(r => r.Command is "RCPT" or "." && r.Code >= 400);
        Assert.True(refusal is not null, "the client got no refusal at RCPT or end of data");
        Assert.InRange(refusal.Code, 400, 499);
        Assert.DoesNotContain(swaks.Replies, r => r.Command == "." && r.Code == 250);
        Assert.True(sink.ReceivedRcptTo("bob@relay.test"), "the sink never got RCPT TO:<bob@relay.test>"); // the refusal came from downstream
        MtaExpect.QueueEmpty(mta, "after a 4xx the client keeps the message");
    });
}
