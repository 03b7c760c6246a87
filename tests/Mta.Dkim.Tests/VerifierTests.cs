// DkimVerifier result classification (RFC 8601 2.7.1 keywords with reasons): key lookup outcomes,
// key record problems, signature field problems, rsa-sha1 (RFC 8301), expiry; and the DNS locator's cache.
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace Mta.Dkim.Tests;

public class VerifierTests
{
    private static readonly byte[] Body = Encoding.ASCII.GetBytes("From: a@example.org\r\nTo: b@example.net\r\nSubject: s\r\n\r\nhello\r\n");

    private static byte[] SignedByEd()
    {
        var result = new DkimSigner(new DkimSigningPolicy([Keys.EdId()])).Sign(Body, null);
        return TestData.Concat(result.HeaderBytes, Body);
    }

    private static async Task<DkimVerificationResult> VerifyOne(byte[] message, FakeKeyLocator locator, TimeProvider? time = null) =>
        Assert.Single(await new DkimVerifier(locator, time).VerifyAsync(message));

    private static byte[] WithSignature(string dkimValue) => Encoding.ASCII.GetBytes("DKIM-Signature: " + dkimValue + "\r\n" + Encoding.ASCII.GetString(Body));

    [Fact]
    public async Task UnsignedMessage_HasNoResults() =>
        Assert.Empty(await new DkimVerifier(new FakeKeyLocator()).VerifyAsync(Body));

    [Fact]
    public async Task NoKeyRecord_IsPermError()
    {
        var r = await VerifyOne(SignedByEd(), new FakeKeyLocator());
        Assert.Equal(DkimResult.PermError, r.Result);
        Assert.StartsWith("no key for signature", r.Reason);
    }

    [Fact]
    public async Task DnsFailure_IsTempError()
    {
        var locator = new FakeKeyLocator().Set("ed1._domainkey.example.org", DkimKeyLookup.TempError("SERVFAIL"));
        var r = await VerifyOne(SignedByEd(), locator);
        Assert.Equal((DkimResult.TempError, "key unavailable (SERVFAIL)"), (r.Result, r.Reason));
    }

    [Theory]
    [InlineData("v=DKIM1; k=ed25519; p=", "key revoked (empty p=)")]
    [InlineData("v=DKIM1; k=rsa; p=MIIB", "key type k=rsa does not match a=ed25519-sha256")]
    [InlineData("v=DKIM1; k=ed25519; h=sha1; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "key record h=sha1 does not allow sha256")]
    [InlineData("v=DKIM1; k=ed25519; s=other; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "key record s=other does not allow email")]
    [InlineData("v=DKIM1; k=ed25519; p=AAAA", "Ed25519 key in p= is 3 bytes, not 32")]
    [InlineData("v=DKIM2; k=ed25519; p=AAAA", "key record version v=DKIM2 is not DKIM1")]
    [InlineData("k=ed25519; v=DKIM1; p=AAAA", "key record v= tag is not first")]
    [InlineData("v=DKIM1; k=ed25519", "key record has no p= tag")]
    [InlineData("v=DKIM1; k=ed25519; k=rsa; p=AAAA", "key record syntax: duplicate tag 'k'")]
    [InlineData("v=DKIM1; k=dsa; p=AAAA", "key type k=dsa does not match a=ed25519-sha256")]
    public async Task BadKeyRecords_ArePermErrors(string record, string reason)
    {
        var r = await VerifyOne(SignedByEd(), new FakeKeyLocator().Add("ed1._domainkey.example.org", record));
        Assert.Equal((DkimResult.PermError, reason), (r.Result, r.Reason));
    }

    [Fact]
    public async Task WrongKey_FailsTheSignature()
    {
        var other = DkimKeyGenerator.Generate(DkimKeyAlgorithm.Ed25519);
        var r = await VerifyOne(SignedByEd(), new FakeKeyLocator().Add("ed1._domainkey.example.org", other.KeyRecordText));
        Assert.Equal((DkimResult.Fail, "signature did not verify"), (r.Result, r.Reason));
    }

    [Fact]
    public async Task KeyRecordFoldedIntoSeveralStrings_AndWithWhitespaceInP_Verifies()
    {
        var text = Keys.Ed25519.KeyRecordText;
        var spaced = text[..30] + " " + text[30..];
        var r = await VerifyOne(SignedByEd(), new FakeKeyLocator().Add("ed1._domainkey.example.org", spaced));
        Assert.Equal(DkimResult.Pass, r.Result);
    }

    [Theory]
    [InlineData("v=1; a=rsa-sha1; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "rsa-sha1 signatures are not accepted (RFC 8301 3.1)")]
    [InlineData("v=1; a=hmac-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "unsupported algorithm a=hmac-sha256")]
    [InlineData("v=2; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA", "unsupported signature version v=2")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=s; h=to:subject; bh=AAAA; b=AAAA", "From is not signed")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=s; h=from; b=AAAA", "signature has no bh= tag")]
    [InlineData("v=1; a=rsa-sha256; s=s; h=from; bh=AAAA; b=AAAA", "signature has no d= tag")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA; i=@evil.example", "i= is not within d=")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; d=x; s=s; h=from; bh=AAAA; b=AAAA", "signature syntax: duplicate tag 'd'")]
    [InlineData("v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA; x=soon", "x= is not a number")]
    public async Task BadSignatureFields_AreNeutral(string value, string reason)
    {
        var locator = new FakeKeyLocator();
        var r = await VerifyOne(WithSignature(value), locator);
        Assert.Equal((DkimResult.Neutral, reason), (r.Result, r.Reason));
        Assert.Equal(0, locator.Lookups);
    }

    [Fact]
    public async Task ExpiredSignature_Fails_WithoutKeyLookup()
    {
        var locator = new FakeKeyLocator();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(2_000_000_000));
        var r = await VerifyOne(WithSignature("v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=AAAA; b=AAAA; x=1999999999"), locator, time);
        Assert.Equal((DkimResult.Fail, "signature expired"), (r.Result, r.Reason));
        Assert.Equal(0, locator.Lookups);
    }

    [Fact]
    public async Task ResultFields_AreFilled()
    {
        var r = await VerifyOne(SignedByEd(), new FakeKeyLocator().Add(Keys.EdId()));
        Assert.Equal(DkimResult.Pass, r.Result);
        Assert.Equal(("example.org", "ed1", "ed25519-sha256", "@example.org", "pass"), (r.Domain, r.Selector, r.Algorithm, r.Identity, r.Keyword));
        Assert.Equal(8, r.SignaturePrefix!.Length);
        Assert.Null(r.Reason);
    }

    [Fact]
    public async Task MaxSignatures_LimitsWork()
    {
        var header = new DkimSigner(new DkimSigningPolicy([Keys.EdId()])).Sign(Body, null).HeaderBytes.ToArray();
        byte[] many = [.. header, .. header, .. header, .. header, .. header, .. Body];
        var verifier = new DkimVerifier(new FakeKeyLocator().Add(Keys.EdId())) { MaxSignatures = 3 };
        Assert.Equal(3, (await verifier.VerifyAsync(many)).Count);
    }
}

public class DnsKeyLocatorTests
{
    private static (DnsDkimKeyLocator Locator, List<string> Queries, FakeTimeProvider Time) Create(Func<string, DnsDkimKeyLocator.TxtAnswer> answer, DkimKeyCacheOptions? options = null)
    {
        var queries = new List<string>();
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var locator = new DnsDkimKeyLocator((name, _) =>
        {
            lock (queries)
                queries.Add(name);
            return Task.FromResult(answer(name));
        }, time, options);
        return (locator, queries, time);
    }

    [Fact]
    public async Task FoundRecord_IsCachedForItsTtl()
    {
        var (locator, queries, time) = Create(_ => new(DkimKeyLookupStatus.Found, [("v=DKIM1; p=X", 60)], null));
        Assert.Equal(DkimKeyLookup.Found("v=DKIM1; p=X"), await locator.LookupAsync("Example.org", "sel"));
        await locator.LookupAsync("example.org", "sel");
        Assert.Equal(["sel._domainkey.Example.org"], queries);
        time.Advance(TimeSpan.FromSeconds(61));
        await locator.LookupAsync("example.org", "sel");
        Assert.Equal(2, queries.Count);
    }

    [Fact]
    public async Task LongTtl_IsCappedByMaxTtl()
    {
        var (locator, queries, time) = Create(_ => new(DkimKeyLookupStatus.Found, [("p=X", 86400)], null), new DkimKeyCacheOptions { MaxTtl = TimeSpan.FromMinutes(10) });
        await locator.LookupAsync("example.org", "sel");
        time.Advance(TimeSpan.FromMinutes(11));
        await locator.LookupAsync("example.org", "sel");
        Assert.Equal(2, queries.Count);
    }

    [Fact]
    public async Task NotFound_IsCachedForTheNegativeTtl_TempErrorsNever()
    {
        var (locator, queries, time) = Create(name => name.StartsWith("nx", StringComparison.Ordinal)
            ? new(DkimKeyLookupStatus.NotFound, [], "NXDOMAIN")
            : new(DkimKeyLookupStatus.TempError, [], "timeout"));
        Assert.Equal(DkimKeyLookupStatus.NotFound, (await locator.LookupAsync("example.org", "nx")).Status);
        Assert.Equal(DkimKeyLookupStatus.NotFound, (await locator.LookupAsync("example.org", "nx")).Status);
        Assert.Equal(DkimKeyLookupStatus.TempError, (await locator.LookupAsync("example.org", "tmp")).Status);
        Assert.Equal(DkimKeyLookupStatus.TempError, (await locator.LookupAsync("example.org", "tmp")).Status);
        Assert.Equal(3, queries.Count);
        time.Advance(TimeSpan.FromMinutes(6));
        await locator.LookupAsync("example.org", "nx");
        Assert.Equal(4, queries.Count);
    }

    [Fact]
    public async Task SeveralTxtRecords_PreferTheKeyRecord()
    {
        var (locator, _, _) = Create(_ => new(DkimKeyLookupStatus.Found, [("some verification token", 60), ("v=DKIM1; k=rsa; p=X", 60)], null));
        Assert.Equal("v=DKIM1; k=rsa; p=X", (await locator.LookupAsync("example.org", "s")).RecordText);
    }

    [Fact]
    public async Task CacheIsBounded()
    {
        var (locator, _, _) = Create(_ => new(DkimKeyLookupStatus.Found, [("p=X", 600)], null), new DkimKeyCacheOptions { MaxEntries = 4 });
        for (int i = 0; i < 10; i++)
            await locator.LookupAsync("example.org", "s" + i);
        Assert.InRange(locator.CachedCount, 1, 4);
    }
}
