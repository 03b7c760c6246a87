// T51 differential: the same GTUBE message through a private Postfix (smtpd_proxy_filter to its own
// spampd, re-injection smtpd in master.cf, relay to smtp-sink) and through our MTA (the same setup with a
// smtpd_listen group): the reply codes at RCPT and end of data are the same, and both downstream copies
// carry SpamAssassin's tags (X-Spam-Flag: YES, GTUBE). With the filter down both answer the same
// 451 4.3.0 at the same stage. One spampd per MTA, since spampd has one fixed relay host.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Proxy;

/// <summary>Postfix and our MTA behind the same before-queue filter.</summary>
public sealed class T51_SpampdProxyDifferentialTests(ITestOutputHelper output)
{
    private static async Task<PostfixPeer> StartPostfixAsync(Scenario s, string filter, int reinject, bool speedAdjust, SmtpSinkPeer sink) =>
        await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + sink.NextHop },
            SmtpdServiceOptions = speedAdjust
                ? [$"smtpd_proxy_filter={filter}", "smtpd_proxy_options=speed_adjust", "smtpd_proxy_timeout=30s"]
                : [$"smtpd_proxy_filter={filter}", "smtpd_proxy_timeout=30s"],
            ExtraMasterCf =
            [
                $"127.0.0.1:{reinject} inet n - n - - smtpd",
                "  -o smtpd_proxy_filter=",
                "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8",
            ],
        });

    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public Task Same_replies_and_same_tags_as_postfix(bool speedAdjust, bool filterUp) => Scenario.RunAsync(output, async s =>
    {
        var postfixSink = await s.StartSinkAsync(name: "postfix-sink");
        var mtaSink = await s.StartSinkAsync(name: "mta-sink");
        int postfixReinject = PortAllocator.Next(), mtaReinject = PortAllocator.Next();
        var postfixSpampd = s.Own(await SpampdPeer.StartAsync(s.Dir, "spampd-postfix", postfixReinject));
        var mtaSpampd = s.Own(await SpampdPeer.StartAsync(s.Dir, "spampd-mta", mtaReinject));
        if (!filterUp)
        {
            await postfixSpampd.StopAsync();
            await mtaSpampd.StopAsync();
        }
        var postfix = await StartPostfixAsync(s, postfixSpampd.Filter, postfixReinject, speedAdjust, postfixSink);
        var mta = await s.StartMtaAsync(c => T50_SpampdProxyTests.ProxyConfig(c, mtaReinject, mtaSpampd.Filter, speedAdjust, mtaSink.NextHop));

        var viaPostfix = await s.SwaksAsync(new SwaksRequest { Port = postfix.Port, To = ["bob@relay.test"], CorpusMessage = "spam-gtube.eml" });
        var viaMta = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "spam-gtube.eml" });

        static string Codes(SwaksResult r) => string.Join(" ", r.Replies.Where(x => x.Command is "MAIL" or "RCPT" or "DATA" or ".")
            .Select(x => $"{x.Command}={x.Code}{(x.Code >= 400 ? " " + System.Text.RegularExpressions.Regex.Match(x.Text, @"\b[45]\.\d{1,3}\.\d{1,3}\b").Value : "")}"));
        s.Note($"postfix: {Codes(viaPostfix)}");
        s.Note($"mta:     {Codes(viaMta)}");
        Assert.Equal(Codes(viaPostfix), Codes(viaMta));

        if (filterUp)
        {
            Assert.Equal(250, viaMta.EndOfData.Code);
            var fromPostfix = (await postfixSink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30))).Single().Message;
            var fromMta = mtaSink.Dumps().Single().Message;   // pre-queue: already there at our 250
            foreach (var (who, m) in new[] { ("postfix", fromPostfix), ("mta", fromMta) })
            {
                var header = m[..m.IndexOf("\n\n", StringComparison.Ordinal)];
                Assert.True(header.Contains("X-Spam-Flag: YES", StringComparison.Ordinal), $"{who}: no X-Spam-Flag: YES\n{header}");
                Assert.True(header.Contains("GTUBE", StringComparison.Ordinal), $"{who}: GTUBE not in X-Spam-Status\n{header}");
            }
        }
        else
        {
            Assert.Equal(451, (speedAdjust ? viaMta.EndOfData : viaMta.Rcpt.Single()).Code);
            Assert.Empty(mtaSink.Dumps());
            await Task.Delay(2000);   // Postfix would have delivered by now if it had accepted anything
            Assert.Empty(postfixSink.Dumps());
        }
    }, timeoutSeconds: 240);
}
