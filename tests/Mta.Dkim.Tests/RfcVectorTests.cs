// RFC example vectors: RFC 8463 appendix A (Ed25519 seed and public key, a message signed with both
// ed25519-sha256 and rsa-sha256, the DNS records) and RFC 6376 3.4.5 (canonicalization examples) and
// the empty-body hashes that follow from RFC 6376 3.4.3/3.4.4.
using System.Security.Cryptography;
using System.Text;

namespace Mta.Dkim.Tests;

public class RfcVectorTests
{
    private static readonly DateTimeOffset SignedAt = DateTimeOffset.FromUnixTimeSeconds(1528637909);

    [Fact]
    public void Rfc8463_A1_Ed25519SeedGivesThePublishedKey()
    {
        var key = DkimKey.FromEd25519Seed(Convert.FromBase64String("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="));
        Assert.Equal(DkimKeyAlgorithm.Ed25519, key.Algorithm);
        Assert.Equal("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", key.PublicKeyBase64);
        Assert.Equal("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", key.KeyRecordText);
    }

    [Fact]
    public async Task Rfc8463_A3_BothSignaturesVerify()
    {
        var locator = FakeKeyLocator.FromFile(TestData.PathOf("rfc8463-keys.txt"));
        var verifier = new DkimVerifier(locator, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(SignedAt));
        var results = await verifier.VerifyAsync(TestData.Bytes("rfc8463-example.eml"));

        Assert.Equal(2, results.Count);
        Assert.Equal(new DkimVerificationResult(DkimResult.Pass, "football.example.com", "brisbane", "ed25519-sha256", "@football.example.com", "/gCrinpc", null), results[0]);
        Assert.Equal(new DkimVerificationResult(DkimResult.Pass, "football.example.com", "test", "rsa-sha256", "@football.example.com", "F45dVWDf", null), results[1]);
    }

    [Fact]
    public async Task Rfc8463_A3_ChangedBodyFailsBothOnTheBodyHash()
    {
        var bytes = Encoding.ASCII.GetString(TestData.Bytes("rfc8463-example.eml")).Replace("We lost the game.", "We won the game.");
        var verifier = new DkimVerifier(FakeKeyLocator.FromFile(TestData.PathOf("rfc8463-keys.txt")));
        var results = await verifier.VerifyAsync(Encoding.ASCII.GetBytes(bytes));
        Assert.All(results, r => Assert.Equal((DkimResult.Fail, "body hash did not verify"), (r.Result, r.Reason)));
    }

    [Fact]
    public async Task Rfc8463_A3_ChangedSignedHeaderFailsTheSignature()
    {
        var bytes = Encoding.ASCII.GetString(TestData.Bytes("rfc8463-example.eml")).Replace("Subject: Is dinner ready?", "Subject: Is lunch ready?");
        var verifier = new DkimVerifier(FakeKeyLocator.FromFile(TestData.PathOf("rfc8463-keys.txt")));
        var results = await verifier.VerifyAsync(Encoding.ASCII.GetBytes(bytes));
        Assert.All(results, r => Assert.Equal((DkimResult.Fail, "signature did not verify"), (r.Result, r.Reason)));
    }

    [Fact]
    public void Rfc8463_A2_RecordsParse()
    {
        foreach (var line in File.ReadAllLines(TestData.PathOf("rfc8463-keys.txt")))
        {
            Assert.True(DkimKeyRecord.TryParse(line[(line.IndexOf(' ') + 1)..], out var record, out var error), error);
            Assert.NotNull(record!.Algorithm);
            Assert.True(record.TryGetKeyFor(record.Algorithm!.Value.SignatureAlgorithm(), out _, out error), error);
        }
    }

    [Fact]
    public void Rfc6376_3_4_5_RelaxedBodyExample()
    {
        // Body of the RFC 6376 3.4.5 example: " C \r\nD \t E\r\n\r\n\r\n" canonicalizes (relaxed) to " C\r\nD E\r\n".
        var body = Encoding.ASCII.GetBytes(" C \r\nD \t E\r\n\r\n\r\n");
        Assert.Equal(SHA256.HashData(Encoding.ASCII.GetBytes(" C\r\nD E\r\n")), RelaxedBodyHash.Compute(body));
    }

    [Fact]
    public void Rfc6376_RelaxedEmptyBodyHashesToNothing()
    {
        Assert.Equal("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Convert.ToBase64String(RelaxedBodyHash.Compute([])));
        Assert.Equal("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", Convert.ToBase64String(RelaxedBodyHash.Compute("\r\n\r\n \t\r\n"u8)));
    }

    [Fact]
    public void Rfc6376_3_4_5_ExampleSignedByUsHasTheRelaxedBodyHash()
    {
        // The RFC 6376 3.4.5 example message (header "A: X", "B : Y\t\r\n\tZ  "), signed with relaxed/relaxed.
        var message = Encoding.ASCII.GetBytes("From: a@example.org\r\nA: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n");
        var signer = new DkimSigner(new DkimSigningPolicy([Keys.EdId()]));
        var result = signer.Sign(message, null);
        Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
        var expected = Convert.ToBase64String(SHA256.HashData(Encoding.ASCII.GetBytes(" C\r\nD E\r\n")));
        Assert.Contains($"bh={expected};", result.Signatures[0].HeaderField.Replace("\r\n\t", " ").Replace("\r\n ", " "));
    }
}
