// T13 DownstreamPermFailure (d): when the only next hop refuses permanently (5xx at RCPT or at end
// of data), the client gets the same reply code in session (550 or 554, not a generic 5xx and never
// a 250 followed by a bounce), and nothing is queued.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Downstream 5xx becomes the client's 5xx with the same code.</summary>
public sealed class T13_DownstreamPermFailureTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("RCPT", "550 5.1.1 No such user here (compat sink)")]
    [InlineData(".", "554 5.7.1 Message refused (compat sink)")]
    public Task Downstream_5xx_gives_client_the_same_5xx(string refusedCommand, string sinkReply) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { HardReject = [refusedCommand], HardReply = sinkReply });
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "ham-mime2.eml" });

        var refusal = swaks.Replies.FirstOrDefault(r => r.Command is "RCPT" or "." && r.Code >= 400);
        Assert.True(refusal is not null, "the client got no refusal at RCPT or end of data");
        Assert.Equal(int.Parse(sinkReply[..3]), refusal.Code);
        Assert.DoesNotContain(swaks.Replies, r => r.Command == "." && r.Code == 250);
        Assert.True(sink.ReceivedRcptTo("bob@relay.test"), "the sink never got RCPT TO:<bob@relay.test>"); // the refusal came from downstream
        MtaExpect.QueueEmpty(mta, "a permanent refusal in session must not be queued");
    });
}
