// DkimSigner: domain choice, the h= list (RFC 6376 5.4.1 set present, From over-signed), tags
// (relaxed/relaxed, t= from the clock, no l=), byte-identity of the delivered message, and round trips
// through our verifier for RSA, Ed25519 and both at once.
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Mta.Dkim.Tests;

public class SignerTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    private const string Message =
        "Received: from a by b; Tue, 14 Nov 2023 22:13:20 +0000\r\n" +
        "From: Alice <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Cc: carol@example.net\r\n" +
        "Subject: hello   there\r\n" +
        "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n" +
        "Message-ID: <1@example.org>\r\n" +
        "X-Custom: not signed\r\n" +
        "\r\n" +
        "Body line one.  \r\n" +
        "\r\n" +
        "Body line two.\r\n";

    private static DkimSigner Signer(params DkimSigningIdentity[] ids) => new(new DkimSigningPolicy(ids), new FakeTimeProvider(Now));

    private static Dictionary<string, string> Tags(string field)
    {
        var value = field["DKIM-Signature:".Length..];
        return value.Split(';').Where(p => p.Contains('='))
            .ToDictionary(p => p[..p.IndexOf('=')].Trim(), p => string.Concat(p[(p.IndexOf('=') + 1)..].Where(c => !char.IsWhiteSpace(c))));
    }

    [Fact]
    public async Task Rsa_SignThenVerify_OverTheOriginalBytes()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var result = Signer(Keys.RsaId()).Sign(message, "alice@example.org");
        Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
        Assert.Equal("example.org", result.Domain);
        var signed = TestData.Concat(result.HeaderBytes, message);
        var results = await new DkimVerifier(new FakeKeyLocator().Add(Keys.RsaId())).VerifyAsync(signed);
        Assert.Equal(DkimResult.Pass, Assert.Single(results).Result);
        Assert.Equal("rsa-sha256", results[0].Algorithm);
    }

    [Fact]
    public async Task BothKeys_GiveTwoSignatures_BothPass()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var result = Signer(Keys.RsaId(), Keys.EdId()).Sign(message, null);
        Assert.Equal([DkimKeyAlgorithm.Rsa, DkimKeyAlgorithm.Ed25519], result.Signatures.Select(s => s.Algorithm));
        Assert.Equal(string.Concat(result.Signatures.Select(s => s.HeaderField)), Encoding.ASCII.GetString(result.HeaderBytes.Span));
        var signed = TestData.Concat(result.HeaderBytes, message);
        var results = await new DkimVerifier(new FakeKeyLocator().Add(Keys.RsaId()).Add(Keys.EdId())).VerifyAsync(signed);
        Assert.Equal(2, results.Count);
        Assert.All(results, r => Assert.Equal(DkimResult.Pass, r.Result));
        Assert.Equal(["rsa-sha256", "ed25519-sha256"], results.Select(r => r.Algorithm));
    }

    [Fact]
    public void Tags_AreRelaxedRelaxed_WithTimestamp_AndNoLengthOrExpiry()
    {
        var result = Signer(Keys.EdId()).Sign(Encoding.ASCII.GetBytes(Message), null);
        var tags = Tags(result.Signatures[0].HeaderField);
        Assert.Equal("1", tags["v"]);
        Assert.Equal("ed25519-sha256", tags["a"]);
        Assert.Equal("relaxed/relaxed", tags["c"]);
        Assert.Equal("example.org", tags["d"]);
        Assert.Equal("ed1", tags["s"]);
        Assert.Equal("1700000000", tags["t"]);
        Assert.False(tags.ContainsKey("l"));
        Assert.False(tags.ContainsKey("x"));
        Assert.False(tags.ContainsKey("i"));
    }

    [Fact]
    public void HeaderList_IsThe5_4_1SetPresent_WithFromOversigned()
    {
        var result = Signer(Keys.EdId()).Sign(Encoding.ASCII.GetBytes(Message), null);
        // Received, Message-ID and X-Custom are not in the RFC 6376 5.4.1 set; From appears once more than in the message.
        Assert.Equal("from:from:subject:date:to:cc", Tags(result.Signatures[0].HeaderField)["h"]);
    }

    [Fact]
    public void HeaderList_CountsRepeatedFields()
    {
        var message = Encoding.ASCII.GetBytes("From: a@example.org\r\nTo: x@example.net\r\nTo: y@example.net\r\nReferences: <1@x>\r\nList-Id: <l.example.org>\r\n\r\nb\r\n");
        var result = Signer(Keys.EdId()).Sign(message, null);
        Assert.Equal("from:from:to:to:references:list-id", Tags(result.Signatures[0].HeaderField)["h"]);
    }

    [Fact]
    public async Task AFromAddedAfterSigning_BreaksTheSignature()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var result = Signer(Keys.EdId()).Sign(message, null);
        var tampered = TestData.Concat(result.HeaderBytes, Encoding.ASCII.GetBytes("From: Mallory <boss@example.org>\r\n" + Message));
        var r = Assert.Single(await new DkimVerifier(new FakeKeyLocator().Add(Keys.EdId())).VerifyAsync(tampered));
        Assert.Equal((DkimResult.Fail, "signature did not verify"), (r.Result, r.Reason));
    }

    [Fact]
    public void Output_IsCrlfFolded_AndOnlyPrepended()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var result = Signer(Keys.RsaId(), Keys.EdId()).Sign(message, null);
        var text = Encoding.ASCII.GetString(result.HeaderBytes.Span);
        Assert.StartsWith("DKIM-Signature: v=1; a=rsa-sha256;", text);
        Assert.EndsWith("\r\n", text);
        Assert.DoesNotContain("\n", text.Replace("\r\n", ""));
        Assert.DoesNotContain("\r", text.Replace("\r\n", ""));
        foreach (var line in text.Split("\r\n").SkipLast(1))
        {
            Assert.InRange(line.Length, 1, 998);
            if (!line.StartsWith("DKIM-Signature:", StringComparison.Ordinal))
                Assert.True(line[0] is ' ' or '\t', $"continuation line must start with WSP: '{line}'");
        }
        // the input was not modified
        Assert.Equal(Message, Encoding.ASCII.GetString(message));
    }

    [Theory]
    [InlineData("From: a@Example.ORG\r\n", "x@other.net", "example.org")]
    [InlineData("From: a@other.net\r\n", "bounce@example.org", "example.org")]
    [InlineData("From: a@other.net\r\n", "bounce@sub.example.org", null)]
    [InlineData("From: a@sub.example.org\r\n", null, null)]
    [InlineData("From: a@other.net\r\n", null, null)]
    [InlineData("From: a@other.net\r\n", "", null)]
    [InlineData("", "bounce@example.org", "example.org")]
    [InlineData("From: a@other.net, b@example.org\r\nSender: a@other.net\r\n", null, "example.org")]
    [InlineData("From: a@example.com\r\n", "b@example.org", "example.com")]
    public void DomainChoice_FromFirst_ThenEnvelope(string fromHeader, string? envelope, string? expected)
    {
        var signer = Signer(Keys.EdId("example.org"), Keys.EdId("example.com", "s2"));
        var result = signer.Sign(Encoding.ASCII.GetBytes(fromHeader + "Subject: x\r\n\r\nbody\r\n"), envelope);
        Assert.Equal(expected, result.Domain);
        Assert.Equal(expected is null ? DkimSignOutcome.NotOurDomain : DkimSignOutcome.Signed, result.Outcome);
        if (expected is null)
        {
            Assert.True(result.HeaderBytes.IsEmpty);
            Assert.NotNull(result.Reason);
        }
    }

    [Fact]
    public void EmptyPolicy_SignsNothing()
    {
        var result = new DkimSigner(DkimSigningPolicy.Empty).Sign(Encoding.ASCII.GetBytes(Message), "alice@example.org");
        Assert.Equal(DkimSignOutcome.NotOurDomain, result.Outcome);
    }

    [Fact]
    public async Task MessageWithoutBody_AndWithoutFinalCrlf_StillVerify()
    {
        var verifier = new DkimVerifier(new FakeKeyLocator().Add(Keys.EdId()));
        foreach (var text in new[] { "From: a@example.org\r\n\r\n", "From: a@example.org\r\n", "From: a@example.org\r\n\r\nno newline at end" })
        {
            var message = Encoding.ASCII.GetBytes(text);
            var result = Signer(Keys.EdId()).Sign(message, null);
            Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
            var r = Assert.Single(await verifier.VerifyAsync(TestData.Concat(result.HeaderBytes, message)));
            Assert.Equal(DkimResult.Pass, r.Result);
        }
    }

    [Fact]
    public async Task SignAsync_ReadsAStream()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var result = await Signer(Keys.EdId()).SignAsync(new MemoryStream(message), null);
        Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
    }

    [Fact]
    public void ManyThreads_SignConcurrently()
    {
        var signer = Signer(Keys.RsaId(), Keys.EdId());
        var message = Encoding.ASCII.GetBytes(Message);
        var outcomes = new DkimSignOutcome[64];
        Parallel.For(0, outcomes.Length, i => outcomes[i] = signer.Sign(message, null).Outcome);
        Assert.All(outcomes, o => Assert.Equal(DkimSignOutcome.Signed, o));
    }
}
