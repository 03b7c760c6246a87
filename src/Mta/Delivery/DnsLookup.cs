// IDnsLookup and DnsClientLookup: the DNS questions outbound delivery asks (MX; A and AAAA), answered as
// values that keep "does not exist" (NXDOMAIN), "exists but no such records" and "try again" apart.
// RFC 5321 5.1 (MX, implicit MX), RFC 7505 (null MX is reported as an MX with exchange "."),
// RFC 1035 4.1.1 (RCODE 3 = NXDOMAIN, 2 = SERVFAIL). Backed by DnsClient (dns_resolver servers or the
// system's resolv.conf).
using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Mta.Delivery;

/// <summary>Outcome class of one DNS lookup.</summary>
public enum DnsLookupStatus
{
    /// <summary>Records were found.</summary>
    Found,
    /// <summary>The name exists but has no records of the type (NOERROR/NODATA).</summary>
    NoRecords,
    /// <summary>The name does not exist (NXDOMAIN): a permanent failure.</summary>
    NotFound,
    /// <summary>SERVFAIL, REFUSED, timeout or network error: try again later.</summary>
    TempFail,
}

/// <summary>One MX record: preference (lower first) and exchange host name without trailing dot ("." stays "." for null MX).</summary>
public sealed record MxHost(int Preference, string Exchange)
{
    /// <summary>True for the RFC 7505 null MX (<c>0 .</c>).</summary>
    public bool IsNullMx => Exchange is "." or "";
}

/// <summary>A lookup result; <paramref name="Records"/> is empty unless <paramref name="Status"/> is Found.</summary>
/// <param name="Status">found, no records, not found, temporary failure.</param>
/// <param name="Records">the records, in the order received.</param>
/// <param name="Detail">resolver error text for logs and replies ("" when none).</param>
public sealed record DnsLookupResult<T>(DnsLookupStatus Status, IReadOnlyList<T> Records, string Detail = "");

/// <summary>The DNS questions of outbound delivery. Implementations do not throw except for cancellation.</summary>
public interface IDnsLookup
{
    /// <summary>MX records of <paramref name="domain"/>.</summary>
    Task<DnsLookupResult<MxHost>> LookupMxAsync(string domain, CancellationToken cancellationToken);

    /// <summary>A then AAAA addresses of <paramref name="host"/> (IPv4 first). Found when either type has records.</summary>
    Task<DnsLookupResult<IPAddress>> LookupAddressesAsync(string host, CancellationToken cancellationToken);
}

/// <summary><see cref="IDnsLookup"/> over a DnsClient <see cref="ILookupClient"/> (inject a fake client in tests).</summary>
public sealed class DnsClientLookup : IDnsLookup
{
    private readonly ILookupClient _client;

    /// <summary>Uses <paramref name="client"/> for every query.</summary>
    public DnsClientLookup(ILookupClient client) => _client = client ?? throw new ArgumentNullException(nameof(client));

    /// <summary>
    /// A LookupClient for the <c>dns_resolver</c> parameter: each item is <c>host</c>, <c>host:port</c> or
    /// <c>[ipv6]:port</c> (port 53 by default; a host name is resolved once, now). Empty: the system resolvers.
    /// Caching on, 5 s timeout, 2 retries.
    /// </summary>
    /// <exception cref="FormatException">an item is malformed or a resolver name does not resolve.</exception>
    public static ILookupClient CreateLookupClient(IReadOnlyList<string> dnsResolver)
    {
        var servers = new List<IPEndPoint>();
        foreach (var raw in dnsResolver)
        {
            var item = raw.Trim();
            if (item.Length == 0) continue;
            string host = item;
            int port = 53;
            if (item.StartsWith('['))
            {
                int close = item.IndexOf(']');
                if (close < 0) throw new FormatException($"dns_resolver: missing ']' in \"{item}\"");
                host = item[1..close];
                if (close + 1 < item.Length && (item[close + 1] != ':' || !int.TryParse(item.AsSpan(close + 2), out port)))
                    throw new FormatException($"dns_resolver: bad port in \"{item}\"");
            }
            else if (item.Count(c => c == ':') == 1)
            {
                int colon = item.IndexOf(':');
                host = item[..colon];
                if (!int.TryParse(item.AsSpan(colon + 1), out port)) throw new FormatException($"dns_resolver: bad port in \"{item}\"");
            }
            if (port is < 1 or > 65535) throw new FormatException($"dns_resolver: bad port in \"{item}\"");
            if (!IPAddress.TryParse(host, out var ip))
            {
                try { ip = Dns.GetHostAddresses(host).FirstOrDefault(); }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or ArgumentException) { ip = null; }
                if (ip is null) throw new FormatException($"dns_resolver: cannot resolve \"{host}\"");
            }
            servers.Add(new IPEndPoint(ip, port));
        }
        var options = servers.Count > 0 ? new LookupClientOptions(servers.ToArray()) : new LookupClientOptions();
        options.UseCache = true;
        options.Timeout = TimeSpan.FromSeconds(5);
        options.Retries = 2;
        options.ThrowDnsErrors = false;
        options.ContinueOnDnsError = true;
        return new LookupClient(options);
    }

    /// <inheritdoc/>
    public async Task<DnsLookupResult<MxHost>> LookupMxAsync(string domain, CancellationToken cancellationToken)
    {
        var (status, response, detail) = await QueryAsync(domain, QueryType.MX, cancellationToken).ConfigureAwait(false);
        if (status != DnsLookupStatus.Found) return new(status, [], detail);
        var mx = response!.Answers.MxRecords()
            .Select(r => new MxHost(r.Preference, r.Exchange.Value is "." or "" ? "." : r.Exchange.Value.TrimEnd('.').ToLowerInvariant()))
            .ToArray();
        return mx.Length == 0 ? new(DnsLookupStatus.NoRecords, [], detail) : new(DnsLookupStatus.Found, mx, detail);
    }

    /// <inheritdoc/>
    public async Task<DnsLookupResult<IPAddress>> LookupAddressesAsync(string host, CancellationToken cancellationToken)
    {
        var a = QueryAsync(host, QueryType.A, cancellationToken);
        var aaaa = QueryAsync(host, QueryType.AAAA, cancellationToken);
        var (sa, ra, da) = await a.ConfigureAwait(false);
        var (s6, r6, d6) = await aaaa.ConfigureAwait(false);
        var list = new List<IPAddress>();
        if (sa == DnsLookupStatus.Found) list.AddRange(ra!.Answers.ARecords().Select(r => r.Address));
        if (s6 == DnsLookupStatus.Found) list.AddRange(r6!.Answers.AaaaRecords().Select(r => r.Address));
        if (list.Count > 0) return new(DnsLookupStatus.Found, list);
        if (sa == DnsLookupStatus.TempFail || s6 == DnsLookupStatus.TempFail) return new(DnsLookupStatus.TempFail, [], sa == DnsLookupStatus.TempFail ? da : d6);
        if (sa == DnsLookupStatus.NotFound) return new(DnsLookupStatus.NotFound, [], da);
        return new(DnsLookupStatus.NoRecords, [], da);
    }

    private async Task<(DnsLookupStatus, IDnsQueryResponse?, string)> QueryAsync(string name, QueryType type, CancellationToken cancellationToken)
    {
        string fqdn = name.EndsWith('.') ? name : name + ".";
        try
        {
            var response = await _client.QueryAsync(fqdn, type, QueryClass.IN, cancellationToken).ConfigureAwait(false);
            if (response.HasError)
            {
                return response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
                    ? (DnsLookupStatus.NotFound, null, response.ErrorMessage)
                    : (DnsLookupStatus.TempFail, null, response.ErrorMessage);
            }
            bool any = type switch
            {
                QueryType.MX => response.Answers.MxRecords().Any(),
                QueryType.A => response.Answers.ARecords().Any(),
                _ => response.Answers.AaaaRecords().Any(),
            };
            return (any ? DnsLookupStatus.Found : DnsLookupStatus.NoRecords, response, "");
        }
        catch (DnsResponseException e)
        {
            return e.Code == DnsResponseCode.NotExistentDomain ? (DnsLookupStatus.NotFound, null, e.Message) : (DnsLookupStatus.TempFail, null, e.Message);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or TimeoutException or IOException
                                  || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (DnsLookupStatus.TempFail, null, e.Message);
        }
    }
}
