// DkimKeys: the DKIM inputs of the start-up checks as plain data — (domain, selector, public key) —
// and the DKIM key record: its text (RFC 6376 3.6.1 tags v=, k=, p=; RFC 8463 3 for k=ed25519), the
// zone-file form of the TXT record at selector._domainkey.domain (RFC 6376 3.6.2.1, strings of at most
// 255 octets, RFC 1035 3.3.14), and whether a published record carries our key. DkimKeySource reads the
// provisional parameter dkim_signing_keys = domain:selector:/path/key.pem, ... (PEM private keys).
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;

namespace Mta.Checks;

/// <summary>
/// A DKIM public key as published in <c>p=</c>: for <c>k=rsa</c> the DER SubjectPublicKeyInfo (RFC 6376 3.6.1), for
/// <c>k=ed25519</c> the raw 32-byte key (RFC 8463 4).
/// </summary>
/// <param name="Algorithm"><c>rsa</c> or <c>ed25519</c>.</param>
/// <param name="PValue">The bytes whose base64 is the <c>p=</c> value.</param>
public sealed record DkimPublicKey(string Algorithm, byte[] PValue)
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string Ed25519Oid = "1.3.101.112";

    /// <summary>The base64 <c>p=</c> value.</summary>
    public string P => Convert.ToBase64String(PValue);

    /// <summary>From a DER SubjectPublicKeyInfo (RSA or Ed25519, RFC 5280 4.1.2.7, RFC 8410 4).</summary>
    /// <exception cref="CryptographicException">Not an RSA or Ed25519 SubjectPublicKeyInfo.</exception>
    public static DkimPublicKey FromSubjectPublicKeyInfo(byte[] spki)
    {
        try
        {
            var seq = new AsnReader(spki, AsnEncodingRules.DER).ReadSequence();
            string oid = seq.ReadSequence().ReadObjectIdentifier();
            byte[] key = seq.ReadBitString(out _);
            return oid switch
            {
                RsaOid => new DkimPublicKey("rsa", spki),
                Ed25519Oid when key.Length == 32 => new DkimPublicKey("ed25519", key),
                _ => throw new CryptographicException($"unsupported DKIM key algorithm {oid} (RSA or Ed25519 expected)"),
            };
        }
        catch (AsnContentException e)
        {
            throw new CryptographicException("malformed SubjectPublicKeyInfo", e);
        }
    }

    /// <summary>From a <c>p=</c> base64 text and its <c>k=</c> algorithm (default rsa); white space in the text is ignored.</summary>
    /// <exception cref="FormatException">Bad base64, an unknown algorithm, or an Ed25519 key that is not 32 bytes.</exception>
    public static DkimPublicKey FromPValue(string base64, string algorithm = "rsa")
    {
        byte[] bytes = Convert.FromBase64String(string.Concat(base64.Where(c => !char.IsWhiteSpace(c))));
        string k = algorithm.Trim().ToLowerInvariant();
        if (k == "ed25519" && bytes.Length != 32) throw new FormatException($"an Ed25519 p= value has 32 bytes, not {bytes.Length}");
        if (k is not ("rsa" or "ed25519")) throw new FormatException($"unknown DKIM key type k={algorithm}");
        return new DkimPublicKey(k, bytes);
    }

    /// <summary>
    /// The public key of a PEM private key: <c>RSA PRIVATE KEY</c> (PKCS#1) or <c>PRIVATE KEY</c> (PKCS#8, RFC 5208 / RFC 5958)
    /// holding RSA or Ed25519 (RFC 8410 7). For Ed25519 the public key is taken from the OneAsymmetricKey's publicKey field
    /// when present, else derived from the seed (<see cref="Ed25519.PublicKeyFromSeed"/>).
    /// </summary>
    /// <exception cref="CryptographicException">No private key block, or one that does not parse or has another algorithm.</exception>
    public static DkimPublicKey FromPrivateKeyPem(string pem)
    {
        foreach (var (label, der) in TlsMaterial.PemBlocks(pem))
        {
            if (label == "RSA PRIVATE KEY")
            {
                using var rsa = RSA.Create();
                rsa.ImportRSAPrivateKey(der, out _);
                return new DkimPublicKey("rsa", rsa.ExportSubjectPublicKeyInfo());
            }
            if (label != "PRIVATE KEY") continue;
            try
            {
                string oid = TlsMaterial.Pkcs8AlgorithmOid(der);
                if (oid == RsaOid)
                {
                    using var rsa = RSA.Create();
                    rsa.ImportPkcs8PrivateKey(der, out _);
                    return new DkimPublicKey("rsa", rsa.ExportSubjectPublicKeyInfo());
                }
                if (oid == Ed25519Oid) return new DkimPublicKey("ed25519", Ed25519PublicKey(der));
                throw new CryptographicException($"unsupported DKIM key algorithm {oid} (RSA or Ed25519 expected)");
            }
            catch (AsnContentException e)
            {
                throw new CryptographicException("malformed PKCS#8 private key", e);
            }
        }
        throw new CryptographicException("no PEM private key block (PRIVATE KEY or RSA PRIVATE KEY)");
    }

    // OneAsymmetricKey ::= SEQUENCE { version, privateKeyAlgorithm, privateKey OCTET STRING (CurvePrivateKey ::= OCTET STRING),
    //   attributes [0] OPTIONAL, publicKey [1] BIT STRING OPTIONAL }  (RFC 5958 2, RFC 8410 7)
    private static byte[] Ed25519PublicKey(byte[] der)
    {
        var seq = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        seq.ReadInteger();
        seq.ReadSequence();
        byte[] seed = new AsnReader(seq.ReadOctetString(), AsnEncodingRules.DER).ReadOctetString();
        if (seed.Length != 32) throw new CryptographicException($"an Ed25519 private key has 32 bytes, not {seed.Length}");
        var attributes = new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true);
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(attributes)) seq.ReadEncodedValue();
        if (seq.HasData && seq.PeekTag().HasSameClassAndValue(new Asn1Tag(TagClass.ContextSpecific, 1)))
        {
            byte[] pub = seq.ReadBitString(out _, new Asn1Tag(TagClass.ContextSpecific, 1));
            if (pub.Length == 32) return pub;
        }
        return Ed25519.PublicKeyFromSeed(seed);
    }

    /// <summary>True when this key and <paramref name="other"/> are the same key: same algorithm and equal bytes, or for
    /// RSA the same modulus and exponent (so a <c>p=</c> holding a PKCS#1 RSAPublicKey instead of the SPKI matches too).</summary>
    public bool SameKeyAs(DkimPublicKey other)
    {
        if (Algorithm != other.Algorithm) return false;
        if (PValue.AsSpan().SequenceEqual(other.PValue)) return true;
        if (Algorithm != "rsa") return false;
        RSAParameters? a = RsaParameters(PValue), b = RsaParameters(other.PValue);
        return a is { } x && b is { } y && x.Modulus.AsSpan().SequenceEqual(y.Modulus) && x.Exponent.AsSpan().SequenceEqual(y.Exponent);
    }

    private static RSAParameters? RsaParameters(byte[] data)
    {
        using var rsa = RSA.Create();
        try { rsa.ImportSubjectPublicKeyInfo(data, out _); return rsa.ExportParameters(false); }
        catch (CryptographicException) { }
        try { rsa.ImportRSAPublicKey(data, out _); return rsa.ExportParameters(false); }
        catch (CryptographicException) { return null; }
    }
}

/// <summary>
/// One DKIM key to check: the key record at <c>Selector._domainkey.Domain</c> must carry <see cref="Key"/>.
/// </summary>
/// <param name="Domain">The signing domain (d=).</param>
/// <param name="Selector">The selector (s=).</param>
/// <param name="Key">The public key, or null when it could not be read (<see cref="Problem"/> says why).</param>
/// <param name="Problem">Why the key is unavailable (unreadable file, bad PEM), or null.</param>
public sealed record DkimKeyToCheck(string Domain, string Selector, DkimPublicKey? Key, string? Problem = null)
{
    /// <summary><c>selector._domainkey.domain</c> (RFC 6376 3.6.2.1).</summary>
    public string RecordName => $"{Selector}._domainkey.{Domain.TrimEnd('.')}";
}

/// <summary>The DKIM key record (RFC 6376 3.6.1): text, zone-file form, and parsing of a published one.</summary>
public static class DkimRecord
{
    /// <summary>The record text <c>v=DKIM1; k=ALG; p=BASE64</c>.</summary>
    public static string Text(DkimPublicKey key) => $"v=DKIM1; k={key.Algorithm}; p={key.P}";

    /// <summary>
    /// The TXT record to publish in zone-file syntax: <c>SEL._domainkey.DOMAIN. IN TXT "v=DKIM1; k=rsa; p=..."</c>, the text
    /// split into quoted strings of at most 255 characters (RFC 1035 3.3.14; receivers concatenate them, RFC 6376 3.6.2.2).
    /// </summary>
    public static string ZoneRecord(string recordName, DkimPublicKey key)
    {
        string text = Text(key);
        var parts = new List<string>();
        for (int i = 0; i < text.Length; i += 255) parts.Add($"\"{text.Substring(i, Math.Min(255, text.Length - i))}\"");
        return $"{recordName.TrimEnd('.')}. IN TXT {string.Join(' ', parts)}";
    }

    /// <summary>
    /// Parses a published record's tag list (RFC 6376 3.2): returns the key, or null with <paramref name="problem"/> set when
    /// the text is not a usable DKIM key record (v= other than DKIM1, no p=, empty p= meaning revoked, bad base64).
    /// </summary>
    public static DkimPublicKey? Parse(string text, out string? problem)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in text.Split(';'))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) continue;
            tags.TryAdd(part[..eq].Trim(), part[(eq + 1)..].Trim());
        }
        if (tags.TryGetValue("v", out string? v) && v != "DKIM1") { problem = $"v={v} is not DKIM1"; return null; }
        if (!tags.TryGetValue("p", out string? p)) { problem = "no p= tag"; return null; }
        if (string.Concat(p.Where(c => !char.IsWhiteSpace(c))).Length == 0) { problem = "p= is empty (key revoked)"; return null; }
        try
        {
            problem = null;
            return DkimPublicKey.FromPValue(p, tags.GetValueOrDefault("k", "rsa"));
        }
        catch (FormatException e)
        {
            problem = e.Message;
            return null;
        }
    }
}

/// <summary>
/// Reads the DKIM keys to check from the provisional parameter <c>dkim_signing_keys</c>: items
/// <c>domain:selector:/path/key.pem</c> (the path is everything after the second ':'). Replaceable: the checks take any list
/// of <see cref="DkimKeyToCheck"/>.
/// </summary>
public static class DkimKeySource
{
    /// <summary>
    /// One <see cref="DkimKeyToCheck"/> per item; a key file that cannot be read or parsed gives a <see cref="DkimKeyToCheck.Problem"/>.
    /// </summary>
    /// <exception cref="FormatException">An item without domain, selector and path: <c>dkim_signing_keys: bad item "x": expected domain:selector:/path/key.pem</c>.</exception>
    public static IReadOnlyList<DkimKeyToCheck> FromParameter(IReadOnlyList<string> items)
    {
        var keys = new List<DkimKeyToCheck>();
        foreach (string raw in items)
        {
            string item = raw.Trim();
            if (item.Length == 0) continue;
            string[] parts = item.Split(':', 3);
            if (parts.Length != 3 || parts.Any(p => p.Trim().Length == 0))
                throw new FormatException($"dkim_signing_keys: bad item \"{item}\": expected domain:selector:/path/key.pem");
            string domain = parts[0].Trim().TrimEnd('.').ToLowerInvariant(), selector = parts[1].Trim(), path = parts[2].Trim();
            try
            {
                keys.Add(new DkimKeyToCheck(domain, selector, DkimPublicKey.FromPrivateKeyPem(File.ReadAllText(path, Encoding.ASCII))));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or FormatException)
            {
                keys.Add(new DkimKeyToCheck(domain, selector, null, $"{path}: {e.Message}"));
            }
        }
        return keys;
    }
}
