// Authentication-Results formatting (RFC 8601 2.2, 2.7.1) and removal of fields that claim our
// authserv-id (RFC 8601 5), on parsed header pairs and on raw message bytes.
using System.Text;

namespace Mta.Dkim.Tests;

public class AuthenticationResultsTests
{
    [Fact]
    public void Build_OneResinfoPerSignature()
    {
        var text = AuthenticationResults.Build("mx.example.net",
        [
            new DkimVerificationResult(DkimResult.Pass, "example.org", "sel1", "rsa-sha256", "@example.org", "abcdefgh", null),
            new DkimVerificationResult(DkimResult.Fail, "example.org", "sel2", "ed25519-sha256", "@example.org", "ab/d+f=h", "body hash did not verify"),
        ]);
        Assert.Equal(
            "Authentication-Results: mx.example.net;\r\n" +
            "\tdkim=pass header.d=example.org header.i=@example.org header.s=sel1\r\n" +
            "\theader.a=rsa-sha256 header.b=abcdefgh;\r\n" +
            "\tdkim=fail reason=\"body hash did not verify\" header.d=example.org\r\n" +
            "\theader.i=@example.org header.s=sel2 header.a=ed25519-sha256\r\n" +
            "\theader.b=\"ab/d+f=h\"\r\n",
            text);
    }

    [Fact]
    public void Build_NoSignatures_IsDkimNone() =>
        Assert.Equal("Authentication-Results: mx.example.net;\r\n\tdkim=none\r\n", AuthenticationResults.Build("mx.example.net", []));

    [Fact]
    public void Build_QuotesReasonsAndDropsNonAscii()
    {
        var text = AuthenticationResults.Build("mx", [new DkimVerificationResult(DkimResult.Neutral, null, null, null, null, null, "bad \"x\" \\ é")]);
        Assert.Equal("Authentication-Results: mx;\r\n\tdkim=neutral reason=\"bad \\\"x\\\" \\\\ ?\"\r\n", text);
    }

    [Fact]
    public void Build_RejectsLineBreaksInAuthservId() =>
        Assert.Throws<ArgumentException>(() => AuthenticationResults.Build("mx\r\nX-Evil: 1", []));

    [Theory]
    [InlineData(" mx.example.net; dkim=pass", true)]
    [InlineData(" MX.Example.NET; dkim=pass", true)]
    [InlineData(" (comment (nested)) mx.example.net 1; none", true)]
    [InlineData("\r\n\tmx.example.net;\r\n\tdkim=pass", true)]
    [InlineData(" \"mx.example.net\"; spf=pass", true)]
    [InlineData(" mx.example.net.evil; dkim=pass", false)]
    [InlineData(" other.example; dkim=pass header.d=mx.example.net", false)]
    [InlineData(" ;", false)]
    [InlineData("", false)]
    public void ClaimsAuthservId(string value, bool expected) =>
        Assert.Equal(expected, AuthenticationResults.ClaimsAuthservId(value, "mx.example.net"));

    [Fact]
    public void FindOurs_OnlyAuthenticationResultsFields()
    {
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Received", " mx.example.net; x"),
            new("authentication-results", " mx.example.net; dkim=pass"),
            new("Authentication-Results", " other; dkim=pass"),
            new("Authentication-Results", " Mx.Example.Net; spf=fail"),
        };
        Assert.Equal([1, 3], AuthenticationResults.FindOurs(headers, "mx.example.net"));
    }

    [Fact]
    public void RemoveOurs_OnBytes_KeepsEverythingElse()
    {
        const string message =
            "Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=forged.example\r\n" +
            "Received: by mx\r\n" +
            "Authentication-Results: upstream.example; dkim=fail\r\n" +
            "AUTHENTICATION-RESULTS : mx.example.net; spf=pass\r\n" +
            "From: a@example.org\r\n" +
            "\r\n" +
            "Authentication-Results: mx.example.net; in the body stays\r\n";
        var output = AuthenticationResults.RemoveOurs(Encoding.ASCII.GetBytes(message), "mx.example.net", out var removed);
        Assert.Equal(2, removed);
        Assert.Equal(
            "Received: by mx\r\n" +
            "Authentication-Results: upstream.example; dkim=fail\r\n" +
            "From: a@example.org\r\n" +
            "\r\n" +
            "Authentication-Results: mx.example.net; in the body stays\r\n",
            Encoding.ASCII.GetString(output));
    }

    [Fact]
    public void RemoveOurs_NothingToRemove_ReturnsTheSameBytes()
    {
        var message = Encoding.ASCII.GetBytes("From: a@example.org\r\n\r\nb\r\n");
        Assert.Equal(message, AuthenticationResults.RemoveOurs(message, "mx", out var removed));
        Assert.Equal(0, removed);
    }
}
