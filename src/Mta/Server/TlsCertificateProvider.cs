// TlsCertificateProvider: the server certificate for STARTTLS — from smtpd_tls_cert_file/key_file (PEM),
// or, when none is configured, a self-signed one generated once under data_directory/tls (development
// mode; `mta check` will flag it for production).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mta.Server;

/// <summary>Loads or generates the STARTTLS certificate.</summary>
internal static class TlsCertificateProvider
{
    /// <summary>
    /// Returns the certificate with its private key. <paramref name="certFile"/> empty means: use (or create)
    /// <c>dataDirectory/tls/cert.pem</c> and <c>key.pem</c>, self-signed for <paramref name="hostName"/>, valid 1 year.
    /// </summary>
    /// <exception cref="CryptographicException">the PEM files are unreadable or do not match.</exception>
    public static X509Certificate2 Load(string certFile, string keyFile, string hostName, string dataDirectory, out bool generated)
    {
        generated = false;
        if (string.IsNullOrEmpty(certFile))
        {
            var dir = Path.Combine(dataDirectory, "tls");
            certFile = Path.Combine(dir, "cert.pem");
            keyFile = Path.Combine(dir, "key.pem");
            if (!File.Exists(certFile) || !File.Exists(keyFile))
            {
                Directory.CreateDirectory(dir);
                using var rsa = RSA.Create(2048);
                var req = new CertificateRequest($"CN={hostName}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                var san = new SubjectAlternativeNameBuilder();
                san.AddDnsName(hostName);
                req.CertificateExtensions.Add(san.Build());
                req.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
                using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
                File.WriteAllText(keyFile, rsa.ExportPkcs8PrivateKeyPem());
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                File.WriteAllText(certFile, cert.ExportCertificatePem());
                generated = true;
            }
        }
        if (string.IsNullOrEmpty(keyFile)) keyFile = certFile;
        using var loaded = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        // Re-import so the key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }
}
