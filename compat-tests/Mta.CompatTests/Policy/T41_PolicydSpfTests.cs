// T41 policyd-spf: the real policyd-spf spawned per connection through our spawn: endpoint, inside a network
// namespace whose resolver is an nsd serving SPF records for the test domains. A sender domain whose SPF
// fails for 127.0.0.1 gets policyd-spf's 550 5.7.23 at RCPT; a passing one is delivered with Received-SPF:
// prepended. Differential: Postfix with the same policyd-spf (through a spawn bridge, see PolicyPeers.cs)
// gives the same replies and the same header.
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Policy;

/// <summary>SPF checks with policyd-spf, ours and Postfix.</summary>
public sealed class T41_PolicydSpfTests(ITestOutputHelper output)
{
    [Fact]
    public Task Fail_is_rejected_and_pass_gets_Received_SPF_like_Postfix() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var dns = s.Own(await SpfDnsPeer.StartAsync(s.Dir, "dns"));
        var spawn = $"check_policy_service {{ spawn:{string.Join(' ', dns.PolicydSpfArgv)}, timeout=30s }}";
        var mta = await PolicyRig.StartMtaAsync(s, sink, ("smtpd_recipient_restrictions", $"reject_unauth_destination, {spawn}"));
        var bridge = s.Own(SpawnBridge.Start(s.Dir, "bridge", dns.PolicydSpfArgv));
        var postfix = await PolicyRig.StartPostfixAsync(s, sink,
            $"smtpd_recipient_restrictions = reject_unauth_destination, check_policy_service unix:{bridge.SocketPath}",
            "smtpd_policy_service_timeout = 30s");

        var fail = await PolicyRig.SendAsync(s, mta.Port, "someone@fail.spf.test");
        var failPostfix = await PolicyRig.SendAsync(s, postfix.Port, "someone@fail.spf.test");
        const string rejected = "550 5.7.23 <rcpt@dest.test>: Recipient address rejected: Message rejected due to: SPF fail - not authorized. "
            + "Please see http://www.openspf.net/Why?s=mfrom;id=someone@fail.spf.test;ip=127.0.0.1;r=dest.test";
        Assert.Equal(rejected, PolicyRig.RcptLine(fail));
        Assert.Equal(rejected, PolicyRig.RcptLine(failPostfix));

        var pass = await PolicyRig.SendAsync(s, mta.Port, "ours@pass.spf.test");
        var passPostfix = await PolicyRig.SendAsync(s, postfix.Port, "theirs@pass.spf.test");
        Assert.Equal(250, pass.EndOfData.Code);
        Assert.Equal(250, passPostfix.EndOfData.Code);
        var headers = PolicyRig.Headers(await PolicyRig.DeliveredFromAsync(sink, "ours@pass.spf.test"));
        var headersPostfix = PolicyRig.Headers(await PolicyRig.DeliveredFromAsync(sink, "theirs@pass.spf.test"));
        Assert.Equal("Received-SPF: Pass (mailfrom) identity=mailfrom; client-ip=127.0.0.1; helo=client.test; envelope-from=ours@pass.spf.test; receiver=dest.test ",
            headers[0]);
        Assert.Equal(headers[0].Replace("ours@", "theirs@"), headersPostfix[0]);
        Assert.StartsWith("Received: ", headers[1]);
        Assert.StartsWith("Received: ", headersPostfix[1]);
    }, timeoutSeconds: 180);
}
