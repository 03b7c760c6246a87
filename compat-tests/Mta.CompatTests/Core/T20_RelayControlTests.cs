// T20 RelayControl: who may relay where, decided at RCPT, compared with Postfix. The MTA listens on
// 127.0.0.2 (Linux answers on all of 127/8) with mynetworks = 127.0.0.1/32, relay_domains = relay.test;
// transport_maps routes both relay.test and elsewhere.test to one smtp-sink (a transport_maps entry
// does not authorize relaying, in Postfix neither). swaks connects from 127.0.0.3 (outside mynetworks)
// or from 127.0.0.1 (inside) with --local-interface. Expected, for both servers:
//   127.0.0.3 -> bob@elsewhere.test   default restrictions: 454 4.7.1 <bob@elsewhere.test>: Relay access denied
//                                      (Postfix's default smtpd_relay_restrictions ends in defer_unauth_destination)
//                                      "permit_mynetworks, reject_unauth_destination": 554 5.7.1, same text
//   127.0.0.3 -> carol@relay.test      250 at RCPT, the message reaches the sink
//   127.0.0.1 -> dave@elsewhere.test   250 at RCPT (mynetworks may relay anywhere), the message reaches the sink
// The differential: a private Postfix with the same inet_interfaces/mynetworks/relay_domains/
// transport_maps gets the same three sessions and must give the same RCPT codes, enhanced codes and
// texts (Postfix 3.7.11 texts are exactly the ones above). The refused recipient never reaches either sink.
using System.Text.RegularExpressions;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Relay access control against a client outside mynetworks, same answers as Postfix.</summary>
public sealed partial class T20_RelayControlTests(ITestOutputHelper output)
{
    private const string ServerAddress = "127.0.0.2";
    private const string Outsider = "127.0.0.3";
    private const string Insider = "127.0.0.1";
    private const string RejectRestrictions = "permit_mynetworks, reject_unauth_destination";

    /// <summary>One session: from where, to whom, and what the RCPT reply must be.</summary>
    private sealed record Attempt(string From, string To, int Code, string Enhanced, string? Text);

    [GeneratedRegex(@"^<(?:\*\*|-)\s+(\d{3})[ -](\d\.\d{1,3}\.\d{1,3}) (.*)$", RegexOptions.Multiline)]
    private static partial Regex ReplyParts();

    [Theory]
    [InlineData(false, 454, "4.7.1")]
    [InlineData(true, 554, "5.7.1")]
    public Task Client_outside_mynetworks_may_only_send_to_relay_domains_like_postfix(bool rejectUnauthDestination, int deniedCode,
        string deniedEnhanced) => Scenario.RunAsync(output, async s =>
    {
        Attempt[] attempts =
        [
            new(Outsider, "bob@elsewhere.test", deniedCode, deniedEnhanced, "<bob@elsewhere.test>: Relay access denied"),
            new(Outsider, "carol@relay.test", 250, "2.1.5", null),
            new(Insider, "dave@elsewhere.test", 250, "2.1.5", null),
        ];

        var mtaSink = await s.StartSinkAsync(name: "sink-mta");
        var postfixSink = await s.StartSinkAsync(name: "sink-postfix");
        var mta = await s.StartMtaAsync(c =>
        {
            c.Listen(ServerAddress)
                .Transports(("relay.test", "smtp:" + mtaSink.NextHop), ("elsewhere.test", "smtp:" + mtaSink.NextHop))
                .Set("relay_domains", "relay.test")
                .Set("mynetworks", "127.0.0.1/32");
            if (rejectUnauthDestination)
            {
                c.Set("smtpd_relay_restrictions", RejectRestrictions);
            }
        });
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            ListenAddress = ServerAddress,
            MyNetworks = "127.0.0.1/32",
            Transports = new Dictionary<string, string>
            {
                ["relay.test"] = "smtp:" + postfixSink.NextHop, ["elsewhere.test"] = "smtp:" + postfixSink.NextHop,
            },
            RelayDomains = ["relay.test"],
            ExtraMainCf = rejectUnauthDestination ? [$"smtpd_relay_restrictions = {RejectRestrictions}"] : [],
        });

        foreach (var (server, port, sink) in new[] { ("mta", mta.Port, mtaSink), ("postfix", postfix.Port, postfixSink) })
        {
            foreach (var a in attempts)
            {
                var swaks = await s.SwaksAsync(new SwaksRequest
                {
                    Server = ServerAddress, Port = port, LocalInterface = a.From, To = [a.To], CorpusMessage = "ham-001.eml",
                });
                var rcpt = Assert.Single(swaks.Rcpt);
                var parts = ReplyParts().Match(rcpt.Text);
                Assert.True(parts.Success, $"{server}: RCPT reply without enhanced status code: {rcpt.Text}");
                var what = $"{server}: RCPT TO:<{a.To}> from {a.From}";
                Assert.True(a.Code == rcpt.Code, $"{what}: expected {a.Code}, got: {rcpt.Text}");
                Assert.True(a.Enhanced == parts.Groups[2].Value, $"{what}: expected {a.Enhanced}, got: {rcpt.Text}");
                if (a.Text is not null)
                {
                    Assert.True(a.Text == parts.Groups[3].Value.TrimEnd(), $"{what}: expected text '{a.Text}', got: {rcpt.Text}");
                }
                if (a.Code == 250)
                {
                    Assert.Equal(250, swaks.EndOfData.Code);
                }
            }

            // Postfix delivers after its 250; our MTA before it. Both must deliver exactly the two allowed ones.
            var dumps = await sink.WaitForMessagesAsync(2, TimeSpan.FromSeconds(30));
            Assert.Equal(["carol@relay.test", "dave@elsewhere.test"], dumps.SelectMany(d => d.Recipients).Order(StringComparer.Ordinal));
            Assert.False(sink.ReceivedRcptTo("bob@elsewhere.test"), $"{server} relayed bob@elsewhere.test for a client outside mynetworks");
        }
        MtaExpect.QueueEmpty(mta, "every accepted message was delivered before the reply");
    });
}
