// DkimKey: a DKIM private key loaded from PEM (RSA as PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE KEY";
// Ed25519 as PKCS#8 "PRIVATE KEY", RFC 8410 7) and the public half in the form the DNS key record
// publishes (RFC 6376 3.6.1 p= for RSA: base64 SubjectPublicKeyInfo; RFC 8463 4.2 p= for Ed25519: the
// base64 32-byte raw public key). RSA keys below 2048 bits are refused (RFC 8301 3.2 says signers
// SHOULD use at least 2048 bits; we make it a MUST).
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Mta.Dkim;

/// <summary>
/// A private signing key with its algorithm and public key. Immutable and safe to share between threads.
/// <para>Load with <see cref="LoadPemFile"/> or <see cref="FromPem"/>; create new keys with <see cref="DkimKeyGenerator"/>.</para>
/// </summary>
public sealed class DkimKey
{
    /// <summary>The smallest RSA modulus accepted for signing, in bits (RFC 8301 3.2 recommendation).</summary>
    public const int MinimumRsaBits = 2048;

    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string Ed25519Oid = "1.3.101.112";

    private readonly byte[]? _rsaPkcs8;
    private readonly ConcurrentBag<RSA> _rsaPool = new();

    private DkimKey(DkimKeyAlgorithm algorithm, int bits, AsymmetricKeyParameter privateKey, byte[] publicKeyForDns, byte[]? rsaPkcs8)
    {
        Algorithm = algorithm;
        KeySizeBits = bits;
        PrivateKey = privateKey;
        PublicKeyBase64 = Convert.ToBase64String(publicKeyForDns);
        _rsaPkcs8 = rsaPkcs8;
    }

    /// <summary>RSA or Ed25519.</summary>
    public DkimKeyAlgorithm Algorithm { get; }

    /// <summary>Key size in bits: the RSA modulus length, or 256 for Ed25519.</summary>
    public int KeySizeBits { get; }

    /// <summary>
    /// The public key as published in the key record's <c>p=</c> tag: base64 of the DER SubjectPublicKeyInfo
    /// for RSA (RFC 6376 3.6.1), base64 of the 32 raw bytes for Ed25519 (RFC 8463 4.2). No line breaks.
    /// </summary>
    public string PublicKeyBase64 { get; }

    /// <summary>The key record text to publish: <c>v=DKIM1; k=rsa|ed25519; p=BASE64</c> (one string, unsplit).</summary>
    public string KeyRecordText => $"v=DKIM1; k={Algorithm.KeyType()}; p={PublicKeyBase64}";

    /// <summary>The private key as MimeKit's signer wants it.</summary>
    internal AsymmetricKeyParameter PrivateKey { get; }

    /// <summary>The public key parameters (what a verifier obtains from DNS).</summary>
    internal AsymmetricKeyParameter PublicKey => PrivateKey switch
    {
        RsaPrivateCrtKeyParameters rsa => new RsaKeyParameters(false, rsa.Modulus, rsa.PublicExponent),
        Ed25519PrivateKeyParameters ed => ed.GeneratePublicKey(),
        _ => throw new InvalidOperationException("unreachable"),
    };

    /// <summary>
    /// Reads a PEM file holding one private key (the first private-key block is used).
    /// </summary>
    /// <param name="path">File path; the file is read as ASCII/UTF-8 text.</param>
    /// <returns>The key.</returns>
    /// <exception cref="DkimKeyException">
    /// The file is missing or unreadable; holds no private key; holds an encrypted, public-only, OpenSSH,
    /// EC or other unsupported key; or an RSA key under <see cref="MinimumRsaBits"/> bits. The message names the file.
    /// </exception>
    public static DkimKey LoadPemFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DkimKeyException($"cannot read DKIM key file: {e.Message}", path, e);
        }
        return FromPem(text, path);
    }

    /// <summary>Parses PEM text holding one private key; see <see cref="LoadPemFile"/> for the accepted formats.</summary>
    /// <param name="pem">PEM text (other blocks such as certificates may surround the key).</param>
    /// <param name="sourceName">Named in error messages (usually the file path); null for none.</param>
    /// <exception cref="DkimKeyException">As for <see cref="LoadPemFile"/>.</exception>
    public static DkimKey FromPem(string pem, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(pem);
        if (pem.Contains("Proc-Type: 4,ENCRYPTED", StringComparison.Ordinal))
            throw new DkimKeyException("the key is encrypted with a passphrase; store it unencrypted with mode 0600 (openssl pkey -in KEY -out KEY.plain)", sourceName);

        ReadOnlySpan<char> rest = pem;
        var labels = new List<string>();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            labels.Add(label);
            byte[] der;
            try
            {
                der = Convert.FromBase64String(rest[fields.Base64Data].ToString());
            }
            catch (FormatException e)
            {
                throw new DkimKeyException($"the PEM block '{label}' is not valid base64", sourceName, e);
            }
            switch (label)
            {
                case "RSA PRIVATE KEY":
                    return FromRsa(sourceName, rsa => rsa.ImportRSAPrivateKey(der, out _));
                case "PRIVATE KEY":
                    return FromPkcs8(der, sourceName);
                case "ENCRYPTED PRIVATE KEY":
                    throw new DkimKeyException("the key is encrypted (PKCS#8 ENCRYPTED PRIVATE KEY); store it unencrypted with mode 0600", sourceName);
                case "OPENSSH PRIVATE KEY":
                    throw new DkimKeyException("OpenSSH key format is not supported; convert it to PKCS#8 PEM (ssh-keygen -p -m PKCS8 -f KEY)", sourceName);
                case "EC PRIVATE KEY":
                    throw new DkimKeyException("ECDSA keys cannot sign DKIM; use RSA (2048 bits or more) or Ed25519", sourceName);
            }
            rest = rest[fields.Location.End..];
        }
        if (labels.Count == 0)
            throw new DkimKeyException("no PEM private key found (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)", sourceName);
        throw new DkimKeyException($"no private key found; the PEM blocks are: {string.Join(", ", labels)} (a DKIM signer needs PRIVATE KEY or RSA PRIVATE KEY)", sourceName);
    }

    /// <summary>Wraps a raw 32-byte Ed25519 private key (the RFC 8032 seed, as printed in RFC 8463 appendix A).</summary>
    /// <param name="seed">Exactly 32 bytes.</param>
    /// <exception cref="DkimKeyException">The length is not 32 bytes.</exception>
    public static DkimKey FromEd25519Seed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != Ed25519PrivateKeyParameters.KeySize)
            throw new DkimKeyException($"an Ed25519 private key is {Ed25519PrivateKeyParameters.KeySize} bytes, not {seed.Length}");
        var key = new Ed25519PrivateKeyParameters(seed.ToArray(), 0);
        return new DkimKey(DkimKeyAlgorithm.Ed25519, 256, key, key.GeneratePublicKey().GetEncoded(), null);
    }

    /// <summary>Writes the private key as PKCS#8 PEM (<c>-----BEGIN PRIVATE KEY-----</c>), LF line ends.</summary>
    public string ExportPkcs8Pem()
    {
        var der = Org.BouncyCastle.Pkcs.PrivateKeyInfoFactory.CreatePrivateKeyInfo(PrivateKey).GetDerEncoded();
        return new string(PemEncoding.Write("PRIVATE KEY", der)) + "\n";
    }

    private static DkimKey FromPkcs8(byte[] der, string? sourceName)
    {
        PrivateKeyInfo info;
        try
        {
            info = PrivateKeyInfo.GetInstance(der);
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException)
        {
            throw new DkimKeyException("the PRIVATE KEY block is not a valid PKCS#8 structure", sourceName, e);
        }
        var oid = info.PrivateKeyAlgorithm.Algorithm.Id;
        switch (oid)
        {
            case RsaOid:
                return FromRsa(sourceName, rsa => rsa.ImportPkcs8PrivateKey(der, out _));
            case Ed25519Oid:
                Ed25519PrivateKeyParameters ed;
                try
                {
                    ed = (Ed25519PrivateKeyParameters)PrivateKeyFactory.CreateKey(info);
                }
                catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException)
                {
                    throw new DkimKeyException("the Ed25519 PRIVATE KEY block is malformed", sourceName, e);
                }
                return new DkimKey(DkimKeyAlgorithm.Ed25519, 256, ed, ed.GeneratePublicKey().GetEncoded(), null);
            case "1.2.840.10045.2.1":
                throw new DkimKeyException("ECDSA keys cannot sign DKIM; use RSA (2048 bits or more) or Ed25519", sourceName);
            default:
                throw new DkimKeyException($"unsupported key algorithm {oid}; use RSA (2048 bits or more) or Ed25519", sourceName);
        }
    }

    private static DkimKey FromRsa(string? sourceName, Action<RSA> import)
    {
        using var rsa = RSA.Create();
        try
        {
            import(rsa);
        }
        catch (CryptographicException e)
        {
            throw new DkimKeyException($"the RSA private key is malformed: {e.Message}", sourceName, e);
        }
        if (rsa.KeySize < MinimumRsaBits)
            throw new DkimKeyException($"the RSA key has {rsa.KeySize} bits; DKIM signing keys must have at least {MinimumRsaBits} bits (RFC 8301 3.2); generate a new one with `mta dkim keygen`", sourceName);
        var pkcs8 = rsa.ExportPkcs8PrivateKey();
        var bc = (RsaPrivateCrtKeyParameters)PrivateKeyFactory.CreateKey(pkcs8);
        return new DkimKey(DkimKeyAlgorithm.Rsa, rsa.KeySize, bc, rsa.ExportSubjectPublicKeyInfo(), pkcs8);
    }

    /// <summary>
    /// Signs a SHA-256 digest with RSASSA-PKCS1-v1_5 through System.Security.Cryptography (OpenSSL), which is
    /// much faster than BouncyCastle's managed RSA. RSA instances are pooled because an instance is not
    /// documented as safe for concurrent use.
    /// </summary>
    internal byte[] RsaSignSha256Digest(ReadOnlySpan<byte> digest)
    {
        if (_rsaPkcs8 is null)
            throw new InvalidOperationException("not an RSA key");
        if (!_rsaPool.TryTake(out var rsa))
        {
            rsa = RSA.Create();
            rsa.ImportPkcs8PrivateKey(_rsaPkcs8, out _);
        }
        try
        {
            return rsa.SignHash(digest.ToArray(), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        }
        finally
        {
            _rsaPool.Add(rsa);
        }
    }
}
