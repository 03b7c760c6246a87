// SecurityChecker: runs the start-up security checks of issue 5 against the configured resolver
// and returns one SecurityCheck per finding, in a stable order:
//   TLS: tls-certificate, tls-key, tls-validity, tls-hostname (RFC 5280 4.1.2.5, RFC 6125 6.4)
//   per domain: mx (RFC 5321 5.1, RFC 7505 null MX), mx-dnssec (RFC 7672 2.2.1: a secure MX RRset),
//     srv-submission (_submissions._tcp RFC 8314 5.1 or _submission._tcp RFC 6186 3.1),
//     srv-imap (_imaps._tcp RFC 8314 5.1 or _imap._tcp RFC 6186 3.2; target "." = not offered, RFC 6186 3)
//   per MX host of this server: tlsa (RFC 7672 2.2.3 _25._tcp.HOST), tlsa-dnssec (AD bit, RFC 4035 3.2.3;
//     RFC 7672 2.2: only secure TLSA records count), tlsa-match (RFC 6698 2.1, RFC 7671 5.1/5.2)
//   per DKIM key: dkim (RFC 6376 3.6.2.1 selector._domainkey.domain carries the key)
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mta.Checks;

/// <summary>Everything the checks need, as plain data.</summary>
public sealed record SecurityCheckInput
{
    /// <summary>myhostname: the name the certificate must cover, and an MX target with this name is this host.</summary>
    public required string MyHostname { get; init; }
    /// <summary>Domains we receive for (<see cref="ChecksOptions.DomainsToCheck"/>): MX, SRV and, via their MX hosts, TLSA.</summary>
    public IReadOnlyList<string> Domains { get; init; } = [];
    /// <summary>Public addresses of this host: an MX target resolving to one of them is this host too.</summary>
    public IReadOnlyList<IPAddress> HostAddresses { get; init; } = [];
    /// <summary>PEM certificate chain file (smtpd_tls_cert_file).</summary>
    public string CertificateFile { get; init; } = "";
    /// <summary>PEM private key file (smtpd_tls_key_file).</summary>
    public string KeyFile { get; init; } = "";
    /// <summary>The DKIM keys to check (domains we sign for).</summary>
    public IReadOnlyList<DkimKeyToCheck> DkimKeys { get; init; } = [];
    /// <summary>A certificate expiring within this time is a warning.</summary>
    public TimeSpan CertificateExpiryWarning { get; init; } = TimeSpan.FromDays(14);
}

/// <summary>Runs the checks. Stateless apart from its resolver and clock; safe to reuse.</summary>
/// <param name="resolver">The DNS lookups (a validating resolver for the DNSSEC checks to pass).</param>
/// <param name="time">The clock for certificate validity (null: the system clock).</param>
public sealed class SecurityChecker(ISecurityDnsResolver resolver, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>
    /// Runs every check for <paramref name="input"/>. DNS errors become failures, never exceptions; only cancellation throws.
    /// </summary>
    public async Task<IReadOnlyList<SecurityCheck>> RunAsync(SecurityCheckInput input, CancellationToken cancellationToken = default)
    {
        string me = Normalize(input.MyHostname);
        TlsMaterial tls = TlsMaterial.Load(input.CertificateFile, input.KeyFile);
        var results = new List<SecurityCheck>(CertificateChecks.Run(tls, me, _time.GetUtcNow(), input.CertificateExpiryWarning));

        // domains in parallel, results kept in input order
        var perDomain = await Task.WhenAll(input.Domains.Select(d => CheckDomainAsync(Normalize(d), me, input.HostAddresses, cancellationToken))).ConfigureAwait(false);
        var tlsaHosts = new List<string> { me };
        foreach (var (checks, ourHosts) in perDomain)
        {
            results.AddRange(checks);
            tlsaHosts.AddRange(ourHosts.Where(h => !tlsaHosts.Contains(h)));
        }

        X509Certificate2? leaf = tls.Chain.Count > 0 ? tls.Chain[0] : null;
        foreach (var checks in await Task.WhenAll(tlsaHosts.Select(h => CheckTlsaAsync(h, tls.Chain, leaf, cancellationToken))).ConfigureAwait(false))
            results.AddRange(checks);

        foreach (var check in await Task.WhenAll(input.DkimKeys.Select(k => CheckDkimAsync(k, cancellationToken))).ConfigureAwait(false))
            results.Add(check);
        return results;
    }

    private static string Normalize(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    private async Task<(List<SecurityCheck> Checks, List<string> OurHosts)> CheckDomainAsync(
        string domain, string me, IReadOnlyList<IPAddress> hostAddresses, CancellationToken ct)
    {
        var checks = new List<SecurityCheck>();
        var ours = new List<string>();
        string mxName = $"mx {domain}", publishMx = $"{domain}. IN MX 10 {me}.";
        var mx = await resolver.MxAsync(domain, ct).ConfigureAwait(false);
        switch (mx.Status)
        {
            case SecureDnsStatus.Found when mx.Records.Any(r => r.Exchange == "."):
                checks.Add(SecurityCheck.Fail(mxName, "the domain publishes a null MX (RFC 7505): it accepts no mail", publishMx));
                break;
            case SecureDnsStatus.Found:
                var described = new List<string>();
                foreach (MxData r in mx.Records.OrderBy(r => r.Preference))
                {
                    if (r.Exchange == me) { ours.Add(r.Exchange); described.Add($"{r.Exchange} (myhostname)"); continue; }
                    if (hostAddresses.Count == 0) { described.Add(r.Exchange); continue; }
                    var addresses = await resolver.AddressesAsync(r.Exchange, ct).ConfigureAwait(false);
                    IPAddress? hit = addresses.Records.FirstOrDefault(a => hostAddresses.Contains(a));
                    if (hit is not null) { ours.Add(r.Exchange); described.Add($"{r.Exchange} ({hit} is this host)"); }
                    else described.Add($"{r.Exchange} ({(addresses.Status == SecureDnsStatus.Found ? string.Join(' ', addresses.Records) : addresses.Describe())})");
                }
                checks.Add(ours.Count > 0
                    ? SecurityCheck.Ok(mxName, $"MX points at this host: {string.Join(", ", described)}")
                    : SecurityCheck.Fail(mxName, $"no MX target is this host (myhostname {me}" +
                        (hostAddresses.Count > 0 ? $" or an address in security_check_host_addresses" : "") + $"): {string.Join(", ", described)}", publishMx));
                break;
            case SecureDnsStatus.NoData or SecureDnsStatus.NxDomain:
                checks.Add(SecurityCheck.Fail(mxName, $"no MX record: {mx.Describe()}", publishMx));
                break;
            default:
                checks.Add(SecurityCheck.Fail(mxName, $"MX lookup failed: {mx.Describe()}"));
                break;
        }
        if (mx.Status is SecureDnsStatus.Found or SecureDnsStatus.NoData or SecureDnsStatus.NxDomain)
            checks.Add(mx.Authenticated
                ? SecurityCheck.Ok($"mx-dnssec {domain}", "the MX answer is DNSSEC-authenticated (AD bit)")
                : SecurityCheck.Fail($"mx-dnssec {domain}", "the MX answer is not DNSSEC-authenticated (no AD bit): the zone is unsigned, " +
                    "its DS is missing at the parent, or the resolver does not validate; DANE senders ignore TLSA without a secure MX (RFC 7672 2.2.1)"));

        checks.Add(await CheckSrvAsync($"srv-submission {domain}", $"_submissions._tcp.{domain}", $"_submission._tcp.{domain}",
            $"_submissions._tcp.{domain}. IN SRV 0 1 465 {me}.", ct).ConfigureAwait(false));
        checks.Add(await CheckSrvAsync($"srv-imap {domain}", $"_imaps._tcp.{domain}", $"_imap._tcp.{domain}",
            $"_imaps._tcp.{domain}. IN SRV 0 1 993 {me}.", ct).ConfigureAwait(false));
        return (checks, ours);
    }

    private async Task<SecurityCheck> CheckSrvAsync(string name, string implicitTls, string startTls, string publish, CancellationToken ct)
    {
        var results = new List<(string Owner, SecureDnsResult<SrvData> Result)>();
        foreach (string owner in new[] { implicitTls, startTls })
        {
            var r = await resolver.SrvAsync(owner, ct).ConfigureAwait(false);
            results.Add((owner, r));
            if (r.Status == SecureDnsStatus.Found)
            {
                string what = string.Join(", ", r.Records.Select(s => s.Target == "." ? "\".\" (service declared not offered)" : $"{s.Target}:{s.Port}"));
                return SecurityCheck.Ok(name, $"{owner} SRV {what}");
            }
        }
        if (results.All(r => r.Result.Status is SecureDnsStatus.NoData or SecureDnsStatus.NxDomain))
            return SecurityCheck.Fail(name, $"no SRV record at {implicitTls} or {startTls} (RFC 6186, RFC 8314)", publish);
        return SecurityCheck.Fail(name, string.Join("; ", results.Select(r => $"{r.Owner}: {r.Result.Describe()}")));
    }

    private async Task<IReadOnlyList<SecurityCheck>> CheckTlsaAsync(string host, IReadOnlyList<X509Certificate2> chain,
        X509Certificate2? leaf, CancellationToken ct)
    {
        string owner = TlsaMatcher.TlsaOwner(host);
        string? publish = leaf is null ? null : TlsaMatcher.RecordFor(host, leaf);
        var tlsa = await resolver.TlsaAsync(owner, ct).ConfigureAwait(false);
        var checks = new List<SecurityCheck>();
        switch (tlsa.Status)
        {
            case SecureDnsStatus.ServFail:
                checks.Add(SecurityCheck.Fail($"tlsa-dnssec {owner}", $"the resolver answered {tlsa.Describe()}: DNSSEC validation failed " +
                    "(bogus or expired signatures, RFC 4035 5.5) or the zone's servers are unreachable"));
                return checks;
            case SecureDnsStatus.Failed:
                checks.Add(SecurityCheck.Fail($"tlsa {owner}", tlsa.Describe()));
                return checks;
            case SecureDnsStatus.NoData or SecureDnsStatus.NxDomain:
                checks.Add(SecurityCheck.Fail($"tlsa {owner}", $"no TLSA record: {tlsa.Describe()}" +
                    (publish is null ? " (fix the certificate first to know what to publish)" : ""), publish));
                checks.Add(tlsa.Authenticated
                    ? SecurityCheck.Ok($"tlsa-dnssec {owner}", "the absence is DNSSEC-authenticated (AD bit)")
                    : SecurityCheck.Fail($"tlsa-dnssec {owner}", "the answer is not DNSSEC-authenticated (no AD bit): the zone is unsigned or the resolver does not validate"));
                return checks;
        }
        checks.Add(SecurityCheck.Ok($"tlsa {owner}", string.Join(", ", tlsa.Records.Select(r => r.ToString()))));
        checks.Add(tlsa.Authenticated
            ? SecurityCheck.Ok($"tlsa-dnssec {owner}", "DNSSEC-authenticated (AD bit)")
            : SecurityCheck.Fail($"tlsa-dnssec {owner}", "the TLSA records are not DNSSEC-authenticated (no AD bit): the zone is unsigned " +
                "or the resolver does not validate; SMTP clients ignore insecure TLSA records (RFC 7672 2.2)"));
        if (leaf is null)
        {
            checks.Add(SecurityCheck.Fail($"tlsa-match {owner}", "no certificate to compare with (see tls-certificate)"));
            return checks;
        }
        var matching = tlsa.Records.Where(r => TlsaMatcher.Matches(r, chain)).ToList();
        int unusable = tlsa.Records.Count(r => !TlsaMatcher.IsUsableForSmtp(r));
        string unusableNote = unusable > 0 ? $"; {unusable} record(s) unusable for SMTP (usage 0/1 or unknown selector/matching type, RFC 7672 3.1.3)" : "";
        checks.Add(matching.Count > 0
            ? SecurityCheck.Ok($"tlsa-match {owner}", $"{string.Join(", ", matching.Select(r => $"{r.Usage} {r.Selector} {r.MatchingType}"))} matches the certificate{unusableNote}")
            : SecurityCheck.Fail($"tlsa-match {owner}", $"none of {tlsa.Records.Count} TLSA record(s) matches the certificate ({leaf.Subject}){unusableNote}", publish));
        return checks;
    }

    private async Task<SecurityCheck> CheckDkimAsync(DkimKeyToCheck key, CancellationToken ct)
    {
        string name = $"dkim {key.RecordName}";
        if (key.Key is null) return SecurityCheck.Fail(name, $"the signing key is unusable: {key.Problem ?? "no key"}");
        string publish = DkimRecord.ZoneRecord(key.RecordName, key.Key);
        var txt = await resolver.TxtAsync(key.RecordName, ct).ConfigureAwait(false);
        if (txt.Status is SecureDnsStatus.NoData or SecureDnsStatus.NxDomain)
            return SecurityCheck.Fail(name, $"no TXT record: {txt.Describe()}", publish);
        if (txt.Status != SecureDnsStatus.Found)
            return SecurityCheck.Fail(name, $"TXT lookup failed: {txt.Describe()}");
        var seen = new List<string>();
        foreach (string text in txt.Records)
        {
            DkimPublicKey? published = DkimRecord.Parse(text, out string? problem);
            if (published is not null && published.SameKeyAs(key.Key))
                return SecurityCheck.Ok(name, $"the TXT record carries the {key.Key.Algorithm} signing key");
            seen.Add(published is null ? problem! : $"another {published.Algorithm} key ({Fingerprint(published)})");
        }
        return SecurityCheck.Fail(name, $"the TXT record does not carry the signing key ({Fingerprint(key.Key)}): {string.Join("; ", seen)}", publish);
    }

    private static string Fingerprint(DkimPublicKey key) => "sha256 " + Convert.ToHexStringLower(SHA256.HashData(key.PValue))[..16];
}
