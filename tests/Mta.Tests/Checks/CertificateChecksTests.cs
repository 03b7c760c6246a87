// TLS checks: files, key match, validity now (expired, not yet valid, expiring within the 14-day
// margin is a warning, an expired chain certificate), and that the certificate covers myhostname
// (RFC 6125 6.4 DNS-ID, wildcard in the left-most label only).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mta.Checks;

namespace Mta.Tests.Checks;

public class CertificateChecksTests
{
    private static readonly TimeSpan Margin = TimeSpan.FromDays(14);

    private static IReadOnlyList<SecurityCheck> Run(TempDir dir, RSA key, X509Certificate2[] chain,
        string host = "mx.example.org", DateTimeOffset? now = null)
    {
        var (cert, keyFile) = TestPki.Write(dir.Path, key, chain);
        return CertificateChecks.Run(TlsMaterial.Load(cert, keyFile), host, now ?? TestPki.Now, Margin);
    }

    private static SecurityCheck Get(IReadOnlyList<SecurityCheck> checks, string name) => Assert.Single(checks, c => c.Name == name);

    [Fact]
    public void Good_chain_passes_every_check()
    {
        using var dir = new TempDir();
        var ca = TestPki.Ca();
        var leaf = TestPki.Leaf(ca, ["mx.example.org"]);
        var checks = Run(dir, leaf.Key, [leaf.Certificate, ca.Certificate]);
        Assert.Equal(["tls-certificate", "tls-key", "tls-validity", "tls-hostname"], checks.Select(c => c.Name));
        Assert.All(checks, c => Assert.Equal(CheckStatus.Ok, c.Status));
        Assert.Contains("2 certificate(s)", Get(checks, "tls-certificate").Detail);
    }

    [Fact]
    public void Expired_certificate_fails_validity()
    {
        using var dir = new TempDir();
        var leaf = TestPki.SelfSigned(["mx.example.org"], TestPki.Now.AddDays(-100), TestPki.Now.AddDays(-1));
        var check = Get(Run(dir, leaf.Key, [leaf.Certificate]), "tls-validity");
        Assert.Equal(CheckStatus.Failure, check.Status);
        Assert.StartsWith("the certificate expired at ", check.Detail);
        Assert.Null(check.RecordToPublish);
    }

    [Fact]
    public void Not_yet_valid_certificate_fails_validity()
    {
        using var dir = new TempDir();
        var leaf = TestPki.SelfSigned(["mx.example.org"], TestPki.Now.AddDays(1), TestPki.Now.AddDays(100));
        var check = Get(Run(dir, leaf.Key, [leaf.Certificate]), "tls-validity");
        Assert.Equal(CheckStatus.Failure, check.Status);
        Assert.StartsWith("the certificate is not valid before ", check.Detail);
    }

    [Theory]
    [InlineData(13, CheckStatus.Warning)]
    [InlineData(1, CheckStatus.Warning)]
    [InlineData(15, CheckStatus.Ok)]
    public void Expiry_within_14_days_is_a_warning(int daysLeft, CheckStatus expected)
    {
        using var dir = new TempDir();
        var leaf = TestPki.SelfSigned(["mx.example.org"], TestPki.Now.AddDays(-60), TestPki.Now.AddDays(daysLeft));
        var check = Get(Run(dir, leaf.Key, [leaf.Certificate]), "tls-validity");
        Assert.Equal(expected, check.Status);
        if (expected == CheckStatus.Warning) Assert.Contains($"in {daysLeft} day(s)", check.Detail);
    }

    [Theory]
    [InlineData("mx.example.org", "other.example.org", CheckStatus.Failure)]
    [InlineData("*.example.org", "mx.example.org", CheckStatus.Ok)]
    [InlineData("*.example.org", "a.mx.example.org", CheckStatus.Failure)]
    [InlineData("MX.Example.ORG", "mx.example.org.", CheckStatus.Ok)]
    public void Certificate_must_cover_myhostname(string certName, string host, CheckStatus expected)
    {
        using var dir = new TempDir();
        var leaf = TestPki.SelfSigned([certName]);
        var check = Get(Run(dir, leaf.Key, [leaf.Certificate], host), "tls-hostname");
        Assert.Equal(expected, check.Status);
        if (expected == CheckStatus.Failure)
            Assert.Equal($"the certificate does not cover {host.TrimEnd('.')} (subjectAltName DNS names: {certName})", check.Detail);
    }

    [Fact]
    public void Key_of_another_certificate_fails_the_key_check()
    {
        using var dir = new TempDir();
        var leaf = TestPki.SelfSigned(["mx.example.org"]);
        using var otherKey = RSA.Create(2048);
        var check = Get(Run(dir, otherKey, [leaf.Certificate]), "tls-key");
        Assert.Equal(CheckStatus.Failure, check.Status);
        Assert.StartsWith("the private key does not match the certificate's public key", check.Detail);
    }

    [Fact]
    public void Ecdsa_key_in_the_certificate_file_is_found()
    {
        using var dir = new TempDir();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=mx.example.org", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("mx.example.org");
        req.CertificateExtensions.Add(san.Build());
        var cert = req.CreateSelfSigned(TestPki.Now.AddDays(-1), TestPki.Now.AddDays(60));
        string both = dir.File("both.pem");
        File.WriteAllText(both, cert.ExportCertificatePem() + "\n" + key.ExportECPrivateKeyPem() + "\n");
        var checks = CertificateChecks.Run(TlsMaterial.Load(both, both), "mx.example.org", TestPki.Now, Margin);
        Assert.All(checks, c => Assert.Equal(CheckStatus.Ok, c.Status));
    }

    [Fact]
    public void Missing_files_fail_certificate_and_key()
    {
        using var dir = new TempDir();
        var checks = CertificateChecks.Run(TlsMaterial.Load(dir.File("nope.pem"), dir.File("nokey.pem")), "mx.example.org", TestPki.Now, Margin);
        Assert.Equal(["tls-certificate", "tls-key"], checks.Select(c => c.Name));
        Assert.All(checks, c => Assert.Equal(CheckStatus.Failure, c.Status));
        Assert.Contains("nope.pem", checks[0].Detail);
    }

    [Fact]
    public void Empty_certificate_parameter_fails_with_the_reason()
    {
        var checks = CertificateChecks.Run(TlsMaterial.Load("", ""), "mx.example.org", TestPki.Now, Margin);
        Assert.Equal(CheckStatus.Failure, checks[0].Status);
        Assert.StartsWith("smtpd_tls_cert_file is empty", checks[0].Detail);
    }
}
