// DkimKeyRecord: the DKIM public key record found in DNS at SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.1:
// tags v, h, k, n, p, s, t; RFC 8463 4.2: k=ed25519 with the raw 32-byte key in p=) and its conversion to
// the key MimeKit verifies with. Also used to check what an administrator published.
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Mta.Dkim;

/// <summary>A parsed DKIM key record. Use <see cref="TryParse"/>; the constructor is private.</summary>
public sealed class DkimKeyRecord
{
    private DkimKeyRecord(string keyType, string publicKey, IReadOnlyList<string>? hashes, IReadOnlyList<string> services, IReadOnlyList<string> flags)
    {
        KeyType = keyType;
        PublicKeyBase64 = publicKey;
        HashAlgorithms = hashes;
        ServiceTypes = services;
        Flags = flags;
    }

    /// <summary>The <c>k=</c> value, lower-case; <c>rsa</c> when absent (RFC 6376 3.6.1).</summary>
    public string KeyType { get; }

    /// <summary>RSA or Ed25519, or null when <see cref="KeyType"/> is unknown.</summary>
    public DkimKeyAlgorithm? Algorithm => KeyType switch { "rsa" => DkimKeyAlgorithm.Rsa, "ed25519" => DkimKeyAlgorithm.Ed25519, _ => null };

    /// <summary>The <c>p=</c> value without whitespace; empty means the key was revoked.</summary>
    public string PublicKeyBase64 { get; }

    /// <summary>True when <c>p=</c> is empty (RFC 6376 3.6.1: the key has been revoked).</summary>
    public bool IsRevoked => PublicKeyBase64.Length == 0;

    /// <summary>The <c>h=</c> hash algorithms, or null when absent (all allowed).</summary>
    public IReadOnlyList<string>? HashAlgorithms { get; }

    /// <summary>The <c>s=</c> service types; <c>*</c> when absent.</summary>
    public IReadOnlyList<string> ServiceTypes { get; }

    /// <summary>The <c>t=</c> flags (<c>y</c>: testing; <c>s</c>: i= domain must equal d=).</summary>
    public IReadOnlyList<string> Flags { get; }

    /// <summary>True when the <c>y</c> flag marks the domain as testing DKIM.</summary>
    public bool Testing => Flags.Contains("y");

    /// <summary>
    /// Parses record text (the TXT strings already concatenated, RFC 6376 3.6.2.2).
    /// </summary>
    /// <param name="text">E.g. <c>v=DKIM1; k=rsa; p=MIIBIjAN...</c>.</param>
    /// <param name="record">The record, or null on error.</param>
    /// <param name="error">Why the text is not a usable key record, or null.</param>
    /// <returns>False when the syntax is wrong, <c>v=</c> is not first or not <c>DKIM1</c>, or <c>p=</c> is missing.</returns>
    public static bool TryParse(string text, out DkimKeyRecord? record, out string? error)
    {
        record = null;
        var tags = TagList.TryParse(text ?? "", out error);
        if (tags is null)
        {
            error = $"key record syntax: {error}";
            return false;
        }
        if (tags["v"] is { } v && (v != "DKIM1" || tags.Order[0] != "v"))
        {
            error = v != "DKIM1" ? $"key record version v={v} is not DKIM1" : "key record v= tag is not first";
            return false;
        }
        if (tags["p"] is not { } p)
        {
            error = "key record has no p= tag";
            return false;
        }
        static IReadOnlyList<string> List(string? value, string fallback) =>
            (value ?? fallback).Split(':').Select(s => s.Trim().ToLowerInvariant()).Where(s => s.Length > 0).ToArray();
        record = new DkimKeyRecord(
            (tags["k"] ?? "rsa").Trim().ToLowerInvariant(),
            TagList.StripWhitespace(p),
            tags["h"] is { } h ? List(h, "") : null,
            List(tags["s"], "*"),
            List(tags["t"], ""));
        error = null;
        return true;
    }

    /// <summary>
    /// Checks that this record may verify a signature made with <paramref name="signatureAlgorithm"/> for e-mail, and returns
    /// the key. RSA keys are accepted as SubjectPublicKeyInfo (RFC 6376 3.6.1) or as a bare PKCS#1 RSAPublicKey.
    /// </summary>
    /// <param name="signatureAlgorithm">The signature's <c>a=</c> value, e.g. <c>rsa-sha256</c>.</param>
    /// <param name="key">The key, or null on error.</param>
    /// <param name="error">Why the record cannot verify the signature (revoked, type mismatch, hash or service not allowed, bad key data).</param>
    internal bool TryGetKeyFor(string signatureAlgorithm, out AsymmetricKeyParameter? key, out string? error)
    {
        key = null;
        if (IsRevoked)
        {
            error = "key revoked (empty p=)";
            return false;
        }
        var dash = signatureAlgorithm.IndexOf('-');
        var (sigKey, sigHash) = dash < 0 ? (signatureAlgorithm, "") : (signatureAlgorithm[..dash], signatureAlgorithm[(dash + 1)..]);
        if (sigKey != KeyType)
        {
            error = $"key type k={KeyType} does not match a={signatureAlgorithm}";
            return false;
        }
        if (HashAlgorithms is not null && !HashAlgorithms.Contains(sigHash))
        {
            error = $"key record h={string.Join(':', HashAlgorithms)} does not allow {sigHash}";
            return false;
        }
        if (!ServiceTypes.Contains("*") && !ServiceTypes.Contains("email"))
        {
            error = $"key record s={string.Join(':', ServiceTypes)} does not allow email";
            return false;
        }
        byte[] data;
        try
        {
            data = Convert.FromBase64String(PublicKeyBase64);
        }
        catch (FormatException)
        {
            error = "key record p= is not valid base64";
            return false;
        }
        try
        {
            switch (Algorithm)
            {
                case DkimKeyAlgorithm.Ed25519:
                    if (data.Length != Ed25519PublicKeyParameters.KeySize)
                    {
                        error = $"Ed25519 key in p= is {data.Length} bytes, not 32";
                        return false;
                    }
                    key = new Ed25519PublicKeyParameters(data, 0);
                    break;
                case DkimKeyAlgorithm.Rsa:
                    var asn = Asn1Object.FromByteArray(data);
                    if (asn is Asn1Sequence seq && seq.Count == 2 && seq[0] is DerInteger)
                    {
                        var pkcs1 = RsaPublicKeyStructure.GetInstance(seq);
                        key = new RsaKeyParameters(false, pkcs1.Modulus, pkcs1.PublicExponent);
                    }
                    else
                    {
                        key = PublicKeyFactory.CreateKey(SubjectPublicKeyInfo.GetInstance(asn));
                    }
                    if (key is not RsaKeyParameters)
                    {
                        error = "p= does not hold an RSA public key";
                        return false;
                    }
                    break;
                default:
                    error = $"unknown key type k={KeyType}";
                    return false;
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or SecurityUtilityException)
        {
            error = $"key record p= is not a valid {KeyType} public key";
            return false;
        }
        error = null;
        return true;
    }
}
