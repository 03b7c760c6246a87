// T03 SmtpSourceRig: proves SmtpSourceClient and SmtpSinkPeer together: smtp-source sends 20
// messages over 5 parallel sessions (connections reused with -d, numbered recipients with -N) to
// smtp-sink, exits 0, and exactly 20 transactions with 20 distinct recipients are dumped, each
// holding the corpus message exactly as Corpus.AsStoredAfterSmtpSource predicts.
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Clients;
using Xunit.Abstractions;

namespace Mta.CompatTests.Rig;

/// <summary>smtp-source to smtp-sink.</summary>
public sealed class T03_SmtpSourceRig(ITestOutputHelper output)
{
    [Fact]
    public Task Smtp_source_20_messages_over_5_sessions_all_reach_smtp_sink() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();

        var result = await s.SmtpSourceAsync(new SmtpSourceRequest
        {
            Port = sink.Port, Messages = 20, Sessions = 5, To = "rcpt@relay.test", CorpusMessage = "ham-002.eml",
        });

        Assert.Equal(0, result.ExitCode);
        var dumps = await sink.WaitForMessagesAsync(20, TimeSpan.FromSeconds(30));
        Assert.Equal(20, dumps.Count);
        Assert.Equal(20, dumps.SelectMany(d => d.Recipients).Distinct().Count());
        Assert.All(dumps, d => Assert.Equal(Corpus.AsStoredAfterSmtpSource("ham-002.eml"), d.Message));
    });
}
