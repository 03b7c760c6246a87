// TestPki: certificates and keys made in the test with CertificateRequest (no files from outside):
// a CA, end-entity certificates it issues, self-signed ones, PEM files in a temporary directory.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mta.Tests.Checks;

/// <summary>A certificate with its private key.</summary>
public sealed record Issued(X509Certificate2 Certificate, RSA Key);

public static class TestPki
{
    public static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static Issued Ca(string name = "Test CA")
    {
        var key = RSA.Create(2048);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        req.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        return new Issued(req.CreateSelfSigned(Now.AddYears(-1), Now.AddYears(5)), key);
    }

    private static CertificateRequest LeafRequest(RSA key, string[] dnsNames)
    {
        var req = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var n in dnsNames) san.AddDnsName(n);
        req.CertificateExtensions.Add(san.Build());
        return req;
    }

    public static Issued Leaf(Issued ca, string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var key = RSA.Create(2048);
        var cert = LeafRequest(key, dnsNames).Create(ca.Certificate, notBefore ?? Now.AddDays(-30), notAfter ?? Now.AddDays(90),
            RandomNumberGenerator.GetBytes(8));
        return new Issued(cert, key);
    }

    public static Issued SelfSigned(string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var key = RSA.Create(2048);
        return new Issued(LeafRequest(key, dnsNames).CreateSelfSigned(notBefore ?? Now.AddDays(-30), notAfter ?? Now.AddDays(90)), key);
    }

    /// <summary>Writes the chain to DIR/cert.pem and the key (PKCS#8) to DIR/key.pem; returns both paths.</summary>
    public static (string Cert, string Key) Write(string dir, RSA key, params X509Certificate2[] chain)
    {
        Directory.CreateDirectory(dir);
        string cert = Path.Combine(dir, "cert.pem"), keyFile = Path.Combine(dir, "key.pem");
        File.WriteAllText(cert, string.Concat(chain.Select(c => c.ExportCertificatePem() + "\n")));
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (cert, keyFile);
    }
}

/// <summary>A temporary directory removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mta-checks-" + Guid.NewGuid().ToString("N")[..8]);
    public TempDir() => Directory.CreateDirectory(Path);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() { try { Directory.Delete(Path, true); } catch (IOException) { } }
}
