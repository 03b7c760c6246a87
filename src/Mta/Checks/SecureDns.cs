// SecureDns: DNS lookups for the security checks that report, with the records, whether the
// resolver authenticated them: the AD bit of RFC 4035 3.2.3 / RFC 6840 5.8, which a validating
// resolver sets only when the query asks for DNSSEC (DO bit of RFC 3225 in the EDNS0 OPT record,
// RFC 6891). RD is set (RFC 1035 4.1.1): the configured resolver recurses and validates; the MTA
// does not validate itself (RFC 7672 2.1 allows trusting a validating resolver on a secure path).
// A validating resolver answers SERVFAIL for bogus data (RFC 4035 5.5), so SERVFAIL is its own status.
using System.Net;
using DnsClient;
using DnsClient.Protocol;
using Mta.Delivery;

namespace Mta.Checks;

/// <summary>What a lookup found.</summary>
public enum SecureDnsStatus
{
    /// <summary>NOERROR with at least one record of the asked type.</summary>
    Found,
    /// <summary>NOERROR without records of the asked type (NODATA).</summary>
    NoData,
    /// <summary>NXDOMAIN: the name does not exist.</summary>
    NxDomain,
    /// <summary>SERVFAIL: for a validating resolver typically DNSSEC-bogus data (RFC 4035 5.5), or servers unreachable.</summary>
    ServFail,
    /// <summary>Timeout, network error, or another response code; see <see cref="SecureDnsResult{T}.Error"/>.</summary>
    Failed,
}

/// <summary>A lookup's records and whether the resolver authenticated them (AD bit).</summary>
/// <typeparam name="T">The record data type.</typeparam>
/// <param name="Status">What was found.</param>
/// <param name="Authenticated">The AD bit of the response: true when a validating resolver proved the answer (or its
/// denial, for NoData/NxDomain) secure with DNSSEC.</param>
/// <param name="Records">The records (empty unless <see cref="SecureDnsStatus.Found"/>).</param>
/// <param name="Error">For <see cref="SecureDnsStatus.Failed"/> and <see cref="SecureDnsStatus.ServFail"/>: a short reason.</param>
public sealed record SecureDnsResult<T>(SecureDnsStatus Status, bool Authenticated, IReadOnlyList<T> Records, string? Error = null)
{
    /// <summary>A found answer.</summary>
    public static SecureDnsResult<T> Of(bool authenticated, params T[] records) =>
        new(records.Length > 0 ? SecureDnsStatus.Found : SecureDnsStatus.NoData, authenticated, records);

    /// <summary>The status as a short text for details: <c>NXDOMAIN</c>, <c>NODATA</c>, <c>SERVFAIL</c>, the error.</summary>
    public string Describe() => Status switch
    {
        SecureDnsStatus.Found => $"{Records.Count} record(s)",
        SecureDnsStatus.NoData => "no record (NODATA)",
        SecureDnsStatus.NxDomain => "no record (NXDOMAIN)",
        SecureDnsStatus.ServFail => "SERVFAIL" + (Error is null ? "" : $" ({Error})"),
        _ => "lookup failed: " + (Error ?? "unknown error"),
    };
}

/// <summary>An MX record (RFC 1035 3.3.9); <see cref="Exchange"/> is lower case without trailing dot, "." for a null MX (RFC 7505).</summary>
public sealed record MxData(int Preference, string Exchange);

/// <summary>An SRV record (RFC 2782); <see cref="Target"/> is lower case without trailing dot, "." when the service is
/// declared not offered (RFC 6186 3).</summary>
public sealed record SrvData(int Priority, int Weight, int Port, string Target);

/// <summary>A TLSA record (RFC 6698 2.1): usage, selector, matching type and certificate association data.</summary>
public sealed record TlsaData(byte Usage, byte Selector, byte MatchingType, byte[] AssociationData)
{
    /// <summary>Presentation form <c>U S M HEX</c> (RFC 6698 2.2), hex in lower case.</summary>
    public override string ToString() => $"{Usage} {Selector} {MatchingType} {Convert.ToHexStringLower(AssociationData)}";
}

/// <summary>The lookups the security checks make. Every method returns a result, never throws for DNS errors.</summary>
public interface ISecurityDnsResolver
{
    /// <summary>MX records of <paramref name="domain"/>.</summary>
    Task<SecureDnsResult<MxData>> MxAsync(string domain, CancellationToken cancellationToken);
    /// <summary>A and AAAA records of <paramref name="host"/> (Found when either has records; Authenticated when both answers were).</summary>
    Task<SecureDnsResult<IPAddress>> AddressesAsync(string host, CancellationToken cancellationToken);
    /// <summary>TLSA records at <paramref name="name"/> (e.g. <c>_25._tcp.mx.example.org</c>).</summary>
    Task<SecureDnsResult<TlsaData>> TlsaAsync(string name, CancellationToken cancellationToken);
    /// <summary>TXT records at <paramref name="name"/>, each record's strings concatenated (RFC 6376 3.6.2.2).</summary>
    Task<SecureDnsResult<string>> TxtAsync(string name, CancellationToken cancellationToken);
    /// <summary>SRV records at <paramref name="name"/> (e.g. <c>_submissions._tcp.example.org</c>).</summary>
    Task<SecureDnsResult<SrvData>> SrvAsync(string name, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="ISecurityDnsResolver"/> over DnsClient: every query has RD and EDNS0 with DO set
/// (<see cref="DnsQuerySettings.RequestDnsSecRecords"/>), no cache, and reads <see cref="DnsResponseHeader.IsAuthenticData"/>.
/// </summary>
public sealed class DnsClientSecurityResolver : ISecurityDnsResolver
{
    private readonly ILookupClient _client;
    private readonly DnsQueryAndServerOptions _options;

    /// <summary>Queries <paramref name="servers"/> (in order) with <paramref name="timeout"/> per try and one retry.</summary>
    public DnsClientSecurityResolver(IReadOnlyCollection<NameServer> servers, TimeSpan timeout)
    {
        if (servers.Count == 0) throw new ArgumentException("at least one name server is needed", nameof(servers));
        _options = new DnsQueryAndServerOptions([.. servers])
        {
            RequestDnsSecRecords = true,
            Recursion = true,
            UseCache = false,
            Timeout = timeout,
            Retries = 1,
            ThrowDnsErrors = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            UseTcpFallback = true,
        };
        _client = new LookupClient(new LookupClientOptions([.. servers]) { UseCache = false });
    }

    /// <summary>
    /// A resolver for the <c>dns_resolver</c> parameter (<c>host</c>, <c>host:port</c>, <c>[ipv6]:port</c>; empty: the
    /// system's resolvers from /etc/resolv.conf), parsed as <see cref="DnsClientLookup.CreateLookupClient"/> does.
    /// </summary>
    /// <exception cref="FormatException">A malformed item or a resolver name that does not resolve.</exception>
    public static DnsClientSecurityResolver FromParameter(IReadOnlyList<string> dnsResolver, TimeSpan timeout) =>
        new(DnsClientLookup.CreateLookupClient(dnsResolver).NameServers, timeout);

    /// <inheritdoc/>
    public Task<SecureDnsResult<MxData>> MxAsync(string domain, CancellationToken cancellationToken) =>
        QueryAsync(domain, QueryType.MX, answers => answers.MxRecords().Select(r => new MxData(r.Preference, Host(r.Exchange.Value))), cancellationToken);

    /// <inheritdoc/>
    public async Task<SecureDnsResult<IPAddress>> AddressesAsync(string host, CancellationToken cancellationToken)
    {
        var a = await QueryAsync(host, QueryType.A, ans => ans.ARecords().Select(r => r.Address), cancellationToken).ConfigureAwait(false);
        var aaaa = await QueryAsync(host, QueryType.AAAA, ans => ans.AaaaRecords().Select(r => r.Address), cancellationToken).ConfigureAwait(false);
        IPAddress[] all = [.. a.Records, .. aaaa.Records];
        if (all.Length > 0) return new(SecureDnsStatus.Found, a.Authenticated && aaaa.Authenticated, all);
        // no address: report the more telling of the two answers
        return a.Status is SecureDnsStatus.ServFail or SecureDnsStatus.Failed ? a : aaaa.Status is SecureDnsStatus.ServFail or SecureDnsStatus.Failed ? aaaa : a;
    }

    /// <inheritdoc/>
    public Task<SecureDnsResult<TlsaData>> TlsaAsync(string name, CancellationToken cancellationToken) =>
        QueryAsync(name, QueryType.TLSA, answers => answers.TlsaRecords().Select(r =>
            new TlsaData((byte)r.CertificateUsage, (byte)r.Selector, (byte)r.MatchingType, [.. r.CertificateAssociationData])), cancellationToken);

    /// <inheritdoc/>
    public Task<SecureDnsResult<string>> TxtAsync(string name, CancellationToken cancellationToken) =>
        QueryAsync(name, QueryType.TXT, answers => answers.TxtRecords().Select(r => string.Concat(r.Text)), cancellationToken);

    /// <inheritdoc/>
    public Task<SecureDnsResult<SrvData>> SrvAsync(string name, CancellationToken cancellationToken) =>
        QueryAsync(name, QueryType.SRV, answers => answers.SrvRecords().Select(r => new SrvData(r.Priority, r.Weight, r.Port, Host(r.Target.Value))), cancellationToken);

    private static string Host(string name) => name is "." or "" ? "." : name.TrimEnd('.').ToLowerInvariant();

    private async Task<SecureDnsResult<T>> QueryAsync<T>(string name, QueryType type,
        Func<IEnumerable<DnsResourceRecord>, IEnumerable<T>> select, CancellationToken cancellationToken)
    {
        IDnsQueryResponse response;
        try
        {
            response = await _client.QueryAsync(new DnsQuestion(name, type), _options, cancellationToken).ConfigureAwait(false);
        }
        catch (DnsResponseException e)
        {
            return new(SecureDnsStatus.Failed, false, [], e.Message);
        }
        bool ad = response.Header.IsAuthenticData;
        switch (response.Header.ResponseCode)
        {
            case DnsHeaderResponseCode.NoError:
                // answers may hold CNAMEs and RRSIGs too: keep only the asked type
                T[] records = [.. select(response.Answers)];
                return new(records.Length > 0 ? SecureDnsStatus.Found : SecureDnsStatus.NoData, ad, records);
            case DnsHeaderResponseCode.NotExistentDomain:
                return new(SecureDnsStatus.NxDomain, ad, []);
            case DnsHeaderResponseCode.ServerFailure:
                return new(SecureDnsStatus.ServFail, false, [], $"from {response.NameServer}");
            default:
                return new(SecureDnsStatus.Failed, false, [], $"{response.Header.ResponseCode} from {response.NameServer}" +
                    (response.ErrorMessage is { Length: > 0 } m ? $": {m}" : ""));
        }
    }
}
