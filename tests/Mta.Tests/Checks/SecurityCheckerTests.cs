// SecurityChecker end to end over a fake resolver: the all-good zone, then one defect at a time
// (TLSA missing / not matching / insecure / SERVFAIL, MX elsewhere or null, SRV missing or ".",
// DKIM missing or another key), each asserting the exact failing check line and record to publish.
using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Mta.Checks;

namespace Mta.Tests.Checks;

/// <summary>In-memory DNS: name+type -> result; unknown names are NXDOMAIN, authenticated unless <see cref="Insecure"/>.</summary>
public sealed class FakeResolver : ISecurityDnsResolver
{
    private readonly Dictionary<string, object> _answers = new(StringComparer.OrdinalIgnoreCase);
    public bool Insecure { get; set; }
    public List<string> Queries { get; } = [];

    public FakeResolver Set<T>(string type, string name, SecureDnsResult<T> result) { _answers[$"{type} {name}"] = result; return this; }
    public FakeResolver Set<T>(string type, string name, params T[] records) => Set(type, name, SecureDnsResult<T>.Of(!Insecure, records));
    public FakeResolver Remove(string type, string name) { _answers.Remove($"{type} {name}"); return this; }

    private Task<SecureDnsResult<T>> Get<T>(string type, string name)
    {
        Queries.Add($"{type} {name}");
        return Task.FromResult(_answers.TryGetValue($"{type} {name}", out object? r)
            ? (SecureDnsResult<T>)r
            : new SecureDnsResult<T>(SecureDnsStatus.NxDomain, !Insecure, []));
    }

    public Task<SecureDnsResult<MxData>> MxAsync(string domain, CancellationToken cancellationToken) => Get<MxData>("MX", domain);
    public Task<SecureDnsResult<IPAddress>> AddressesAsync(string host, CancellationToken cancellationToken) => Get<IPAddress>("A", host);
    public Task<SecureDnsResult<TlsaData>> TlsaAsync(string name, CancellationToken cancellationToken) => Get<TlsaData>("TLSA", name);
    public Task<SecureDnsResult<string>> TxtAsync(string name, CancellationToken cancellationToken) => Get<string>("TXT", name);
    public Task<SecureDnsResult<SrvData>> SrvAsync(string name, CancellationToken cancellationToken) => Get<SrvData>("SRV", name);
}

public sealed class SecurityCheckerTests : IDisposable
{
    private readonly TempDir _dir = new();
    // key generation is slow on a busy 2-core machine: one leaf and one DKIM key for all tests (read-only)
    private static readonly Issued Leaf = TestPki.SelfSigned(["mx.example.org"]);
    private static readonly RSA DkimKey = RSA.Create(2048);
    private static readonly RSA OtherKey = RSA.Create(2048);
    private readonly FakeResolver _dns = new();
    private readonly SecurityCheckInput _input;
    private readonly string _tlsaRecord;

    public SecurityCheckerTests()
    {
        var (cert, key) = TestPki.Write(_dir.Path, Leaf.Key, Leaf.Certificate);
        _input = new SecurityCheckInput
        {
            MyHostname = "mx.example.org",
            Domains = ["example.org"],
            CertificateFile = cert,
            KeyFile = key,
            DkimKeys = [new DkimKeyToCheck("example.org", "sel", new DkimPublicKey("rsa", DkimKey.ExportSubjectPublicKeyInfo()))],
        };
        byte[] spkiHash = SHA256.HashData(Leaf.Key.ExportSubjectPublicKeyInfo());
        _tlsaRecord = $"_25._tcp.mx.example.org. IN TLSA 3 1 1 {Convert.ToHexStringLower(spkiHash)}";
        _dns.Set("MX", "example.org", new MxData(10, "mx.example.org"))
            .Set("TLSA", "_25._tcp.mx.example.org", new TlsaData(3, 1, 1, spkiHash))
            .Set("SRV", "_submissions._tcp.example.org", new SrvData(0, 1, 465, "mx.example.org"))
            .Set("SRV", "_imaps._tcp.example.org", new SrvData(0, 1, 993, "imap.example.org"))
            .Set("TXT", "sel._domainkey.example.org", $"v=DKIM1; k=rsa; p={Convert.ToBase64String(DkimKey.ExportSubjectPublicKeyInfo())}");
    }

    public void Dispose() => _dir.Dispose();

    private Task<IReadOnlyList<SecurityCheck>> RunAsync(SecurityCheckInput? input = null) =>
        new SecurityChecker(_dns, new FakeTimeProvider(TestPki.Now)).RunAsync(input ?? _input);

    private static IEnumerable<string> Failures(IReadOnlyList<SecurityCheck> checks) =>
        checks.Where(c => c.Status == CheckStatus.Failure).Select(c => c.Format());

    [Fact]
    public async Task Everything_right_gives_only_ok_lines_in_a_stable_order()
    {
        var checks = await RunAsync();
        Assert.Empty(Failures(checks));
        Assert.Equal([
            "tls-certificate", "tls-key", "tls-validity", "tls-hostname",
            "mx example.org", "mx-dnssec example.org", "srv-submission example.org", "srv-imap example.org",
            "tlsa _25._tcp.mx.example.org", "tlsa-dnssec _25._tcp.mx.example.org", "tlsa-match _25._tcp.mx.example.org",
            "dkim sel._domainkey.example.org"], checks.Select(c => c.Name));
        Assert.Equal("ok: mx example.org: MX points at this host: mx.example.org (myhostname)", checks[4].Format());
        Assert.Equal("ok: srv-imap example.org: _imaps._tcp.example.org SRV imap.example.org:993", checks[7].Format());
        Assert.Equal("ok: tlsa-match _25._tcp.mx.example.org: 3 1 1 matches the certificate", checks[10].Format());
    }

    [Fact]
    public async Task Missing_tlsa_fails_tlsa_with_the_record_to_publish()
    {
        _dns.Remove("TLSA", "_25._tcp.mx.example.org");
        Assert.Equal([$"failure: tlsa _25._tcp.mx.example.org: no TLSA record: no record (NXDOMAIN) ; publish: {_tlsaRecord}"], Failures(await RunAsync()));
    }

    [Fact]
    public async Task Tlsa_of_another_key_fails_tlsa_match()
    {
        _dns.Set("TLSA", "_25._tcp.mx.example.org", new TlsaData(3, 1, 1, SHA256.HashData(OtherKey.ExportSubjectPublicKeyInfo())),
            new TlsaData(1, 1, 1, SHA256.HashData(Leaf.Key.ExportSubjectPublicKeyInfo())));
        Assert.Equal([$"failure: tlsa-match _25._tcp.mx.example.org: none of 2 TLSA record(s) matches the certificate (CN=mx.example.org); " +
            $"1 record(s) unusable for SMTP (usage 0/1 or unknown selector/matching type, RFC 7672 3.1.3) ; publish: {_tlsaRecord}"], Failures(await RunAsync()));
    }

    [Fact]
    public async Task Unsigned_zone_fails_the_dnssec_checks_only()
    {
        byte[] hash = SHA256.HashData(Leaf.Key.ExportSubjectPublicKeyInfo());
        _dns.Set("MX", "example.org", SecureDnsResult<MxData>.Of(false, new MxData(10, "mx.example.org")))
            .Set("TLSA", "_25._tcp.mx.example.org", SecureDnsResult<TlsaData>.Of(false, new TlsaData(3, 1, 1, hash)));
        var failures = Failures(await RunAsync()).ToList();
        Assert.Equal(2, failures.Count);
        Assert.StartsWith("failure: mx-dnssec example.org: the MX answer is not DNSSEC-authenticated (no AD bit)", failures[0]);
        Assert.StartsWith("failure: tlsa-dnssec _25._tcp.mx.example.org: the TLSA records are not DNSSEC-authenticated (no AD bit)", failures[1]);
    }

    [Fact]
    public async Task Servfail_for_tlsa_is_reported_as_dnssec_failure()
    {
        _dns.Set("TLSA", "_25._tcp.mx.example.org", new SecureDnsResult<TlsaData>(SecureDnsStatus.ServFail, false, [], "from 127.0.0.1:53"));
        var checks = await RunAsync();
        Assert.Equal(["failure: tlsa-dnssec _25._tcp.mx.example.org: the resolver answered SERVFAIL (from 127.0.0.1:53): DNSSEC validation failed " +
            "(bogus or expired signatures, RFC 4035 5.5) or the zone's servers are unreachable"], Failures(checks));
        Assert.DoesNotContain(checks, c => c.Name == "tlsa-match _25._tcp.mx.example.org");
    }

    [Fact]
    public async Task Missing_tlsa_in_an_unsigned_zone_fails_both()
    {
        _dns.Remove("TLSA", "_25._tcp.mx.example.org").Set("TLSA", "_25._tcp.mx.example.org", new SecureDnsResult<TlsaData>(SecureDnsStatus.NoData, false, []));
        Assert.Equal(["tlsa _25._tcp.mx.example.org", "tlsa-dnssec _25._tcp.mx.example.org"],
            (await RunAsync()).Where(c => c.Status == CheckStatus.Failure).Select(c => c.Name));
    }

    [Fact]
    public async Task Mx_pointing_elsewhere_fails_with_the_mx_to_publish()
    {
        _dns.Set("MX", "example.org", new MxData(10, "mail.provider.net"));
        Assert.Equal(["failure: mx example.org: no MX target is this host (myhostname mx.example.org): mail.provider.net ; publish: example.org. IN MX 10 mx.example.org."],
            Failures(await RunAsync()));
    }

    [Fact]
    public async Task Mx_target_with_one_of_our_addresses_is_this_host_and_gets_tlsa_checked()
    {
        byte[] hash = SHA256.HashData(Leaf.Key.ExportSubjectPublicKeyInfo());
        _dns.Set("MX", "example.org", new MxData(20, "backup.provider.net"), new MxData(10, "mail.example.org"))
            .Set("A", "mail.example.org", IPAddress.Parse("192.0.2.25"))
            .Set("A", "backup.provider.net", IPAddress.Parse("198.51.100.7"))
            .Set("TLSA", "_25._tcp.mail.example.org", new TlsaData(3, 1, 1, hash));
        var checks = await RunAsync(_input with { HostAddresses = [IPAddress.Parse("192.0.2.25")] });
        Assert.Empty(Failures(checks));
        Assert.Equal("ok: mx example.org: MX points at this host: mail.example.org (192.0.2.25 is this host), backup.provider.net (198.51.100.7)",
            Assert.Single(checks, c => c.Kind == "mx").Format());
        Assert.Contains(checks, c => c.Name == "tlsa-match _25._tcp.mail.example.org" && c.Status == CheckStatus.Ok);
    }

    [Fact]
    public async Task Null_mx_and_missing_mx_fail()
    {
        _dns.Set("MX", "example.org", new MxData(0, "."));
        Assert.Equal(["failure: mx example.org: the domain publishes a null MX (RFC 7505): it accepts no mail ; publish: example.org. IN MX 10 mx.example.org."],
            Failures(await RunAsync()));
        _dns.Remove("MX", "example.org");
        Assert.Equal(["failure: mx example.org: no MX record: no record (NXDOMAIN) ; publish: example.org. IN MX 10 mx.example.org."],
            Failures(await RunAsync()));
    }

    [Fact]
    public async Task Missing_srv_records_fail_with_the_implicit_tls_record_to_publish()
    {
        _dns.Remove("SRV", "_submissions._tcp.example.org").Remove("SRV", "_imaps._tcp.example.org");
        Assert.Equal([
            "failure: srv-submission example.org: no SRV record at _submissions._tcp.example.org or _submission._tcp.example.org (RFC 6186, RFC 8314) ; publish: _submissions._tcp.example.org. IN SRV 0 1 465 mx.example.org.",
            "failure: srv-imap example.org: no SRV record at _imaps._tcp.example.org or _imap._tcp.example.org (RFC 6186, RFC 8314) ; publish: _imaps._tcp.example.org. IN SRV 0 1 993 mx.example.org."],
            Failures(await RunAsync()));
    }

    [Fact]
    public async Task Starttls_srv_or_a_declared_absent_service_is_enough()
    {
        _dns.Remove("SRV", "_submissions._tcp.example.org").Set("SRV", "_submission._tcp.example.org", new SrvData(0, 1, 587, "mx.example.org"))
            .Remove("SRV", "_imaps._tcp.example.org").Set("SRV", "_imap._tcp.example.org", new SrvData(0, 0, 0, "."));
        var checks = await RunAsync();
        Assert.Empty(Failures(checks));
        Assert.Equal("ok: srv-imap example.org: _imap._tcp.example.org SRV \".\" (service declared not offered)", Assert.Single(checks, c => c.Kind == "srv-imap").Format());
    }

    [Fact]
    public async Task Dkim_txt_missing_or_with_another_key_fails_with_the_record()
    {
        string publish = DkimRecord.ZoneRecord("sel._domainkey.example.org", new DkimPublicKey("rsa", DkimKey.ExportSubjectPublicKeyInfo()));
        _dns.Remove("TXT", "sel._domainkey.example.org");
        Assert.Equal([$"failure: dkim sel._domainkey.example.org: no TXT record: no record (NXDOMAIN) ; publish: {publish}"], Failures(await RunAsync()));

        _dns.Set("TXT", "sel._domainkey.example.org", $"v=DKIM1; k=rsa; p={Convert.ToBase64String(OtherKey.ExportSubjectPublicKeyInfo())}");
        string failure = Assert.Single(Failures(await RunAsync()));
        Assert.StartsWith("failure: dkim sel._domainkey.example.org: the TXT record does not carry the signing key (sha256 ", failure);
        Assert.Contains("): another rsa key (sha256 ", failure);
        Assert.EndsWith($" ; publish: {publish}", failure);
    }

    [Fact]
    public async Task Unreadable_dkim_key_fails_without_a_lookup()
    {
        var checks = await RunAsync(_input with { DkimKeys = [new DkimKeyToCheck("example.org", "sel", null, "/etc/k.pem: not found")] });
        Assert.Equal(["failure: dkim sel._domainkey.example.org: the signing key is unusable: /etc/k.pem: not found"], Failures(checks));
        Assert.DoesNotContain("TXT sel._domainkey.example.org", _dns.Queries);
    }

    [Fact]
    public async Task No_certificate_still_checks_dns_but_cannot_say_what_tlsa_to_publish()
    {
        var checks = await RunAsync(_input with { CertificateFile = _dir.File("missing.pem") });
        var tlsaMatch = Assert.Single(checks, c => c.Kind == "tlsa-match");
        Assert.Equal("failure: tlsa-match _25._tcp.mx.example.org: no certificate to compare with (see tls-certificate)", tlsaMatch.Format());
        Assert.Equal(CheckStatus.Failure, Assert.Single(checks, c => c.Kind == "tls-certificate").Status);
    }

    [Fact]
    public void Format_has_one_shape_per_status()
    {
        Assert.Equal("ok: a: b", new SecurityCheck("a", CheckStatus.Ok, "b").Format());
        Assert.Equal("warning: a: b", new SecurityCheck("a", CheckStatus.Warning, "b").Format());
        Assert.Equal("failure: a: b", new SecurityCheck("a", CheckStatus.Failure, "b").Format());
        Assert.Equal("failure: a x: b ; publish: r", new SecurityCheck("a x", CheckStatus.Failure, "b", "r").Format());
        Assert.Equal("a", new SecurityCheck("a x", CheckStatus.Ok, "b").Kind);
    }
}
