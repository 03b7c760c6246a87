// T17 SmtpSourceLoad (h): smtp-source sends 20 messages over 5 parallel sessions, several
// transactions per connection (-d), each to its own recipient (-N), through our MTA routed by
// relayhost = [127.0.0.1]:PORT (not transport_maps) to smtp-sink. smtp-source exits 0 only when
// every reply was positive; all 20 arrive exactly once, each byte-identical but for our Received.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Several sessions and transactions per session.</summary>
public sealed class T17_SmtpSourceLoadTests(ITestOutputHelper output)
{
    [Fact]
    public Task Smtp_source_20_messages_over_5_sessions_all_arrive_once() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var mta = await s.StartMtaAsync(c => c.Set("relayhost", sink.NextHop).Set("relay_domains", "relay.test"));

        var result = await s.SmtpSourceAsync(new SmtpSourceRequest
        {
            Port = mta.Port, Messages = 20, Sessions = 5, To = "rcpt@relay.test", CorpusMessage = "ham-002.eml",
        });

        Assert.Equal(0, result.ExitCode);
        var dumps = await sink.WaitForMessagesAsync(20, TimeSpan.FromSeconds(30));
        Assert.Equal(20, dumps.Count);
        Assert.Equal(Enumerable.Range(1, 20).Select(i => $"{i}rcpt@relay.test").Order(), dumps.SelectMany(d => d.Recipients).Order());
        Assert.All(dumps, d => MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSmtpSource("ham-002.eml"), d.Message));
        MtaExpect.QueueEmpty(mta, "every message was delivered before its reply");
    });
}
