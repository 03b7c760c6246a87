// T18 StartTls (i): with smtpd_tls_security_level = may and no certificate configured, our MTA offers
// STARTTLS with a self-signed certificate it generates; swaks -tls (which fails when STARTTLS is not
// offered or the handshake fails) completes the transaction inside TLS and the message arrives.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>STARTTLS on the listener.</summary>
public sealed class T18_StartTlsTests(ITestOutputHelper output)
{
    [Fact]
    public Task Swaks_with_tls_delivers_through_starttls() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["bob@relay.test"], CorpusMessage = "ham-001.eml", StartTls = true });

        Assert.Equal(0, swaks.ExitCode);
        Assert.True(swaks.TlsStarted, "swaks did not report '=== TLS started'");
        Assert.Contains(swaks.Replies, r => r.Command == "STARTTLS" && r.Code == 220);
        Assert.Equal(250, swaks.EndOfData.Code);
        var dump = Assert.Single(sink.Dumps());
        MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks("ham-001.eml"), dump.Message);
    });
}
