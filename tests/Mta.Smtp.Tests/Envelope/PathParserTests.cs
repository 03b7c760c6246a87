// Tests for PathParser: RFC 5321 4.1.2 paths, 4.1.3 address literals, 4.5.1 postmaster, 4.5.3.1 limits,
// RFC 6531 UTF-8 mailboxes. Each vector asserts the exact split or the exact reason.
using Mta.Smtp.Envelope;

namespace Mta.Smtp.Tests.Envelope;

public class PathParserTests
{
    public static TheoryData<string, bool, bool, string, string> Valid => new()
    {
        { "<user@example.com>", false, false, "user", "example.com" },
        { "user@example.com", false, false, "user", "example.com" },
        { "  <user@example.com>\t", false, true, "user", "example.com" },
        { "<User.Name+tag@Sub.Example.COM>", false, false, "User.Name+tag", "Sub.Example.COM" },
        { "<\"a b\\\"c\"@example.com>", false, false, "\"a b\\\"c\"", "example.com" },
        { "<\"\"@example.com>", false, false, "\"\"", "example.com" },
        // Not strict: dots where RFC 5321 allows none are accepted, as Postfix does.
        { "<a..b@example.com>", false, false, "a..b", "example.com" },
        { "<.a.@example.com>", false, false, ".a.", "example.com" },
        { "<@a.example,@b.example:user@c.example>", false, false, "user", "c.example" },
        { "<user@[192.0.2.255]>", false, false, "user", "[192.0.2.255]" },
        { "<user@[0.0.0.0]>", false, false, "user", "[0.0.0.0]" },
        { "<user@[IPv6:::1]>", false, false, "user", "[IPv6:::1]" },
        { "<user@[IPv6:2001:DB8:0:0:0:0:0:1]>", false, false, "user", "[IPv6:2001:DB8:0:0:0:0:0:1]" },
        { "<user@[my-tag:any~thing]>", false, false, "user", "[my-tag:any~thing]" },
        { "<postmaster>", false, false, "postmaster", "" },
        { "<PostMaster>", false, true, "PostMaster", "" },
        { "<user@localhost>", false, false, "user", "localhost" },
        { "<1@2.3>", false, false, "1", "2.3" },
        { "<δοκιμή@παράδειγμα.δοκιμή>", true, false, "δοκιμή", "παράδειγμα.δοκιμή" },
        { "<\"δ x\"@example.com>", true, false, "\"δ x\"", "example.com" },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Accepts(string text, bool allowUtf8, bool strict, string local, string domain)
    {
        Assert.True(PathParser.TryParse(text, allowUtf8, strict, out var path, out var error), error);
        Assert.Null(error);
        Assert.Equal(local, path.LocalPart);
        Assert.Equal(domain, path.Domain);
    }

    [Fact]
    public void Null_path()
    {
        Assert.True(PathParser.TryParse("<>", false, true, out var path, out _));
        Assert.Same(SmtpPath.Null, path);
    }

    public static TheoryData<string, bool, bool, string> Invalid => new()
    {
        { "", false, false, "empty address" },
        { "<", false, false, "missing closing '>'" },
        { "<a@b.example", false, false, "missing closing '>'" },
        { "a@b.example", false, true, "angle brackets required" },
        { "<a>", false, false, "missing domain" },
        { "<a@>", false, false, "missing domain" },
        { "<\"postmaster\">", false, false, "missing domain" },
        { "<a..b@c>", false, true, "bad local part" },
        { "<.a@c>", false, true, "bad local part" },
        { "<\"a\"b@c>", false, false, "bad local part" },
        { "<\"a@c>", false, false, "bad quoted local part" },
        { "<\"a\\\u00e9\"@c>", true, false, "bad quoted local part" }, // quoted-pair is ASCII only
        { "<δ@example.com>", false, false, "bad local part" },
        { "<\"δ\"@example.com>", false, false, "bad quoted local part" },
        { "<a@παράδειγμα.example>", false, false, "bad domain" },
        { "<a@b.example.>", false, false, "bad domain" },
        { "<a@" + new string('x', 64) + ".example>", false, false, "bad domain" },
        { "<a@[300.1.1.1]>", false, false, "bad address literal" },
        { "<a@[1.1.1.1>", false, false, "bad address literal" },
        { "<a@[IPv6:::1%1]>", false, false, "bad address literal" },
        { "<a@[IPv6:12345::]>", false, false, "bad address literal" },
        { "<a@[tag:b c]>", false, false, "bad address literal" },
        { "<@a.example:>", false, false, "missing mailbox after source route" },
        { "<@a.example>", false, false, "bad source route" },
        { "<@a..example:u@b>", false, false, "bad source route" },
        { "<@a.example,b.example:u@c>", false, false, "bad source route" },
        { "<" + new string('l', 65) + "@x>", false, false, "local part longer than 64 octets" },
        { "<\"" + new string('l', 63) + "\"@x>", false, false, "local part longer than 64 octets" },
        { "<a@" + string.Join('.', Enumerable.Repeat(new string('d', 63), 4)) + ">", false, false, "path longer than 256 octets" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Rejects(string text, bool allowUtf8, bool strict, string reason)
    {
        Assert.False(PathParser.TryParse(text, allowUtf8, strict, out var path, out var error));
        Assert.Equal(reason, error);
        Assert.Same(SmtpPath.Null, path);
    }

    [Fact]
    public void Rejects_lone_surrogate()
    {
        // A Fact, not a theory row: xunit's serializer would turn the lone surrogate into U+FFFD.
        Assert.False(PathParser.TryParse("<a\ud800@b.example>", true, false, out _, out var error));
        Assert.Equal("invalid UTF-16 (lone surrogate)", error);
    }

    [Fact]
    public void Local_part_of_exactly_64_octets_is_accepted()
    {
        Assert.True(PathParser.TryParse("<" + new string('l', 64) + "@x>", false, false, out var p, out _));
        Assert.Equal(64, p.LocalPart.Length);
    }

    [Fact]
    public void Label_of_63_octets_is_accepted()
    {
        var label = new string('x', 63);
        Assert.True(PathParser.TryParse($"<a@{label}.example>", false, false, out var p, out _));
        Assert.Equal(label + ".example", p.Domain);
    }
}
