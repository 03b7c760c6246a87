// T50 spampd as smtpd_proxy_filter: our MTA's first listener relays each transaction to spampd
// (SpamAssassin), spampd re-injects into the MTA's second listener (a smtpd_listen group without the
// filter), which delivers to smtp-sink before it answers — so the client's 250 is spampd's relay of the
// second listener's "delivered as" reply. A GTUBE message arrives tagged; a ham arrives untagged; with
// spampd down the client gets 451 4.3.0 (at RCPT, or at end of data with speed_adjust) and nothing is
// delivered or queued. Both modes: default (filter contacted at the first accepted RCPT) and speed_adjust.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Core;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Proxy;

/// <summary>spampd between two listeners of our MTA.</summary>
public sealed class T50_SpampdProxyTests(ITestOutputHelper output)
{
    /// <summary>Listener 1 with smtpd_proxy_filter, listener 2 (re-injection) without it; relay.test goes to the sink.</summary>
    internal static void ProxyConfig(MtaConfig c, int reinjectPort, string filter, bool speedAdjust, string sinkHop)
    {
        c.Transports(("relay.test", "smtp:" + sinkHop));
        c.Set("smtpd_listen", $"127.0.0.1:{c.Port}, {{ 127.0.0.1:{reinjectPort}, smtpd_proxy_filter=, smtpd_proxy_options=, smtpd_authorized_xforward_hosts=127.0.0.0/8 }}");
        c.Set("smtpd_proxy_filter", filter);
        c.Set("smtpd_proxy_timeout", "30s");
        if (speedAdjust) c.Set("smtpd_proxy_options", "speed_adjust");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Gtube_arrives_tagged_and_ham_untagged(bool speedAdjust) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        int reinject = PortAllocator.Next();
        var spampd = s.Own(await SpampdPeer.StartAsync(s.Dir, "spampd", reinject));
        var mta = await s.StartMtaAsync(c => ProxyConfig(c, reinject, spampd.Filter, speedAdjust, sink.NextHop));

        var spam = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "spam-gtube.eml" });
        Assert.Equal(250, spam.EndOfData.Code);
        // spampd relays the second listener's reply: delivered downstream before anyone said 250.
        Assert.Contains("delivered as", spam.EndOfData.Text);
        var dumps = sink.Dumps();
        Assert.Single(dumps);
        Assert.Contains("X-Spam-Flag: YES", dumps[0].Message);
        Assert.Matches(@"X-Spam-Status: Yes, score=\d+", dumps[0].Message);
        Assert.Contains("GTUBE", dumps[0].Message[..dumps[0].Message.IndexOf("\n\n", StringComparison.Ordinal)]);

        var ham = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "ham-001.eml" });
        Assert.Equal(250, ham.EndOfData.Code);
        dumps = sink.Dumps();
        Assert.Equal(2, dumps.Count);
        var hamDump = dumps.Single(d => !d.Message.Contains("GTUBE-STANDARD", StringComparison.Ordinal));
        Assert.DoesNotContain("X-Spam-Flag: YES", hamDump.Message);
        MtaExpect.QueueEmpty(mta, "everything was delivered before the 250");
    }, timeoutSeconds: 180);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Spampd_down_gives_451_and_nothing_is_lost(bool speedAdjust) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        int reinject = PortAllocator.Next();
        var spampd = s.Own(await SpampdPeer.StartAsync(s.Dir, "spampd", reinject));
        await spampd.StopAsync();
        var mta = await s.StartMtaAsync(c => ProxyConfig(c, reinject, spampd.Filter, speedAdjust, sink.NextHop));

        var r = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "spam-gtube.eml" });
        var refusal = speedAdjust ? r.EndOfData : r.Rcpt.Single();
        Assert.Equal(451, refusal.Code);
        Assert.Contains("451 4.3.0 Error: queue file write error", refusal.Text);
        if (speedAdjust) Assert.Equal(250, r.Rcpt.Single().Code);
        Assert.DoesNotContain(r.Replies, x => x.Command == "." && x.Code == 250);
        Assert.Empty(sink.Dumps());
        Assert.DoesNotContain(sink.ReceivedCommands(), c => c.StartsWith("RCPT", StringComparison.OrdinalIgnoreCase));
        MtaExpect.QueueEmpty(mta, "a 451 leaves the message with the client");
        Assert.False(Directory.Exists(Path.Combine(mta.Config.DataDirectory, "mail")) && Directory.EnumerateFiles(Path.Combine(mta.Config.DataDirectory, "mail"), "*", SearchOption.AllDirectories).Any(),
            "nothing may be stored locally either");
    }, timeoutSeconds: 180);
}
