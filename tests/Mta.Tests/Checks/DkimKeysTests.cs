// DKIM inputs and records: p= from PEM private keys (PKCS#1 and PKCS#8 RSA, PKCS#8 Ed25519 with and
// without the public key field), Ed25519 derivation against RFC 8032 7.1's test vectors, the key
// record text and its 255-octet TXT string split (RFC 6376 3.6.1/3.6.2.2, RFC 1035 3.3.14), parsing
// of published records, and the dkim_signing_keys item syntax.
using System.Formats.Asn1;
using System.Security.Cryptography;
using Mta.Checks;

namespace Mta.Tests.Checks;

public class DkimKeysTests
{
    // RFC 8032 7.1, TEST 1 and TEST 2 (secret key -> public key)
    [Theory]
    [InlineData("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")]
    [InlineData("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")]
    [InlineData("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7", "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025")]
    public void Ed25519_public_key_is_derived_from_the_seed(string seed, string expected)
    {
        Assert.Equal(expected, Convert.ToHexStringLower(Ed25519.PublicKeyFromSeed(Convert.FromHexString(seed))));
    }

    private static string Ed25519Pkcs8Pem(byte[] seed, byte[]? publicKey)
    {
        var w = new AsnWriter(AsnEncodingRules.DER);
        using (w.PushSequence())
        {
            w.WriteInteger(publicKey is null ? 0 : 1);
            using (w.PushSequence()) w.WriteObjectIdentifier("1.3.101.112");
            var inner = new AsnWriter(AsnEncodingRules.DER);
            inner.WriteOctetString(seed);
            w.WriteOctetString(inner.Encode());
            if (publicKey is not null) w.WriteBitString(publicKey, 0, new Asn1Tag(TagClass.ContextSpecific, 1));
        }
        return PemEncoding.WriteString("PRIVATE KEY", w.Encode());
    }

    [Fact]
    public void Ed25519_pkcs8_key_gives_the_raw_public_key()
    {
        byte[] seed = Convert.FromHexString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        var key = DkimPublicKey.FromPrivateKeyPem(Ed25519Pkcs8Pem(seed, null));
        Assert.Equal("ed25519", key.Algorithm);
        Assert.Equal("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", Convert.ToHexStringLower(key.PValue));
        // a OneAsymmetricKey v2 with the publicKey field: that field is used as is
        byte[] stated = new byte[32];
        stated[0] = 7;
        Assert.Equal(stated, DkimPublicKey.FromPrivateKeyPem(Ed25519Pkcs8Pem(seed, stated)).PValue);
    }

    [Fact]
    public void Rsa_keys_in_pkcs1_and_pkcs8_give_the_spki()
    {
        using var rsa = RSA.Create(2048);
        byte[] spki = rsa.ExportSubjectPublicKeyInfo();
        Assert.Equal(spki, DkimPublicKey.FromPrivateKeyPem(rsa.ExportPkcs8PrivateKeyPem()).PValue);
        Assert.Equal(spki, DkimPublicKey.FromPrivateKeyPem(rsa.ExportRSAPrivateKeyPem()).PValue);
        Assert.Equal("rsa", DkimPublicKey.FromPrivateKeyPem(rsa.ExportRSAPrivateKeyPem()).Algorithm);
    }

    [Fact]
    public void Ec_key_is_refused_for_dkim()
    {
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var e = Assert.Throws<CryptographicException>(() => DkimPublicKey.FromPrivateKeyPem(ec.ExportPkcs8PrivateKeyPem()));
        Assert.Contains("1.2.840.10045.2.1", e.Message);
        Assert.Throws<CryptographicException>(() => DkimPublicKey.FromPrivateKeyPem("no pem here"));
    }

    [Fact]
    public void Record_text_and_zone_record_split_into_255_character_strings()
    {
        using var rsa = RSA.Create(2048);
        var key = new DkimPublicKey("rsa", rsa.ExportSubjectPublicKeyInfo());
        string text = DkimRecord.Text(key);
        Assert.Equal($"v=DKIM1; k=rsa; p={Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo())}", text);
        string zone = DkimRecord.ZoneRecord("sel._domainkey.example.org", key);
        Assert.StartsWith("sel._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p=MII", zone);
        var parts = System.Text.RegularExpressions.Regex.Matches(zone, "\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(text, string.Concat(parts));
        Assert.All(parts, p => Assert.True(p.Length <= 255));
        Assert.Equal(255, parts[0].Length);
        Assert.Equal(2, parts.Count);
    }

    [Fact]
    public void Short_record_is_one_string()
    {
        var key = new DkimPublicKey("ed25519", new byte[32]);
        Assert.Equal("s1._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"",
            DkimRecord.ZoneRecord("s1._domainkey.example.org.", key));
    }

    [Theory]
    [InlineData("v=DKIM1; k=rsa; p=", "p= is empty (key revoked)")]
    [InlineData("v=DKIM2; p=AAAA", "v=DKIM2 is not DKIM1")]
    [InlineData("v=DKIM1; k=rsa", "no p= tag")]
    [InlineData("v=DKIM1; k=ed25519; p=AAAA", "an Ed25519 p= value has 32 bytes, not 3")]
    [InlineData("v=spf1 -all", "v=spf1 -all is not DKIM1")]
    public void Unusable_published_records_say_why(string text, string problem)
    {
        Assert.Null(DkimRecord.Parse(text, out string? why));
        Assert.Equal(problem, why);
    }

    [Fact]
    public void Published_record_with_folding_white_space_and_pkcs1_key_is_the_same_key()
    {
        using var rsa = RSA.Create(2048);
        var ours = new DkimPublicKey("rsa", rsa.ExportSubjectPublicKeyInfo());
        string b64 = Convert.ToBase64String(rsa.ExportSubjectPublicKeyInfo());
        var published = DkimRecord.Parse($"v=DKIM1;k=rsa;  p={b64[..40]} {b64[40..]}", out _);
        Assert.NotNull(published);
        Assert.True(published.SameKeyAs(ours));
        // some publish the PKCS#1 RSAPublicKey instead of the SPKI: same modulus and exponent
        var pkcs1 = DkimRecord.Parse($"p={Convert.ToBase64String(rsa.ExportRSAPublicKey())}", out _);
        Assert.True(pkcs1!.SameKeyAs(ours));
        using var other = RSA.Create(2048);
        Assert.False(new DkimPublicKey("rsa", other.ExportSubjectPublicKeyInfo()).SameKeyAs(ours));
        Assert.False(new DkimPublicKey("ed25519", new byte[32]).SameKeyAs(ours));
    }

    [Fact]
    public void Signing_keys_parameter_reads_each_key_file()
    {
        using var dir = new TempDir();
        using var rsa = RSA.Create(2048);
        File.WriteAllText(dir.File("k.pem"), rsa.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(dir.File("bad.pem"), "garbage");
        var keys = DkimKeySource.FromParameter([$"Example.ORG:sel:{dir.File("k.pem")}", $"example.net:s2:{dir.File("bad.pem")}", $"example.com:s3:{dir.File("missing.pem")}"]);
        Assert.Equal(3, keys.Count);
        Assert.Equal("sel._domainkey.example.org", keys[0].RecordName);
        Assert.Equal(rsa.ExportSubjectPublicKeyInfo(), keys[0].Key!.PValue);
        Assert.Null(keys[1].Key);
        Assert.StartsWith(dir.File("bad.pem") + ": no PEM private key block", keys[1].Problem);
        Assert.Null(keys[2].Key);
        Assert.Contains("missing.pem", keys[2].Problem);
    }

    [Theory]
    [InlineData("example.org:sel")]
    [InlineData("example.org::/k.pem")]
    [InlineData(":sel:/k.pem")]
    public void Signing_keys_item_needs_domain_selector_and_path(string item)
    {
        var e = Assert.Throws<FormatException>(() => DkimKeySource.FromParameter([item]));
        Assert.Equal($"dkim_signing_keys: bad item \"{item}\": expected domain:selector:/path/key.pem", e.Message);
    }
}
