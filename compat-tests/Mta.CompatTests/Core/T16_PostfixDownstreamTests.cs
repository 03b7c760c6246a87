// T16 PostfixDownstream (g): a real Postfix as the next-hop MX (transport_maps smtp:[127.0.0.1]:PORT)
// accepts what our MTA sends and delivers it into alice's Maildir; apart from what Postfix itself
// adds (Return-Path, X-Original-To, Delivered-To, its Received) and removes (the message's own
// Return-Path, as in rig T01), the stored message is our Received: field plus the client's message.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Postfix as downstream MX.</summary>
public sealed class T16_PostfixDownstreamTests(ITestOutputHelper output)
{
    [Fact]
    public Task Postfix_as_next_hop_stores_the_message_in_its_maildir() => Scenario.RunAsync(output, async s =>
    {
        var postfix = await s.StartPostfixAsync(new PostfixOptions { MailboxUsers = ["alice@mx.test"] });
        var mta = await s.StartMtaAsync(c => c.Transports(("mx.test", "smtp:" + postfix.NextHop)));

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["alice@mx.test"], CorpusMessage = "ham-cjk_gb2312.2.eml" });

        Assert.Equal(250, swaks.EndOfData.Code);
        var stored = Assert.Single(await Maildir.WaitForAsync(postfix.MaildirOf("alice@mx.test"), 1, TimeSpan.FromSeconds(30), "alice's Maildir at Postfix"));
        var (returnPath, originalTo, deliveredTo, postfixReceived, rest) = PostfixPeer.SplitDelivered(stored);
        Assert.Equal("Return-Path: <sender@client.test>\n", returnPath);
        Assert.Equal("X-Original-To: alice@mx.test\n", originalTo);
        Assert.Equal("Delivered-To: alice@mx.test\n", deliveredTo);
        Assert.Contains("by mx.test (Postfix)", postfixReceived);
        MtaExpect.OurReceivedThen(Corpus.WithoutHeader(Corpus.AsStoredAfterSwaks("ham-cjk_gb2312.2.eml"), "Return-Path"), rest);
        MtaExpect.QueueEmpty(mta, "Postfix accepted before our reply");
    });
}
