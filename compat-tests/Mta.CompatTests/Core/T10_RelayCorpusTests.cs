// T10 RelayCorpus (a): real corpus messages (plain, CJK 8-bit GB2312, ISO-2022-JP, MIME, CRLF file)
// sent by swaks through our MTA to smtp-sink arrive byte for byte as the client sent them, with
// only our Received: field added in front; the client gets 250 at end of data.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Transparency of relaying.</summary>
public sealed class T10_RelayCorpusTests(ITestOutputHelper output)
{
    public static TheoryData<string> CorpusMessages => new()
    {
        "ham-001.eml", "ham-cjk_gb2312.2.eml", "ham-cjk_iso-2022-jp.2.eml", "ham-mime2.eml", "ham-mime3.eml", "ham-crlf-endings.eml",
    };

    [Theory]
    [MemberData(nameof(CorpusMessages))]
    public Task Corpus_message_reaches_smtp_sink_unchanged_but_for_our_Received(string message) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = message });

        Assert.Equal(0, swaks.ExitCode);
        Assert.Equal(250, swaks.EndOfData.Code);
        var dump = Assert.Single(sink.Dumps());
        Assert.Equal(["bob@relay.test"], dump.Recipients);
        Assert.StartsWith("<sender@client.test>", dump.MailArgs);
        MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks(message), dump.Message);
        MtaExpect.QueueEmpty(mta, "a message delivered before the reply must not be queued");
    });
}
