// DkimKey loading (PKCS#1, PKCS#8, Ed25519 PKCS#8; every refusal names the file and the fix) and
// DkimKeyGenerator (mode 0600, no overwrite, TXT record split into 255-octet strings).
using System.Security.Cryptography;

namespace Mta.Dkim.Tests;

public sealed class KeyTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mta-dkim-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Rsa_Pkcs1AndPkcs8_LoadToTheSameKey()
    {
        using var rsa = RSA.Create(2048);
        var pkcs1 = DkimKey.LoadPemFile(Write("k1.pem", rsa.ExportRSAPrivateKeyPem()));
        var pkcs8 = DkimKey.LoadPemFile(Write("k8.pem", rsa.ExportPkcs8PrivateKeyPem()));
        Assert.Equal(DkimKeyAlgorithm.Rsa, pkcs1.Algorithm);
        Assert.Equal(2048, pkcs1.KeySizeBits);
        Assert.Equal(Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo()), pkcs1.PublicKeyBase64);
        Assert.Equal(pkcs1.PublicKeyBase64, pkcs8.PublicKeyBase64);
        Assert.StartsWith("v=DKIM1; k=rsa; p=MIIBIjAN", pkcs1.KeyRecordText);
    }

    [Fact]
    public void Ed25519_Pkcs8_RoundTripsThroughExport()
    {
        var key = DkimKeyGenerator.Generate(DkimKeyAlgorithm.Ed25519);
        var pem = key.ExportPkcs8Pem();
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", pem);
        var loaded = DkimKey.LoadPemFile(Write("ed.pem", pem));
        Assert.Equal(DkimKeyAlgorithm.Ed25519, loaded.Algorithm);
        Assert.Equal(256, loaded.KeySizeBits);
        Assert.Equal(key.PublicKeyBase64, loaded.PublicKeyBase64);
        Assert.Equal(32, Convert.FromBase64String(loaded.PublicKeyBase64).Length);
    }

    [Fact]
    public void Ed25519_OpenSslStylePem_Loads()
    {
        // PKCS#8 of the RFC 8463 A.1 seed, as `openssl genpkey -algorithm ed25519` writes it (302e020100300506032b657004220420 || seed).
        var seed = Convert.FromBase64String("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
        var der = Convert.FromHexString("302e020100300506032b657004220420").Concat(seed).ToArray();
        var key = DkimKey.FromPem(new string(PemEncoding.Write("PRIVATE KEY", der)));
        Assert.Equal("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", key.PublicKeyBase64);
    }

    [Theory]
    [InlineData(1024)]
    [InlineData(1536)]
    public void Rsa_ShorterThan2048_IsRefusedWithTheReason(int bits)
    {
        using var rsa = RSA.Create(bits);
        var path = Write("short.pem", rsa.ExportRSAPrivateKeyPem());
        var e = Assert.Throws<DkimKeyException>(() => DkimKey.LoadPemFile(path));
        Assert.Equal(path, e.Path);
        Assert.Contains($"{path}: the RSA key has {bits} bits", e.Message);
        Assert.Contains("at least 2048 bits", e.Message);
    }

    [Fact]
    public void EncryptedPkcs8_IsRefused()
    {
        using var rsa = RSA.Create(2048);
        var pem = rsa.ExportEncryptedPkcs8PrivateKeyPem("secret", new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000));
        var e = Assert.Throws<DkimKeyException>(() => DkimKey.FromPem(pem, "enc.pem"));
        Assert.Contains("encrypted", e.Message);
    }

    [Fact]
    public void LegacyEncryptedPem_IsRefused()
    {
        const string pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        Assert.Contains("encrypted", Assert.Throws<DkimKeyException>(() => DkimKey.FromPem(pem)).Message);
    }

    [Fact]
    public void EcKey_IsRefused()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Assert.Contains("ECDSA", Assert.Throws<DkimKeyException>(() => DkimKey.FromPem(ec.ExportPkcs8PrivateKeyPem())).Message);
        Assert.Contains("ECDSA", Assert.Throws<DkimKeyException>(() => DkimKey.FromPem(ec.ExportECPrivateKeyPem())).Message);
    }

    [Fact]
    public void PublicKeyOnly_IsRefusedNamingWhatWasFound()
    {
        using var rsa = RSA.Create(2048);
        var e = Assert.Throws<DkimKeyException>(() => DkimKey.FromPem(rsa.ExportSubjectPublicKeyInfoPem()));
        Assert.Contains("PUBLIC KEY", e.Message);
    }

    [Fact]
    public void NotPem_AndMissingFile_AreRefused()
    {
        Assert.Contains("no PEM private key", Assert.Throws<DkimKeyException>(() => DkimKey.FromPem("hello")).Message);
        var missing = Path.Combine(_dir, "nope.pem");
        var e = Assert.Throws<DkimKeyException>(() => DkimKey.LoadPemFile(missing));
        Assert.Equal(missing, e.Path);
        Assert.Contains("cannot read", e.Message);
    }

    [Fact]
    public void Ed25519Seed_OfWrongLength_IsRefused() =>
        Assert.Throws<DkimKeyException>(() => DkimKey.FromEd25519Seed(new byte[31]));

    [Theory]
    [InlineData(DkimKeyAlgorithm.Rsa, "sel1.example.org.rsa.pem")]
    [InlineData(DkimKeyAlgorithm.Ed25519, "sel1.example.org.ed25519.pem")]
    public void Generator_WritesA0600PemThatLoads_AndReturnsTheRecord(DkimKeyAlgorithm algorithm, string fileName)
    {
        Assert.Equal(fileName, DkimKeyGenerator.FileName("Example.ORG.", "sel1", algorithm));
        var path = Path.Combine(_dir, fileName);
        var (key, record) = DkimKeyGenerator.GenerateToFile("example.org", "sel1", algorithm, path);

        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var loaded = DkimKey.LoadPemFile(path);
        Assert.Equal(key.PublicKeyBase64, loaded.PublicKeyBase64);
        Assert.Equal(algorithm, loaded.Algorithm);
        Assert.Equal("sel1._domainkey.example.org", record.OwnerName);
        Assert.Equal($"v=DKIM1; k={algorithm.KeyType()}; p={key.PublicKeyBase64}", record.Text);
        Assert.All(record.Strings, s => Assert.InRange(s.Length, 1, 255));
        Assert.Equal(record.Text, string.Concat(record.Strings));
        Assert.True(DkimKeyRecord.TryParse(record.Text, out var parsed, out _));
        Assert.Equal(algorithm, parsed!.Algorithm);
    }

    [Fact]
    public void Generator_RefusesToOverwrite()
    {
        var path = Write("exists.pem", "x");
        var e = Assert.Throws<DkimKeyException>(() => DkimKeyGenerator.GenerateToFile("example.org", "s", DkimKeyAlgorithm.Ed25519, path));
        Assert.Contains("refusing to overwrite", e.Message);
        Assert.Equal("x", File.ReadAllText(path));
    }

    [Fact]
    public void Generator_RejectsBadNames()
    {
        Assert.Throws<ArgumentException>(() => DkimKeyGenerator.GenerateToFile("exa mple.org", "s", DkimKeyAlgorithm.Ed25519, Path.Combine(_dir, "a.pem")));
        Assert.Throws<ArgumentException>(() => DkimKeyGenerator.GenerateToFile("example.org", "s/x", DkimKeyAlgorithm.Ed25519, Path.Combine(_dir, "b.pem")));
    }

    [Fact]
    public void RsaRecord_IsSplitInto255CharStrings_ForTheZoneFile()
    {
        var record = new DkimDnsRecord("example.org", "sel1", Keys.Rsa.KeyRecordText);
        Assert.True(record.Text.Length > 255);
        Assert.Equal(2, record.Strings.Count);
        Assert.Equal(255, record.Strings[0].Length);
        Assert.Equal("sel1._domainkey.example.org. IN TXT (\n\t\"" + record.Strings[0] + "\"\n\t\"" + record.Strings[1] + "\" )", record.ZoneFileEntry);
        var ed = new DkimDnsRecord("example.org", "sel2", Keys.Ed25519.KeyRecordText);
        Assert.Equal($"sel2._domainkey.example.org. IN TXT \"{Keys.Ed25519.KeyRecordText}\"", ed.ZoneFileEntry);
    }
}
