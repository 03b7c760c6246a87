// dkim_signing_keys parsing (DOMAIN:SELECTOR:/abs/path, comma and/or whitespace separated) and the
// policy's rules: one RSA and one Ed25519 key per domain at most, no duplicate selectors.
namespace Mta.Dkim.Tests;

public sealed class SigningPolicyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mta-dkim-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parse_PostfixListSyntax()
    {
        var specs = DkimSigningPolicy.ParseKeySpecs("Example.org:sel1:/etc/mta/dkim/a.pem,example.org:sel2:/etc/mta/dkim/b.pem\n  other.net:s:/k/c:d.pem");
        Assert.Equal(
            [
                new DkimSigningKeySpec("example.org", "sel1", "/etc/mta/dkim/a.pem"),
                new DkimSigningKeySpec("example.org", "sel2", "/etc/mta/dkim/b.pem"),
                new DkimSigningKeySpec("other.net", "s", "/k/c:d.pem"),
            ],
            specs);
        Assert.Empty(DkimSigningPolicy.ParseKeySpecs(""));
        Assert.Empty(DkimSigningPolicy.ParseKeySpecs(null));
    }

    [Theory]
    [InlineData("example.org:sel1", "is not DOMAIN:SELECTOR:/path/to/key.pem")]
    [InlineData("example.org::/k.pem", "is not DOMAIN:SELECTOR:/path/to/key.pem")]
    [InlineData("example.org:sel1:relative.pem", "absolute path")]
    [InlineData("exa_mple..org:sel1:/k.pem", "not a valid domain")]
    [InlineData("example.org:se l:/k.pem", "is not DOMAIN:SELECTOR")]
    [InlineData("example.org:s/l:/k.pem", "not a valid selector")]
    public void Parse_Errors_QuoteTheEntry(string value, string expected)
    {
        var e = Assert.Throws<FormatException>(() => DkimSigningPolicy.ParseKeySpecs(value));
        Assert.StartsWith("dkim_signing_keys: '", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Load_ReadsKeyFiles()
    {
        var rsa = Path.Combine(_dir, "r.pem");
        var ed = Path.Combine(_dir, "e.pem");
        File.WriteAllText(rsa, Keys.Rsa.ExportPkcs8Pem());
        File.WriteAllText(ed, Keys.Ed25519.ExportPkcs8Pem());
        var policy = DkimSigningPolicy.Load($"example.org:r:{rsa}, example.org:e:{ed}");
        Assert.Equal(["example.org"], policy.Domains);
        Assert.Equal([DkimKeyAlgorithm.Rsa, DkimKeyAlgorithm.Ed25519], policy.IdentitiesFor("EXAMPLE.org.").Select(i => i.Key.Algorithm));
        Assert.Empty(policy.IdentitiesFor("other.net"));
    }

    [Fact]
    public void Load_MissingKeyFile_NamesIt()
    {
        var path = Path.Combine(_dir, "missing.pem");
        var e = Assert.Throws<DkimKeyException>(() => DkimSigningPolicy.Load($"example.org:s:{path}"));
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void TwoKeysOfOneAlgorithm_OrDuplicateSelector_AreRejected()
    {
        Assert.Contains("two ed25519 keys", Assert.Throws<ArgumentException>(() => new DkimSigningPolicy([Keys.EdId(selector: "a"), Keys.EdId(selector: "b")])).Message);
        Assert.Contains("listed twice", Assert.Throws<ArgumentException>(() => new DkimSigningPolicy([Keys.EdId(selector: "a"), Keys.RsaId(selector: "A")])).Message);
    }
}
