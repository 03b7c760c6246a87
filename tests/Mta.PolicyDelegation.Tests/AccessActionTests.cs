// AccessActionParser: every access(5) action, case-insensitivity, argument syntax, Postfix's ordering quirks.
namespace Mta.PolicyDelegation.Tests;

public class AccessActionTests
{
    [Theory]
    [InlineData("OK", AccessActionKind.Ok)]
    [InlineData("ok", AccessActionKind.Ok)]
    [InlineData("Ok trailing text ignored", AccessActionKind.Ok)]
    [InlineData("RELAY", AccessActionKind.Ok)]
    [InlineData("1234567890", AccessActionKind.Ok)]
    [InlineData("450", AccessActionKind.Ok)] // all-numeric comes before NNN (which needs text)
    [InlineData("DUNNO", AccessActionKind.Dunno)]
    [InlineData("dunno whatever", AccessActionKind.Dunno)]
    [InlineData("REJECT", AccessActionKind.Reject)]
    [InlineData("reject go away", AccessActionKind.Reject)]
    [InlineData("DEFER", AccessActionKind.Defer)]
    [InlineData("Defer later", AccessActionKind.Defer)]
    [InlineData("DEFER_IF_REJECT", AccessActionKind.DeferIfReject)]
    [InlineData("defer_if_permit Greylisted", AccessActionKind.DeferIfPermit)]
    [InlineData("450 4.2.0 Greylisted", AccessActionKind.Reply)]
    [InlineData("550 go away", AccessActionKind.Reply)]
    [InlineData("HOLD", AccessActionKind.Hold)]
    [InlineData("hold suspicious", AccessActionKind.Hold)]
    [InlineData("DISCARD", AccessActionKind.Discard)]
    [InlineData("discard spam", AccessActionKind.Discard)]
    [InlineData("FILTER smtp:[127.0.0.1]:10025", AccessActionKind.Filter)]
    [InlineData("REDIRECT abuse@example.org", AccessActionKind.Redirect)]
    [InlineData("bcc archive@example.org", AccessActionKind.Bcc)]
    [InlineData("PREPEND X-Test: yes", AccessActionKind.Prepend)]
    [InlineData("prepend Received-SPF: Pass (mailfrom) identity=mailfrom;", AccessActionKind.Prepend)]
    [InlineData("WARN look at this", AccessActionKind.Warn)]
    [InlineData("INFO note", AccessActionKind.Info)]
    [InlineData("HANGUP", AccessActionKind.Hangup)]
    [InlineData("permit", AccessActionKind.Restrictions)]
    [InlineData("reject_unauth_destination", AccessActionKind.Restrictions)]
    [InlineData("check_client_access hash:/etc/postfix/x", AccessActionKind.ServerError)]
    public void Kinds(string value, AccessActionKind kind)
    {
        var a = AccessActionParser.Parse(value);
        Assert.Equal(kind, a.Kind);
        Assert.Equal(value, a.Value);
    }

    [Fact]
    public void Keyword_MustBeWholeFirstWord()
    {
        Assert.Equal(AccessActionKind.Restrictions, AccessActionParser.Parse("REJECTED").Kind);
        Assert.Equal(AccessActionKind.Restrictions, AccessActionParser.Parse("OKAY").Kind);
    }

    [Fact]
    public void Reject_SplitsEnhancedStatus()
    {
        var a = AccessActionParser.Parse("REJECT 5.7.23 SPF fail");
        Assert.Equal("5.7.23", a.EnhancedStatus);
        Assert.Equal("SPF fail", a.Text);
        var b = AccessActionParser.Parse("REJECT   spaced   text");
        Assert.Equal("5.7.1", b.EnhancedStatus);
        Assert.Equal("spaced   text", b.Text);
    }

    [Fact]
    public void Reply_CodeAndDefaultStatusFollowFirstDigit()
    {
        var a = AccessActionParser.Parse("421 try later");
        Assert.Equal(421, a.Code);
        Assert.Equal("4.7.1", a.EnhancedStatus);
        var b = AccessActionParser.Parse("550 5.7.23 Message rejected due to: SPF fail");
        Assert.Equal(550, b.Code);
        Assert.Equal("5.7.23", b.EnhancedStatus);
        Assert.Equal("Message rejected due to: SPF fail", b.Text);
    }

    [Theory]
    [InlineData("250 ok")]     // not 4 or 5
    [InlineData("45x text")]
    [InlineData("4500 text")]
    public void NotAReplyCode_FallsThroughToRestrictions(string value)
    {
        Assert.Equal(AccessActionKind.Restrictions, AccessActionParser.Parse(value).Kind);
    }

    [Theory]
    [InlineData("FILTER")]
    [InlineData("FILTER nocolon")]
    [InlineData("REDIRECT")]
    [InlineData("REDIRECT user")]
    [InlineData("BCC")]
    [InlineData("PREPEND")]
    [InlineData("PREPEND no header here")]
    [InlineData("PREPEND : empty name")]
    [InlineData("PREPEND X-Bad\u0001: x")]
    [InlineData("PREPEND X-Na me: x")]
    public void BadSyntax_IsDunnoWithWarning(string value)
    {
        var a = AccessActionParser.Parse(value);
        Assert.Equal(AccessActionKind.Dunno, a.Kind);
        Assert.NotNull(a.Warning);
    }

    [Theory]
    [InlineData("X-Test: v", true)]
    [InlineData("X-Test : v", true)] // obsolete syntax: space before colon
    [InlineData("X-Test:", true)]
    [InlineData("X-Test", false)]
    [InlineData(" X-Test: v", false)]
    [InlineData("X-T\u00e9st: v", false)]
    public void IsHeader(string text, bool expected) => Assert.Equal(expected, AccessActionParser.IsHeader(text));

    [Fact]
    public void EmptyValue_IsOkWithWarning()
    {
        var a = AccessActionParser.Parse("");
        Assert.Equal(AccessActionKind.Ok, a.Kind);
        Assert.NotNull(a.Warning);
    }

    [Fact]
    public void Restrictions_AreSplitLikePostfix()
    {
        var a = AccessActionParser.Parse("permit_mynetworks, reject_unauth_destination {x y}, reject");
        Assert.Equal(["permit_mynetworks", "reject_unauth_destination", "{x y}", "reject"], a.Restrictions);
    }

    [Fact]
    public void PrependText_IsTheHeader()
    {
        var a = AccessActionParser.Parse("PREPEND   X-Greylist: delayed 61 seconds");
        Assert.Equal("X-Greylist: delayed 61 seconds", a.Text);
    }

    [Fact]
    public void Ignored_InContext()
    {
        var filter = AccessActionParser.Parse("FILTER smtp:x");
        Assert.Null(filter.IgnoredBecause(PolicyCheckContext.ForRecipient("a@b")));
        Assert.NotNull(filter.IgnoredBecause(PolicyCheckContext.ForRecipient("a@b"), proxyFilterInUse: true));
        Assert.NotNull(filter.IgnoredBecause(PolicyCheckContext.ForEtrn("example.org")));
        Assert.NotNull(filter.IgnoredBecause(PolicyCheckContext.ForClient("x[1.2.3.4]", PolicyProtocolState.Connect, false)));
        var prepend = AccessActionParser.Parse("PREPEND X: y");
        Assert.Null(prepend.IgnoredBecause(PolicyCheckContext.ForData()));
        Assert.NotNull(prepend.IgnoredBecause(PolicyCheckContext.ForEndOfData()));
    }

    [Fact]
    public void DescribeForLog_UsesPostfixShapes()
    {
        var ctx = PolicyCheckContext.ForRecipient("bob@example.net");
        Assert.Equal("<bob@example.net>: Recipient address triggers FILTER smtp:[127.0.0.1]:10025",
            AccessActionParser.Parse("FILTER smtp:[127.0.0.1]:10025").DescribeForLog(ctx));
        Assert.Equal("<bob@example.net>: Recipient address triggers HOLD action",
            AccessActionParser.Parse("HOLD").DescribeForLog(ctx));
        Assert.Equal("<bob@example.net>: Recipient address spam",
            AccessActionParser.Parse("DISCARD spam").DescribeForLog(ctx));
    }
}
