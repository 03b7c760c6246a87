// T21 SigTermInFlight: SIGTERM while a session waits for its next hop (docs/flow.md "6. Stop").
// smtp-sink holds its end-of-data reply 3 s (-W .:3) after it stored the message. Client A sends a
// message; client B, opened and greeted (EHLO) before, sits idle. As soon as the sink has stored A's
// message (so the MTA is waiting for the sink's reply), the test sends SIGTERM. Then:
//   - B gets "421 4.3.2 ..." and is closed (idle sessions are ended at once);
//   - a new connection is refused (the listener is closed);
//   - A still gets 250, after the sink's delayed reply (the transaction finishes within
//     smtpd_shutdown_timeout = 20s), and its next command is answered 221 or 421 and the connection closes;
//   - the MTA exits 0, the sink holds exactly A's message once (our Received + A's bytes), the queue is
//     empty: nothing answered 250 was lost, nothing was queued behind the client's back.
using System.Net.Sockets;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Graceful stop with a transaction in flight.</summary>
public sealed class T21_SigTermInFlightTests(ITestOutputHelper output)
{
    private const int SinkDelaySeconds = 3;

    [Fact]
    public Task Sigterm_lets_the_transaction_in_flight_finish_ends_idle_sessions_with_421_refuses_new_ones_and_exits_0() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync(new SinkBehavior { Delay = (".", SinkDelaySeconds) });
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)).Set("smtpd_shutdown_timeout", "20s"));
        var message = RawMessage.Create("T21 in flight at SIGTERM", "line one", "line two");

        await using var idle = await s.ConnectAsync(mta.Host, mta.Port);
        Assert.Equal(220, (await idle.ReadReplyAsync()).Code);
        Assert.Equal(250, (await idle.CommandAsync("EHLO idle.client.test")).Code);

        await using var busy = await s.ConnectAsync(mta.Host, mta.Port);
        Assert.Equal(220, (await busy.ReadReplyAsync()).Code);
        Assert.Equal(250, (await busy.CommandAsync("EHLO busy.client.test")).Code);
        Assert.Equal(250, (await busy.CommandAsync("MAIL FROM:<sender@client.test>")).Code);
        Assert.Equal(250, (await busy.CommandAsync("RCPT TO:<bob@relay.test>")).Code);
        Assert.Equal(354, (await busy.CommandAsync("DATA")).Code);
        await busy.SendAsync(message.ForData());
        var endOfData = busy.ReadReplyAsync(TimeSpan.FromSeconds(40));

        // The sink writes the message before it (3 s later) answers: from now on the MTA waits for it.
        await sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        Assert.False(endOfData.IsCompleted, "the MTA answered end-of-data before its next hop did");
        var sigtermAt = DateTime.UtcNow;
        mta.SendSigTerm();

        var shutdown = await idle.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(421, shutdown.Code);
        Assert.Equal("4.3.2", shutdown.Enhanced);
        Assert.True(await idle.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the idle session was not closed after its 421");

        var refused = await Record.ExceptionAsync(async () =>
        {
            await using var late = await s.ConnectAsync(mta.Host, mta.Port);
            s.Note($"a connection opened after SIGTERM was accepted; first input: {await late.UnexpectedInputAsync(TimeSpan.FromSeconds(2)) ?? "(nothing in 2 s)"}");
        });
        Assert.True(refused is SocketException { SocketErrorCode: SocketError.ConnectionRefused },
            $"a new connection after SIGTERM must be refused, got: {refused?.GetType().Name ?? "accepted"} {refused?.Message}");

        var reply = await endOfData;
        var repliedAt = DateTime.UtcNow;
        Assert.Equal(250, reply.Code);
        Assert.True(repliedAt > sigtermAt, "the 250 must come after SIGTERM (the transaction was in flight)");
        var dump = Assert.Single(sink.Dumps());
        Assert.True(repliedAt - dump.WrittenUtc >= TimeSpan.FromSeconds(SinkDelaySeconds - 0.2),
            $"our 250 came {(repliedAt - dump.WrittenUtc).TotalSeconds:F2}s after the sink stored the message; the sink answered {SinkDelaySeconds}s after storing");

        await busy.SendAsync("QUIT\r\n");
        var bye = await busy.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.True(bye.Code is 221 or 421, $"QUIT after the last transaction during shutdown: {bye}");
        Assert.True(await busy.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "the session was not closed after QUIT");

        var exit = await mta.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(exit is not null, "the MTA did not exit within 20 s of its last session ending");
        Assert.Equal(0, exit);

        MtaExpect.OurReceivedThen(message.Stored, dump.Message);
        Assert.Single(sink.Dumps());
        MtaExpect.QueueEmpty(mta, "the only message was delivered before its 250");
    });
}
