// CertificateChecks: the TLS part of the start-up checks — the certificate chain and private key
// files exist and parse (PEM, RFC 7468), the key matches the end-entity certificate's public key,
// every certificate is valid now (RFC 5280 4.1.2.5; a warning within the expiry margin), and the end
// entity covers myhostname (RFC 6125 6.4: DNS-ID in subjectAltName, one left-most wildcard label).
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mta.Checks;

/// <summary>A loaded certificate chain and the result of loading its key.</summary>
/// <param name="Chain">Certificates in file order (end entity first); empty when the file could not be read.</param>
/// <param name="KeySpki">The private key's SubjectPublicKeyInfo DER, null when the key could not be read.</param>
/// <param name="CertificateError">Why the chain could not be loaded, or null.</param>
/// <param name="KeyError">Why the key could not be loaded, or null.</param>
public sealed record TlsMaterial(IReadOnlyList<X509Certificate2> Chain, byte[]? KeySpki, string? CertificateError, string? KeyError)
{
    /// <summary>
    /// Reads <paramref name="certFile"/> (PEM, every CERTIFICATE block, end entity first) and <paramref name="keyFile"/>
    /// (PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY; may be the same file). Never throws for bad files.
    /// </summary>
    public static TlsMaterial Load(string certFile, string keyFile)
    {
        List<X509Certificate2> chain = [];
        string? certError = null;
        if (string.IsNullOrWhiteSpace(certFile))
            certError = "smtpd_tls_cert_file is empty (only the development mode generates a self-signed certificate)";
        else
        {
            try
            {
                var collection = new X509Certificate2Collection();
                collection.ImportFromPemFile(certFile);
                chain.AddRange(collection);
                if (chain.Count == 0) certError = $"{certFile}: no PEM CERTIFICATE block";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                certError = $"{certFile}: {e.Message}";
            }
        }
        byte[]? spki = null;
        string? keyError = null;
        if (string.IsNullOrWhiteSpace(keyFile)) keyError = "smtpd_tls_key_file is empty";
        else
        {
            try
            {
                spki = PrivateKeySpki(File.ReadAllText(keyFile)) ?? throw new CryptographicException("no PEM private key block (PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY)");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or AsnContentException)
            {
                keyError = $"{keyFile}: {e.Message}";
            }
        }
        return new TlsMaterial(chain, spki, certError, keyError);
    }

    /// <summary>The SubjectPublicKeyInfo DER of the first private key PEM block in <paramref name="pem"/>, or null when there is none.</summary>
    /// <exception cref="CryptographicException">The key block does not parse, or its algorithm is not RSA or EC.</exception>
    internal static byte[]? PrivateKeySpki(string pem)
    {
        foreach (var (label, der) in PemBlocks(pem))
        {
            switch (label)
            {
                case "RSA PRIVATE KEY":
                    using (var rsa = RSA.Create()) { rsa.ImportRSAPrivateKey(der, out _); return rsa.ExportSubjectPublicKeyInfo(); }
                case "EC PRIVATE KEY":
                    using (var ec = ECDsa.Create()) { ec.ImportECPrivateKey(der, out _); return ec.ExportSubjectPublicKeyInfo(); }
                case "PRIVATE KEY":
                    string oid = Pkcs8AlgorithmOid(der);
                    if (oid == "1.2.840.113549.1.1.1")
                        using (var rsa = RSA.Create()) { rsa.ImportPkcs8PrivateKey(der, out _); return rsa.ExportSubjectPublicKeyInfo(); }
                    if (oid == "1.2.840.10045.2.1")
                        using (var ec = ECDsa.Create()) { ec.ImportPkcs8PrivateKey(der, out _); return ec.ExportSubjectPublicKeyInfo(); }
                    throw new CryptographicException($"unsupported TLS key algorithm {oid} (RSA or ECDSA expected)");
            }
        }
        return null;
    }

    /// <summary>Every PEM block of <paramref name="pem"/> as (label, DER) (RFC 7468 2).</summary>
    internal static IEnumerable<(string Label, byte[] Der)> PemBlocks(string pem)
    {
        ReadOnlyMemory<char> rest = pem.AsMemory();
        while (PemEncoding.TryFind(rest.Span, out PemFields fields))
        {
            string label = new(rest.Span[fields.Label]);
            byte[] der = Convert.FromBase64String(new string(rest.Span[fields.Base64Data]));
            yield return (label, der);
            rest = rest[fields.Location.End..];
        }
    }

    /// <summary>The privateKeyAlgorithm OID of a PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5208 5, RFC 5958 2).</summary>
    internal static string Pkcs8AlgorithmOid(byte[] der)
    {
        var reader = new AsnReader(der, AsnEncodingRules.DER);
        var seq = reader.ReadSequence();
        seq.ReadInteger();
        return seq.ReadSequence().ReadObjectIdentifier();
    }
}

/// <summary>The TLS checks: <c>tls-certificate</c>, <c>tls-key</c>, <c>tls-validity</c>, <c>tls-hostname</c>.</summary>
public static class CertificateChecks
{
    /// <summary>
    /// Checks <paramref name="material"/> for <paramref name="myHostname"/> at <paramref name="now"/>. When the chain could not be
    /// loaded only <c>tls-certificate</c> (failure) and <c>tls-key</c> are reported.
    /// </summary>
    /// <param name="material">The loaded chain and key.</param>
    /// <param name="myHostname">The name the certificate must cover.</param>
    /// <param name="now">The current time.</param>
    /// <param name="expiryWarning">A certificate expiring within this time is a warning (14 days by default).</param>
    public static IReadOnlyList<SecurityCheck> Run(TlsMaterial material, string myHostname, DateTimeOffset now, TimeSpan expiryWarning)
    {
        var results = new List<SecurityCheck>();
        if (material.CertificateError is not null || material.Chain.Count == 0)
        {
            results.Add(SecurityCheck.Fail("tls-certificate", material.CertificateError ?? "no certificate"));
            results.Add(material.KeyError is not null
                ? SecurityCheck.Fail("tls-key", material.KeyError)
                : SecurityCheck.Ok("tls-key", "private key readable (not compared: no certificate)"));
            return results;
        }
        X509Certificate2 leaf = material.Chain[0];
        results.Add(SecurityCheck.Ok("tls-certificate", $"{Describe(leaf)}, {material.Chain.Count} certificate(s) in the chain"));

        if (material.KeyError is not null)
            results.Add(SecurityCheck.Fail("tls-key", material.KeyError));
        else if (!material.KeySpki!.AsSpan().SequenceEqual(leaf.PublicKey.ExportSubjectPublicKeyInfo()))
            results.Add(SecurityCheck.Fail("tls-key", $"the private key does not match the certificate's public key ({Describe(leaf)})"));
        else
            results.Add(SecurityCheck.Ok("tls-key", "the private key matches the certificate"));

        results.Add(Validity(material.Chain, now, expiryWarning));

        string host = myHostname.Trim().TrimEnd('.');
        string names = string.Join(", ", DnsNames(leaf).DefaultIfEmpty("none"));
        results.Add(leaf.MatchesHostname(host, allowWildcards: true, allowCommonName: false)
            ? SecurityCheck.Ok("tls-hostname", $"the certificate covers {host}")
            : SecurityCheck.Fail("tls-hostname", $"the certificate does not cover {host} (subjectAltName DNS names: {names})"));
        return results;
    }

    private static SecurityCheck Validity(IReadOnlyList<X509Certificate2> chain, DateTimeOffset now, TimeSpan expiryWarning)
    {
        for (int i = 0; i < chain.Count; i++)
        {
            X509Certificate2 c = chain[i];
            string which = i == 0 ? "the certificate" : $"chain certificate {i + 1} ({c.Subject})";
            DateTimeOffset notBefore = new(c.NotBefore.ToUniversalTime(), TimeSpan.Zero), notAfter = new(c.NotAfter.ToUniversalTime(), TimeSpan.Zero);
            if (now < notBefore) return SecurityCheck.Fail("tls-validity", $"{which} is not valid before {Stamp(notBefore)}");
            if (now > notAfter) return SecurityCheck.Fail("tls-validity", $"{which} expired at {Stamp(notAfter)}");
        }
        DateTimeOffset first = chain.Min(c => new DateTimeOffset(c.NotAfter.ToUniversalTime(), TimeSpan.Zero));
        if (first - now < expiryWarning)
            return SecurityCheck.Warn("tls-validity", $"expires at {Stamp(first)}, in {(first - now).TotalDays:F0} day(s): renew it");
        return SecurityCheck.Ok("tls-validity", $"valid until {Stamp(first)}");
    }

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Describe(X509Certificate2 c) => $"subject {c.Subject}, issuer {c.Issuer}";

    /// <summary>The dNSName entries of the subjectAltName extension.</summary>
    internal static IEnumerable<string> DnsNames(X509Certificate2 c) =>
        c.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames());
}
