// DkimKeyGenerator: creates DKIM signing keys (RSA 2048 bits, or Ed25519 per RFC 8463), writes the private
// key as PKCS#8 PEM readable only by its owner (mode 0600), and returns the key record to publish
// (RFC 6376 3.6.1, 3.6.2.1).
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Mta.Dkim;

/// <summary>Generates DKIM keys and their DNS records.</summary>
public static class DkimKeyGenerator
{
    /// <summary>RSA modulus size of generated keys, in bits.</summary>
    public const int RsaBits = 2048;

    /// <summary>Creates a new key in memory.</summary>
    /// <param name="algorithm">RSA (2048 bits) or Ed25519.</param>
    public static DkimKey Generate(DkimKeyAlgorithm algorithm)
    {
        switch (algorithm)
        {
            case DkimKeyAlgorithm.Rsa:
                using (var rsa = RSA.Create(RsaBits))
                    return DkimKey.FromPem(new string(PemEncoding.Write("PRIVATE KEY", rsa.ExportPkcs8PrivateKey())));
            case DkimKeyAlgorithm.Ed25519:
                var gen = new Ed25519KeyPairGenerator();
                gen.Init(new Ed25519KeyGenerationParameters(new SecureRandom()));
                var pair = gen.GenerateKeyPair();
                return DkimKey.FromEd25519Seed(((Ed25519PrivateKeyParameters)pair.Private).GetEncoded());
            default:
                throw new ArgumentOutOfRangeException(nameof(algorithm));
        }
    }

    /// <summary>
    /// Generates a key, writes it to <paramref name="path"/> as PKCS#8 PEM with mode 0600 (created new; an existing
    /// file is never overwritten), and returns the key record for <paramref name="selector"/>._domainkey.<paramref name="domain"/>.
    /// </summary>
    /// <param name="domain">Signing domain, e.g. <c>example.org</c>.</param>
    /// <param name="selector">Selector, e.g. <c>sel1</c> (a DNS label: letters, digits, '-', '_', dots between labels).</param>
    /// <param name="algorithm">RSA or Ed25519.</param>
    /// <param name="path">File to create.</param>
    /// <returns>The key and its record.</returns>
    /// <exception cref="DkimKeyException">The file exists or cannot be created.</exception>
    /// <exception cref="ArgumentException">The domain or selector is not a valid DNS name.</exception>
    public static (DkimKey Key, DkimDnsRecord Record) GenerateToFile(string domain, string selector, DkimKeyAlgorithm algorithm, string path)
    {
        DkimNames.ValidateDomain(domain, nameof(domain));
        DkimNames.ValidateSelector(selector, nameof(selector));
        ArgumentException.ThrowIfNullOrEmpty(path);
        var key = Generate(algorithm);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
        };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(key.ExportPkcs8Pem());
            writer.Flush();
            stream.Flush(flushToDisk: true);
        }
        catch (IOException e) when (File.Exists(path) && e is not DirectoryNotFoundException)
        {
            throw new DkimKeyException("the file exists; refusing to overwrite a key (remove it first or choose another selector)", path, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DkimKeyException($"cannot create key file: {e.Message}", path, e);
        }
        return (key, new DkimDnsRecord(domain, selector, key.KeyRecordText));
    }

    /// <summary>
    /// The conventional file name for a key: <c>SELECTOR.DOMAIN.rsa.pem</c> or <c>SELECTOR.DOMAIN.ed25519.pem</c>.
    /// </summary>
    public static string FileName(string domain, string selector, DkimKeyAlgorithm algorithm) =>
        $"{selector}.{domain.TrimEnd('.').ToLowerInvariant()}.{algorithm.FileSuffix()}.pem";
}
