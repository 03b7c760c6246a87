// T01 PostfixRelayRig: proves the PostfixPeer and SmtpSinkPeer fixtures with Postfix alone (no MTA
// of ours involved): swaks -> private Postfix -> transport_maps smtp:[127.0.0.1]:PORT -> smtp-sink,
// swaks -> private Postfix -> virtual(8) Maildir, with an unknown user refused at RCPT, and swaks
// -tls (STARTTLS) -> Postfix, which also proves that SwaksClient parses a TLS transcript.
// If these fail, the rig (not the MTA) is broken.
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Rig;

/// <summary>Postfix as a relay and as a Maildir MX, driven by swaks.</summary>
public sealed class T01_PostfixRelayRig(ITestOutputHelper output)
{
    [Fact]
    public Task Swaks_to_postfix_relays_through_transport_maps_to_smtp_sink() => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var postfix = await s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["relay.test"] = "smtp:" + sink.NextHop },
        });

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = postfix.Port, To = ["bob@relay.test"], CorpusMessage = "ham-mime2.eml" });

        Assert.Equal(0, swaks.ExitCode);
        Assert.Equal(250, swaks.EndOfData.Code);
        var dump = Assert.Single(await sink.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30)));
        Assert.Equal(["bob@relay.test"], dump.Recipients);
        Assert.StartsWith("<sender@client.test>", dump.MailArgs);
        // Postfix prepends its Received header and (cleanup(8)) removes Return-Path; everything else is unchanged.
        var (received, rest) = Bytes.SplitFirstField(dump.Message);
        Assert.StartsWith("Received: from client.test", received);
        Assert.Contains("by mx.test (Postfix)", received);
        Assert.Equal(Corpus.WithoutHeader(Corpus.AsStoredAfterSwaks("ham-mime2.eml"), "Return-Path"), rest);
    });

    [Fact]
    public Task Swaks_to_postfix_delivers_into_virtual_maildir_and_refuses_unknown_user() => Scenario.RunAsync(output, async s =>
    {
        var postfix = await s.StartPostfixAsync(new PostfixOptions { MailboxUsers = ["alice@mx.test"] });

        var known = await s.SwaksAsync(new SwaksRequest { Port = postfix.Port, To = ["alice@mx.test"], CorpusMessage = "ham-001.eml" });
        var unknown = await s.SwaksAsync(new SwaksRequest { Port = postfix.Port, To = ["nobody@mx.test"] });

        Assert.Equal(250, known.EndOfData.Code);
        Assert.Equal(550, Assert.Single(unknown.Rcpt).Code);
        Assert.NotEqual(0, unknown.ExitCode);
        var message = Assert.Single(await Maildir.WaitForAsync(postfix.MaildirOf("alice@mx.test"), 1, TimeSpan.FromSeconds(30), "alice's Maildir"));
        // virtual(8) prepends Return-Path, X-Original-To and Delivered-To, smtpd its Received;
        // cleanup(8) drops the message's own Return-Path.
        var (returnPath, originalTo, deliveredTo, received, rest) = PostfixPeer.SplitDelivered(message);
        Assert.Equal("Return-Path: <sender@client.test>\n", returnPath);
        Assert.Equal("X-Original-To: alice@mx.test\n", originalTo);
        Assert.Equal("Delivered-To: alice@mx.test\n", deliveredTo);
        Assert.Contains("by mx.test (Postfix)", received);
        Assert.Equal(Corpus.WithoutHeader(Corpus.AsStoredAfterSwaks("ham-001.eml"), "Return-Path"), rest);
    });

    [Fact]
    public Task Swaks_starttls_to_postfix_is_parsed_as_tls_transaction() => Scenario.RunAsync(output, async s =>
    {
        var postfix = await s.StartPostfixAsync(new PostfixOptions { MailboxUsers = ["alice@mx.test"], StartTls = true });

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = postfix.Port, To = ["alice@mx.test"], CorpusMessage = "ham-001.eml", StartTls = true });

        Assert.Equal(0, swaks.ExitCode);
        Assert.True(swaks.TlsStarted);
        Assert.Contains(swaks.Replies, r => r.Command == "STARTTLS" && r.Code == 220);
        Assert.Equal(["GREETING", "EHLO", "STARTTLS", "EHLO", "MAIL", "RCPT", "DATA", ".", "QUIT"], swaks.Replies.Select(r => r.Command));
        Assert.Equal(250, swaks.EndOfData.Code);
        var message = Assert.Single(await Maildir.WaitForAsync(postfix.MaildirOf("alice@mx.test"), 1, TimeSpan.FromSeconds(30), "alice's Maildir"));
        Assert.Contains("with ESMTPS", PostfixPeer.SplitDelivered(message).Received);
    });
}
