// M03 MilterFailure: a milter that is down (connection refused), hangs (accepts, never answers;
// milter_command_timeout = 2s), answers garbage (an HTTP status line) or answers an unknown reply code, and
// a libmilter milter that hangs at end of message (milter_content_timeout = 2s) - for each
// milter_default_action (accept, reject, tempfail, quarantine, shutdown):
//   - the exact reply our MTA gives: accept -> 250 and delivered; reject -> 550 5.5.0 Service unavailable;
//     tempfail -> 451 4.7.1 Service unavailable - try again later; quarantine -> 250 and held in our queue
//     ("!" in "mta queue list"); shutdown -> 421 and the connection closed;
//   - nothing answered 250 is lost (it is at the sink or held in the queue);
//   - the MTA keeps serving: a second session gets the same treatment and the process is alive;
//   - the same through Postfix 3.7 (same smtpd_milters and default action), replies compared after
//     MilterDiff's R1 normalisation (shutdown: Postfix 3.7 has no such value, so only that comparison is skipped).
using Mta.CompatTests.Clients;
using Mta.CompatTests.Core;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Milter;

/// <summary>Broken milters and milter_default_action.</summary>
public sealed class M03_MilterFailureTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var failure in new[] { "down", "hang", "garbage", "badreply", "hang-at-eom" })
        {
            foreach (var action in new[] { "accept", "reject", "tempfail", "quarantine", "shutdown" })
            {
                data.Add(failure, action);
            }
        }
        return data;
    }

    private static async Task<(string Endpoint, IPeer Peer)> StartBrokenAsync(Scenario s, string failure, string name)
    {
        if (failure == "hang-at-eom")
        {
            var scripted = s.Own(await ScriptedMilterPeer.StartAsync(s.Dir, name));
            return (scripted.Endpoint, scripted);
        }
        var mode = failure switch
        {
            "down" => BrokenMilterMode.Down,
            "hang" => BrokenMilterMode.Hang,
            "garbage" => BrokenMilterMode.Garbage,
            _ => BrokenMilterMode.BadReply,
        };
        var broken = s.Own(BrokenMilterPeer.Start(mode));
        return (broken.Endpoint, broken);
    }

    // A milter that fails at CONNECT may make every greeting a refusal (421 for shutdown; Postfix: 554 for reject).
    private static readonly string[] ReadyCodes = ["220", "421", "554"];

    private static string Message(string failure) =>
        failure == "hang-at-eom" ? Messages.Plain("X-Test-Action: sleep 6") : Messages.Plain();

    [Theory]
    [MemberData(nameof(Matrix))]
    public Task Default_action_applies_nothing_is_lost_and_the_MTA_keeps_serving(string failure, string action) => Scenario.RunAsync(output, async s =>
    {
        var (mtaEndpoint, _) = await StartBrokenAsync(s, failure, "milter-mta");
        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var mta = await s.StartMtaAsync(c =>
        {
            MilterDiff.MtaMilterCf(c, mtaEndpoint, mtaSink.Port, action);
            c.Set("milter_command_timeout", "2s");
            c.Set("milter_content_timeout", "2s");
            c.Set("milter_connect_timeout", "2s");
            c.ReadyGreetingCodes = ReadyCodes;
        });
        var mc = new MailCase { Name = $"{failure}-{action}", Message = Message(failure) };

        // Two sessions: the second proves the MTA still serves and treats the next client the same way.
        var first = await MilterDiff.ThroughMtaAsync(s, mc, mta, mtaSink, null);
        var second = await MilterDiff.ThroughMtaAsync(s, mc with { Name = mc.Name + "-2" }, mta, mtaSink, null);
        var replies = SwaksClient.Parse(first.Raw);
        var replies2 = SwaksClient.Parse(second.Raw);
        var endOfData = replies.LastOrDefault(r => r.Command == ".");
        var firstRefusal = replies.FirstOrDefault(r => r.Code >= 400);
        switch (action)
        {
            case "accept":
                Assert.Equal(250, endOfData?.Code);
                Assert.Equal(2, mtaSink.Dumps().Count(d => d.Message.Length > 0));
                MtaExpect.QueueEmpty(mta, "accept delivers before the reply");
                break;
            case "reject":
                Assert.NotNull(firstRefusal);
                // A milter that fails at CONNECT makes the greeting "554 <host> ESMTP not accepting connections" (as Postfix);
                // one that fails at end of message gets 550 5.5.0 there.
                Assert.Matches(failure == "hang-at-eom" ? @"^\S+\s+550 5\.5\.0 " : @"^\S+\s+554 \S+ ESMTP not accepting connections", firstRefusal!.Text);
                Assert.DoesNotContain(mtaSink.Dumps(), d => d.Message.Length > 0);
                break;
            case "tempfail":
                Assert.NotNull(firstRefusal);
                Assert.Matches(@"^\S+\s+451 4\.7\.1 ", firstRefusal!.Text);
                Assert.DoesNotContain(mtaSink.Dumps(), d => d.Message.Length > 0);
                break;
            case "quarantine":
                Assert.Equal(250, endOfData?.Code);
                Assert.DoesNotContain(mtaSink.Dumps(), d => d.Message.Length > 0);
                var list = await mta.QueueCommandAsync("list");
                s.Note("--- mta queue list\n" + list.Output);
                Assert.Equal(0, list.ExitCode);
                Assert.Equal(2, list.Output.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[0-9A-Za-z]+!")));
                break;
            case "shutdown":
                Assert.NotNull(firstRefusal);
                Assert.Equal(421, firstRefusal!.Code);
                Assert.Same(firstRefusal, replies[^1]); // nothing after the 421: the MTA closed the connection
                Assert.DoesNotContain(mtaSink.Dumps(), d => d.Message.Length > 0);
                break;
        }
        // Nothing answered 250 is lost: every 250 to end of data is at the sink or held.
        var accepted = (endOfData?.Code == 250 ? 1 : 0) + (replies2.LastOrDefault(r => r.Command == ".")?.Code == 250 ? 1 : 0);
        var stored = mtaSink.Dumps().Count(d => d.Message.Length > 0);
        var held = (await mta.QueueCommandAsync("list")).Output.Split('\n').Count(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^[0-9A-Za-z]+[!*]?\s"));
        Assert.True(stored + held >= accepted, $"{accepted} message(s) got 250 but only {stored} reached the sink and {held} are queued");
        Assert.Equal(first.Replies, second.Replies);
        await Wait.ForGreetingAsync(mta.Port, TimeSpan.FromSeconds(10), "the MTA after both sessions", readyCodes: ReadyCodes);

        if (action == "shutdown")
        {
            s.Note("Postfix 3.7 has no milter_default_action = shutdown: comparison skipped");
            return;
        }
        var (pfEndpoint, _) = await StartBrokenAsync(s, failure, "milter-pf");
        var pfSink = await s.StartSinkAsync(name: "sink-pf");
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + pfSink.NextHop },
            ReadyGreetingCodes = ReadyCodes,
            ExtraMainCf = MilterDiff.PostfixMilterCf(pfEndpoint, action,
                "milter_command_timeout = 2s", "milter_content_timeout = 2s", "milter_connect_timeout = 2s"),
        });
        var p = await MilterDiff.ThroughPostfixAsync(s, mc, postfix, pfSink, null);
        s.Note($"Postfix: replies\n{p.Replies}\nheld={p.Held}\nours: replies\n{first.Replies}\nheld={first.Held}");
        Assert.True(p.Replies == first.Replies, "replies differ from Postfix 3.7:\n" + MilterDiff.LineDiff(p.Replies, first.Replies));
        Assert.Equal(p.Held, first.Held);
        Assert.Equal(p.Delivered.Length > 0, first.Delivered.Length > 0);
    }, timeoutSeconds: 150);
}
