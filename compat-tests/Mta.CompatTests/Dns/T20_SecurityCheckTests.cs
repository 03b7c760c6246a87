// T20 SecurityCheck (issue 5): `mta check` against a real validating resolver (Unbound) in front of a
// real authoritative server (NSD) with zones signed by ldns-signzone. One zone per case; every case
// asserts the exact set of failing check lines (with the record to publish), and where DNS can fix
// the failure, publishing exactly the printed record makes the next `mta check` pass.
//   everything right; TLSA missing; TLSA not matching; zone unsigned (no AD bit); TLSA signature
//   broken (SERVFAIL, RFC 4035 5.5); DKIM TXT missing; DKIM TXT with another key; certificate
//   expired; certificate for another name; SRV records missing.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mta.Checks;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Dns;

/// <summary>The start-up security checks against NSD + Unbound.</summary>
public sealed class T20_SecurityCheckTests(ITestOutputHelper output)
{
    // one DKIM key and two TLS keys for all cases: RSA generation is slow on a busy machine
    private static readonly RSA DkimKey = RSA.Create(2048);
    private static readonly RSA OtherDkimKey = RSA.Create(2048);
    private static readonly RSA TlsKey = RSA.Create(2048);
    private static readonly RSA OtherTlsKey = RSA.Create(2048);

    /// <summary>One case's world: zone, certificate, keys, and the mta check configuration.</summary>
    private sealed class Case
    {
        public required string Zone { get; init; }
        public string MxHost => $"mx.{Zone}";
        public string TlsaOwner => $"_25._tcp.{MxHost}";
        public string CertName { get; init; } = "";
        public DateTimeOffset NotBefore { get; init; } = DateTimeOffset.UtcNow.AddDays(-1);
        public DateTimeOffset NotAfter { get; init; } = DateTimeOffset.UtcNow.AddDays(90);
        public ZoneSigning Signing { get; init; } = ZoneSigning.Signed;

        /// <summary>TLSA 3 1 1 of the TLS key, computed here from the key itself.</summary>
        public string TlsaRecord => $"{TlsaOwner}. IN TLSA 3 1 1 {Convert.ToHexStringLower(SHA256.HashData(TlsKey.ExportSubjectPublicKeyInfo()))}";
        public string DkimRecordText(RSA key) => $"v=DKIM1; k=rsa; p={Convert.ToBase64String(key.ExportSubjectPublicKeyInfo())}";
        public string DkimTxt(RSA key) => DkimRecord.ZoneRecord($"sel._domainkey.{Zone}", new DkimPublicKey("rsa", key.ExportSubjectPublicKeyInfo()));

        /// <summary>Every record of the all-good zone.</summary>
        public List<string> GoodRecords() =>
        [
            $"{Zone}. IN MX 10 {MxHost}.",
            $"{MxHost}. IN A 192.0.2.25",
            TlsaRecord,
            $"_submissions._tcp.{Zone}. IN SRV 0 1 465 {MxHost}.",
            $"_imaps._tcp.{Zone}. IN SRV 0 1 993 {MxHost}.",
            DkimTxt(DkimKey),
        ];
    }

    private static async Task<MtaCheckResult> CheckAsync(Scenario s, Case c, DnsRig dns)
    {
        string dir = s.Dir.Sub("mta-" + Guid.NewGuid().ToString("N")[..6]);
        var req = new CertificateRequest($"CN={(c.CertName.Length > 0 ? c.CertName : c.MxHost)}", TlsKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(c.CertName.Length > 0 ? c.CertName : c.MxHost);
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(c.NotBefore, c.NotAfter);
        string certFile = Path.Combine(dir, "cert.pem"), keyFile = Path.Combine(dir, "key.pem"), dkimFile = Path.Combine(dir, "dkim.pem");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem() + "\n");
        await File.WriteAllTextAsync(keyFile, TlsKey.ExportPkcs8PrivateKeyPem() + "\n");
        await File.WriteAllTextAsync(dkimFile, DkimKey.ExportPkcs8PrivateKeyPem() + "\n");
        var result = await MtaCheck.RunAsync(dir,
        [
            new("myhostname", c.MxHost),
            new("mydestination", $"$myhostname, localhost, {c.Zone}"),
            new("data_directory", Path.Combine(dir, "data")),
            new("smtpd_tls_cert_file", certFile),
            new("smtpd_tls_key_file", keyFile),
            new("dns_resolver", dns.Resolver),
            new("security_check_dns_timeout", "3s"),
            new("dkim_signing_keys", $"{c.Zone}:sel:{dkimFile}"),
        ]);
        s.Note(result.ToString());
        return result;
    }

    private async Task RunCaseAsync(Case c, Func<List<string>, List<string>> zone, Func<Case, string[]> expectedFailures,
        Func<Case, IEnumerable<string>>? publishFixes = null)
    {
        await Scenario.RunAsync(output, async s =>
        {
            var records = zone(c.GoodRecords());
            var dns = s.Own(await DnsRig.StartAsync(s.Dir, [new TestZone(c.Zone, records, c.Signing)]));
            var result = await CheckAsync(s, c, dns);
            string[] expected = expectedFailures(c);
            Assert.Equal("", result.Error);
            Assert.Equal(expected, result.Failures);
            Assert.Empty(result.Warnings);
            Assert.Equal(expected.Length == 0 ? 0 : 1, result.ExitCode);
            Assert.Equal(ExpectedNames(c, tlsaPublished: records.Any(r => r.Contains(" TLSA "))), result.Lines.Select(NameOf));

            if (publishFixes is not null)
            {
                // publish exactly what mta check printed; then every check passes
                var printed = result.Failures.Select(f => f[(f.IndexOf(" ; publish: ", StringComparison.Ordinal) + " ; publish: ".Length)..]).ToList();
                Assert.Equal(publishFixes(c), printed);
                await dns.RepublishAsync([new TestZone(c.Zone, [.. records, .. printed], c.Signing)]);
                var fixedResult = await CheckAsync(s, c, dns);
                Assert.Empty(fixedResult.Failures);
                Assert.Equal(0, fixedResult.ExitCode);
            }
        }, timeoutSeconds: 120);
    }

    private static string NameOf(string line)
    {
        // "status: kind subject: detail" -> "kind subject"
        string rest = line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..];
        return rest[..rest.IndexOf(": ", StringComparison.Ordinal)];
    }

    // every check mta check prints for the case, in order; without a TLSA record there is nothing to match
    private static string[] ExpectedNames(Case c, bool tlsaPublished = true) =>
    [
        "tls-certificate", "tls-key", "tls-validity", "tls-hostname",
        $"mx {c.Zone}", $"mx-dnssec {c.Zone}", $"srv-submission {c.Zone}", $"srv-imap {c.Zone}",
        .. c.Signing == ZoneSigning.BrokenTlsaSignature ? [$"tlsa-dnssec {c.TlsaOwner}"]
            : tlsaPublished ? [$"tlsa {c.TlsaOwner}", $"tlsa-dnssec {c.TlsaOwner}", $"tlsa-match {c.TlsaOwner}"]
            : new[] { $"tlsa {c.TlsaOwner}", $"tlsa-dnssec {c.TlsaOwner}" },
        $"dkim sel._domainkey.{c.Zone}",
    ];

    [Fact]
    public Task Everything_right_passes_every_check() =>
        RunCaseAsync(new Case { Zone = "good.test" }, z => z, _ => []);

    [Fact]
    public Task Tlsa_missing_fails_tlsa_and_the_printed_record_fixes_it() =>
        RunCaseAsync(new Case { Zone = "notlsa.test" }, z => [.. z.Where(r => !r.Contains(" TLSA "))],
            c => [$"failure: tlsa {c.TlsaOwner}: no TLSA record: no record (NXDOMAIN) ; publish: {c.TlsaRecord}"],
            c => [c.TlsaRecord]);

    [Fact]
    public Task Tlsa_not_matching_fails_tlsa_match() =>
        RunCaseAsync(new Case { Zone = "wrongtlsa.test" },
            z => [.. z.Where(r => !r.Contains(" TLSA ")), $"_25._tcp.mx.wrongtlsa.test. IN TLSA 3 1 1 {Convert.ToHexStringLower(SHA256.HashData(OtherTlsKey.ExportSubjectPublicKeyInfo()))}"],
            c => [$"failure: tlsa-match {c.TlsaOwner}: none of 1 TLSA record(s) matches the certificate (CN={c.MxHost}) ; publish: {c.TlsaRecord}"]);

    [Fact]
    public Task Unsigned_zone_fails_the_dnssec_checks() =>
        RunCaseAsync(new Case { Zone = "unsigned.test", Signing = ZoneSigning.Unsigned }, z => z, c =>
        [
            $"failure: mx-dnssec {c.Zone}: the MX answer is not DNSSEC-authenticated (no AD bit): the zone is unsigned, its DS is missing at the parent, " +
                "or the resolver does not validate; DANE senders ignore TLSA without a secure MX (RFC 7672 2.2.1)",
            $"failure: tlsa-dnssec {c.TlsaOwner}: the TLSA records are not DNSSEC-authenticated (no AD bit): the zone is unsigned or the resolver " +
                "does not validate; SMTP clients ignore insecure TLSA records (RFC 7672 2.2)",
        ]);

    [Fact]
    public async Task Broken_tlsa_signature_fails_tlsa_dnssec_with_servfail()
    {
        var c = new Case { Zone = "broken.test", Signing = ZoneSigning.BrokenTlsaSignature };
        await Scenario.RunAsync(output, async s =>
        {
            var dns = s.Own(await DnsRig.StartAsync(s.Dir, [new TestZone(c.Zone, c.GoodRecords(), c.Signing)]));
            var result = await CheckAsync(s, c, dns);
            string failure = Assert.Single(result.Failures);
            Assert.StartsWith($"failure: tlsa-dnssec {c.TlsaOwner}: the resolver answered SERVFAIL (from 127.0.0.1", failure);
            Assert.EndsWith("DNSSEC validation failed (bogus or expired signatures, RFC 4035 5.5) or the zone's servers are unreachable", failure);
            Assert.Equal(1, result.ExitCode);
            Assert.Equal(ExpectedNames(c), result.Lines.Select(NameOf));
        });
    }

    [Fact]
    public Task Dkim_txt_missing_fails_dkim_and_the_printed_record_fixes_it() =>
        RunCaseAsync(new Case { Zone = "nodkim.test" }, z => [.. z.Where(r => !r.Contains("_domainkey"))],
            c => [$"failure: dkim sel._domainkey.{c.Zone}: no TXT record: no record (NXDOMAIN) ; publish: {c.DkimTxt(DkimKey)}"],
            c => [c.DkimTxt(DkimKey)]);

    [Fact]
    public Task Dkim_txt_with_another_key_fails_dkim() =>
        RunCaseAsync(new Case { Zone = "otherdkim.test" }, z => [.. z.Where(r => !r.Contains("_domainkey")), new Case { Zone = "otherdkim.test" }.DkimTxt(OtherDkimKey)],
            c => [$"failure: dkim sel._domainkey.{c.Zone}: the TXT record does not carry the signing key ({Fp(DkimKey)}): another rsa key ({Fp(OtherDkimKey)}) ; publish: {c.DkimTxt(DkimKey)}"]);

    private static string Fp(RSA key) => "sha256 " + Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];

    [Fact]
    public Task Expired_certificate_fails_tls_validity()
    {
        var notAfter = DateTimeOffset.UtcNow.AddDays(-1);
        string stamp = notAfter.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        return RunCaseAsync(new Case { Zone = "expired.test", NotBefore = DateTimeOffset.UtcNow.AddDays(-100), NotAfter = notAfter }, z => z,
            _ => [$"failure: tls-validity: the certificate expired at {stamp}"]);
    }

    [Fact]
    public Task Certificate_for_another_name_fails_tls_hostname() =>
        RunCaseAsync(new Case { Zone = "othername.test", CertName = "mail.elsewhere.test" }, z => z,
            c => [$"failure: tls-hostname: the certificate does not cover {c.MxHost} (subjectAltName DNS names: mail.elsewhere.test)"]);

    [Fact]
    public Task Srv_missing_fails_both_srv_checks_and_the_printed_records_fix_them() =>
        RunCaseAsync(new Case { Zone = "nosrv.test" }, z => [.. z.Where(r => !r.Contains(" SRV "))], c =>
        [
            $"failure: srv-submission {c.Zone}: no SRV record at _submissions._tcp.{c.Zone} or _submission._tcp.{c.Zone} (RFC 6186, RFC 8314) ; publish: _submissions._tcp.{c.Zone}. IN SRV 0 1 465 {c.MxHost}.",
            $"failure: srv-imap {c.Zone}: no SRV record at _imaps._tcp.{c.Zone} or _imap._tcp.{c.Zone} (RFC 6186, RFC 8314) ; publish: _imaps._tcp.{c.Zone}. IN SRV 0 1 993 {c.MxHost}.",
        ], c => [$"_submissions._tcp.{c.Zone}. IN SRV 0 1 465 {c.MxHost}.", $"_imaps._tcp.{c.Zone}. IN SRV 0 1 993 {c.MxHost}."]);
}
