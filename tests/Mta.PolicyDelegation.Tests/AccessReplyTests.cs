// AccessReplyBuilder: Postfix reply wording per restriction class, default codes and texts, enhanced status
// rewrite (smtpd_dsn_fix), class digit forcing, soft_bounce, truncation, printable, fallback.
namespace Mta.PolicyDelegation.Tests;

public class AccessReplyTests
{
    private static readonly PolicyCheckContext Rcpt = PolicyCheckContext.ForRecipient("bob@example.net");
    private static readonly PolicyCheckContext Sender = PolicyCheckContext.ForSender("alice@example.org", PolicyProtocolState.Rcpt);

    private static string Line(string action, PolicyCheckContext ctx, AccessReplyOptions? o = null) =>
        AccessReplyBuilder.Build(AccessActionParser.Parse(action), ctx, o)!.Line;

    [Fact]
    public void Reject_Default() =>
        Assert.Equal("554 5.7.1 <bob@example.net>: Recipient address rejected: Access denied", Line("REJECT", Rcpt));

    [Fact]
    public void Reject_WithText() =>
        Assert.Equal("554 5.7.1 <bob@example.net>: Recipient address rejected: go away", Line("reject go away", Rcpt));

    [Fact]
    public void Defer_Default() =>
        Assert.Equal("450 4.7.1 <bob@example.net>: Recipient address rejected: Access denied", Line("DEFER", Rcpt));

    [Fact]
    public void DeferIfPermit_Postgrey() =>
        Assert.Equal("450 4.2.0 <bob@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.net.html",
            Line("DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/example.net.html", Rcpt));

    [Fact]
    public void DeferIfReject_DefaultText() =>
        Assert.Equal("450 4.7.1 <bob@example.net>: Recipient address rejected: Service unavailable", Line("DEFER_IF_REJECT", Rcpt));

    [Fact]
    public void ExplicitCode_PolicydSpfFail() =>
        Assert.Equal("550 5.7.23 <bob@example.net>: Recipient address rejected: Message rejected due to: SPF fail - not authorized",
            Line("550 5.7.23 Message rejected due to: SPF fail - not authorized", Rcpt));

    [Fact]
    public void DefaultPolicyAction_Wording()
    {
        var a = PolicyServiceSettings.Default.ParsedDefaultAction;
        Assert.Equal("451 4.3.5 <bob@example.net>: Recipient address rejected: Server configuration problem",
            AccessReplyBuilder.Build(a, Rcpt)!.Line);
    }

    [Theory]
    [InlineData(RestrictionClass.Client, "mail.example.org[192.0.2.10]", "Client host")]
    [InlineData(RestrictionClass.Helo, "mail.example.org", "Helo command")]
    [InlineData(RestrictionClass.Sender, "", "Sender address")]
    [InlineData(RestrictionClass.Recipient, "bob@example.net", "Recipient address")]
    [InlineData(RestrictionClass.Etrn, "example.org", "Etrn command")]
    [InlineData(RestrictionClass.Data, "DATA", "Data command")]
    [InlineData(RestrictionClass.EndOfData, "END-OF-MESSAGE", "End-of-data")]
    public void ClassWording(RestrictionClass cls, string name, string wording)
    {
        var ctx = new PolicyCheckContext(cls, name, PolicyProtocolState.Rcpt, true);
        Assert.Equal($"554 5.7.1 <{name}>: {wording} rejected: Access denied", Line("REJECT", ctx));
    }

    [Fact]
    public void Factories_UsePostfixNames()
    {
        Assert.Equal("DATA", PolicyCheckContext.ForData().ReplyName);
        Assert.Equal("END-OF-MESSAGE", PolicyCheckContext.ForEndOfData().ReplyName);
        Assert.Equal("mail.example.org[192.0.2.10]", PolicyCheckContext.ClientNameAddress("mail.example.org", "192.0.2.10"));
        Assert.Equal("unknown[2001:db8::1]:4711", PolicyCheckContext.ClientNameAddress("unknown", "2001:db8::1", "4711"));
    }

    [Theory]
    [InlineData("REJECT 5.1.1 no such user", RestrictionClass.Recipient, "554 5.1.1")]
    [InlineData("REJECT 5.1.1 no such user", RestrictionClass.Sender, "554 5.1.7")]
    [InlineData("REJECT 5.1.2 bad domain", RestrictionClass.Sender, "554 5.1.8")]
    [InlineData("REJECT 5.1.8 bad domain", RestrictionClass.Recipient, "554 5.1.2")]
    [InlineData("REJECT 5.1.7 bad syntax", RestrictionClass.Recipient, "554 5.1.3")]
    [InlineData("REJECT 5.1.5 x", RestrictionClass.Sender, "554 5.1.0")]
    [InlineData("REJECT 5.1.9 x", RestrictionClass.Recipient, "554 5.1.0")]
    [InlineData("REJECT 5.1.1 x", RestrictionClass.Helo, "554 5.0.0")]
    [InlineData("REJECT 5.1.1 x", RestrictionClass.Client, "554 5.0.0")]
    [InlineData("REJECT 5.7.1 x", RestrictionClass.Helo, "554 5.7.1")]
    [InlineData("REJECT 4.7.1 x", RestrictionClass.Recipient, "554 5.7.1")] // class digit follows the code
    [InlineData("REJECT 2.0.0 x", RestrictionClass.Recipient, "554 5.0.0")]
    [InlineData("DEFER 5.7.1 x", RestrictionClass.Recipient, "450 4.7.1")]
    [InlineData("450 5.1.1 x", RestrictionClass.Sender, "450 4.1.7")]
    [InlineData("REJECT 5.1 not a status", RestrictionClass.Recipient, "554 5.7.1")]
    public void EnhancedStatusRewrite(string action, RestrictionClass cls, string expectedStart)
    {
        var ctx = new PolicyCheckContext(cls, "x", PolicyProtocolState.Rcpt, true);
        Assert.StartsWith(expectedStart + " ", Line(action, ctx));
    }

    [Fact]
    public void SenderReject_RecipientStatusMapped_EndToEnd() =>
        Assert.Equal("554 5.1.7 <alice@example.org>: Sender address rejected: unknown", Line("REJECT 5.1.1 unknown", Sender));

    [Theory]
    [InlineData("421 4.7.0 shutting down", true)]
    [InlineData("521 5.7.0 go away", true)]
    [InlineData("450 later", false)]
    public void Disconnect_421_521(string action, bool disconnect)
    {
        var r = AccessReplyBuilder.Build(AccessActionParser.Parse(action), Rcpt)!;
        Assert.Equal(disconnect, r.Disconnect);
    }

    [Fact]
    public void SoftBounce_Turns5xxInto4xx()
    {
        var o = new AccessReplyOptions { SoftBounce = true };
        Assert.Equal("454 4.7.1 <bob@example.net>: Recipient address rejected: Access denied", Line("REJECT", Rcpt, o));
        var r = AccessReplyBuilder.Build(AccessActionParser.Parse("521 5.7.0 bye"), Rcpt, o)!;
        Assert.Equal(421, r.Code);
        Assert.True(r.Disconnect);
    }

    [Fact]
    public void MapCodes_AreConfigurable()
    {
        var o = new AccessReplyOptions { MapRejectCode = 550, MapDeferCode = 451 };
        Assert.StartsWith("550 5.7.1 ", Line("REJECT", Rcpt, o));
        Assert.StartsWith("451 4.7.1 ", Line("DEFER_IF_PERMIT", Rcpt, o));
    }

    [Fact]
    public void BadConfiguredCode_FallsBackToServiceUnavailable()
    {
        var o = new AccessReplyOptions { MapRejectCode = 250 };
        Assert.Equal("450 4.7.1 Service unavailable", Line("REJECT", Rcpt, o));
    }

    [Fact]
    public void LookupTable_IsServerConfigurationError() =>
        Assert.Equal("451 4.3.5 Server configuration error", Line("check_sender_access hash:/x", Rcpt));

    [Fact]
    public void Reply_IsTruncatedTo510Bytes()
    {
        var line = Line("REJECT " + new string('x', 1000), Rcpt);
        Assert.Equal(510, System.Text.Encoding.UTF8.GetByteCount(line));
    }

    [Fact]
    public void ControlCharacters_BecomeSpaces_Utf8Kept()
    {
        Assert.Equal("554 5.7.1 <bob@example.net>: Recipient address rejected: a b\u00e9c",
            Line("REJECT a\u0001b\u00e9c", Rcpt));
        Assert.Equal("554 5.7.1 <bob@example.net>: Recipient address rejected: a b  c",
            Line("REJECT a\u0001b\u00e9c", Rcpt, new AccessReplyOptions { Utf8Enabled = false }));
    }

    [Theory]
    [InlineData("OK")]
    [InlineData("DUNNO")]
    [InlineData("PREPEND X: y")]
    [InlineData("HOLD")]
    [InlineData("DISCARD")]
    [InlineData("permit")]
    public void NonReplyKinds_GiveNull(string action) =>
        Assert.Null(AccessReplyBuilder.Build(AccessActionParser.Parse(action), Rcpt));

    [Theory]
    [InlineData("5.7.1", 5)]
    [InlineData("4.123.456 x", 9)]
    [InlineData("2.0.0\tx", 5)]
    [InlineData("5.1234.1", 0)]
    [InlineData("3.0.0", 0)]
    [InlineData("5.7.1x", 0)]
    [InlineData("5.7", 0)]
    [InlineData("", 0)]
    public void EnhancedStatus_ValidLength(string text, int length) => Assert.Equal(length, EnhancedStatus.ValidLength(text));
}
