// T40 postgrey: the real postgrey behind check_policy_service in smtpd_recipient_restrictions. The first
// attempt is greylisted (450 4.2.0 with postgrey's text: DEFER_IF_PERMIT, and 4.2.0 because we send
// etrn_domain), a retry after --delay is accepted and the delivered message has postgrey's X-Greylist:
// header prepended above our Received:. Differential: Postfix with the same postgrey gives the same reply
// text and the same header at the same place.
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Policy;

/// <summary>Greylisting with postgrey, ours and Postfix.</summary>
public sealed class T40_PostgreyTests(ITestOutputHelper output)
{
    [Fact]
    public Task Greylisted_first_then_accepted_with_X_Greylist_like_Postfix() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var postgrey = s.Own(await PostgreyPeer.StartAsync(s.Dir, "postgrey", delaySeconds: 2));
        var restriction = $"check_policy_service {postgrey.Service}";
        var mta = await PolicyRig.StartMtaAsync(s, sink, ("smtpd_recipient_restrictions", restriction));
        var postfix = await PolicyRig.StartPostfixAsync(s, sink, $"smtpd_recipient_restrictions = {restriction}");

        // Different senders: postgrey's triplet is (client /24, sender, recipient) and both MTAs connect from 127.0.0.1.
        const string ours = "ours@sender.test", theirs = "postfix@sender.test";
        var first = await PolicyRig.SendAsync(s, mta.Port, ours);
        var firstPostfix = await PolicyRig.SendAsync(s, postfix.Port, theirs);
        const string greylisted = "450 4.2.0 <rcpt@dest.test>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/dest.test.html";
        Assert.Equal(greylisted, PolicyRig.RcptLine(first));
        Assert.Equal(greylisted, PolicyRig.RcptLine(firstPostfix));
        Assert.Empty(sink.Dumps());

        await Task.Delay(TimeSpan.FromSeconds(3)); // past --delay=2
        var retry = await PolicyRig.SendAsync(s, mta.Port, ours);
        var retryPostfix = await PolicyRig.SendAsync(s, postfix.Port, theirs);
        Assert.Equal(250, Assert.Single(retry.Rcpt).Code);
        Assert.Equal(250, retry.EndOfData.Code);
        Assert.Equal(250, retryPostfix.EndOfData.Code);

        var headers = PolicyRig.Headers(await PolicyRig.DeliveredFromAsync(sink, ours));
        var headersPostfix = PolicyRig.Headers(await PolicyRig.DeliveredFromAsync(sink, theirs));
        const string greylistPattern = @"^X-Greylist: delayed [0-9]+ seconds by postgrey-[0-9.]+ at policy\.test; .+$";
        Assert.Matches(greylistPattern, headers[0]);
        Assert.Matches(greylistPattern, headersPostfix[0]);
        Assert.StartsWith("Received: ", headers[1]);
        Assert.StartsWith("Received: ", headersPostfix[1]);
        Assert.Single(headers, h => h.StartsWith("X-Greylist:", StringComparison.Ordinal));
        Assert.Single(headersPostfix, h => h.StartsWith("X-Greylist:", StringComparison.Ordinal));
    }, timeoutSeconds: 180);
}
