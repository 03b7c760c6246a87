// Relay control with Postfix's default smtpd_relay_restrictions and the alternatives: never an open relay.
using System.Net;
using Mta.Configuration;
using Mta.Pipeline;
using Mta.Smtp.Envelope;

namespace Mta.Tests.Pipeline;

public class RelayPolicyTests
{
    private static RelayPolicy Policy(string relayRestrictions = "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", string recipientRestrictions = "")
    {
        var identity = new IdentityOptions { MyDestination = ["mx.test", "localhost"] };
        var smtpd = new SmtpdOptions
        {
            MyNetworks = ["127.0.0.0/8", "[::1]/128", "10.1.0.0/16"],
            RelayDomains = ["relay.test", ".sub.test"],
            RelayRestrictions = relayRestrictions.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            RecipientRestrictions = recipientRestrictions.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
        };
        return new RelayPolicy(smtpd, new LocalDomains(identity, smtpd));
    }

    /// <summary>The RCPT-time lists for a fresh session from <paramref name="client"/>: null accepts.</summary>
    private static async Task<Mta.Smtp.Protocol.SmtpReply?> CheckRecipient(RelayPolicy policy, IPAddress client, SmtpPath recipient)
    {
        var session = new Mta.Smtp.Server.SmtpSessionContext(new IPEndPoint(client, 0), null);
        return await policy.Engine.NewSession().RcptAsync(session, recipient, CancellationToken.None);
    }

    [Theory]
    [InlineData("127.0.0.1", "x@elsewhere.test", null)]
    [InlineData("10.1.2.3", "x@elsewhere.test", null)]
    [InlineData("::ffff:10.1.2.3", "x@elsewhere.test", null)]
    [InlineData("192.0.2.1", "x@elsewhere.test", "454 4.7.1 <x@elsewhere.test>: Relay access denied")]
    [InlineData("192.0.2.1", "x@MX.test", null)]
    [InlineData("192.0.2.1", "x@relay.test", null)]
    [InlineData("192.0.2.1", "x@a.sub.test", null)]
    [InlineData("192.0.2.1", "x@sub.test", "454 4.7.1 <x@sub.test>: Relay access denied")]
    [InlineData("2001:db8::1", "x@elsewhere.test", "454 4.7.1 <x@elsewhere.test>: Relay access denied")]
    public async Task Default_restrictions(string client, string rcpt, string? expected)
    {
        var at = rcpt.IndexOf('@');
        var reply = await CheckRecipient(Policy(), IPAddress.Parse(client), new SmtpPath(rcpt[..at], rcpt[(at + 1)..]));
        Assert.Equal(expected, reply?.ToString());
    }

    [Fact]
    public async Task Reject_unauth_destination_is_554()
    {
        var reply = await CheckRecipient(Policy("permit_mynetworks, reject_unauth_destination"), IPAddress.Parse("192.0.2.1"), new SmtpPath("x", "far.test"));
        Assert.Equal("554 5.7.1 <x@far.test>: Relay access denied", reply?.ToString());
    }

    [Fact]
    public async Task Recipient_restrictions_run_after_relay_restrictions()
    {
        var policy = Policy("permit_mynetworks, defer_unauth_destination", "reject");
        Assert.Equal(554, (await CheckRecipient(policy, IPAddress.Parse("192.0.2.1"), new SmtpPath("x", "mx.test")))?.Code);
    }

    [Fact]
    public void Unknown_restriction_is_a_start_error()
    {
        var e = Assert.Throws<FormatException>(() => Policy("permit_mynetworks, check_nonsense"));
        Assert.Contains("check_nonsense", e.Message);
    }
}
