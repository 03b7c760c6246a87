// DnsDkimKeyLocator: key records from DNS through DnsClient (TXT at SELECTOR._domainkey.DOMAIN,
// RFC 6376 3.6.2.1; multiple strings concatenated, 3.6.2.2) with a cache of its own: found records for
// their TTL (capped), "no record" answers for a fixed negative TTL (RFC 2308 spirit), DNS failures never.
using System.Collections.Concurrent;
using DnsClient;
using DnsClient.Protocol;

namespace Mta.Dkim;

/// <summary>Cache limits of <see cref="DnsDkimKeyLocator"/>.</summary>
public sealed record DkimKeyCacheOptions
{
    /// <summary>Longest time a found record is kept, whatever its TTL. Default 1 hour.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long a "no such record" answer is kept. Default 5 minutes.</summary>
    public TimeSpan NegativeTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Most entries kept; when full, expired entries are dropped, then everything. Default 10,000.</summary>
    public int MaxEntries { get; init; } = 10_000;
}

/// <summary>
/// Looks up DKIM key records in DNS and caches them. Thread-safe.
/// </summary>
public sealed class DnsDkimKeyLocator : IDkimKeyLocator
{
    /// <summary>The raw TXT answer the cache works on (testing seam).</summary>
    internal sealed record TxtAnswer(DkimKeyLookupStatus Status, IReadOnlyList<(string Text, int TtlSeconds)> Records, string? Error);

    private readonly Func<string, CancellationToken, Task<TxtAnswer>> _query;
    private readonly TimeProvider _time;
    private readonly DkimKeyCacheOptions _options;
    private readonly ConcurrentDictionary<string, (DkimKeyLookup Lookup, DateTimeOffset Expires)> _cache = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Uses <paramref name="dns"/> (a DnsClient <see cref="LookupClient"/>; its own cache is bypassed).</summary>
    /// <param name="dns">Resolver; queries are sent with its settings (timeout, retries, name servers).</param>
    /// <param name="timeProvider">Clock for cache expiry; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="options">Cache limits; defaults when null.</param>
    public DnsDkimKeyLocator(IDnsQuery dns, TimeProvider? timeProvider = null, DkimKeyCacheOptions? options = null)
        : this(CreateQuery(dns ?? throw new ArgumentNullException(nameof(dns))), timeProvider, options)
    {
    }

    /// <summary>Uses the system's resolvers (/etc/resolv.conf) with a 5 s timeout and 2 retries.</summary>
    public DnsDkimKeyLocator(TimeProvider? timeProvider = null, DkimKeyCacheOptions? options = null)
        : this(new LookupClient(new LookupClientOptions { UseCache = false, Timeout = TimeSpan.FromSeconds(5), Retries = 2 }), timeProvider, options)
    {
    }

    internal DnsDkimKeyLocator(Func<string, CancellationToken, Task<TxtAnswer>> query, TimeProvider? timeProvider, DkimKeyCacheOptions? options)
    {
        _query = query;
        _time = timeProvider ?? TimeProvider.System;
        _options = options ?? new DkimKeyCacheOptions();
    }

    /// <summary>Entries currently cached (including expired ones not yet dropped).</summary>
    public int CachedCount => _cache.Count;

    /// <inheritdoc />
    public async ValueTask<DkimKeyLookup> LookupAsync(string domain, string selector, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        ArgumentException.ThrowIfNullOrEmpty(selector);
        var name = $"{selector}._domainkey.{domain.TrimEnd('.')}";
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(name, out var hit) && hit.Expires > now)
            return hit.Lookup;

        TxtAnswer answer;
        try
        {
            answer = await _query(name, cancellationToken).ConfigureAwait(false);
        }
        catch (DnsResponseException e)
        {
            return DkimKeyLookup.TempError($"DNS lookup of {name} failed: {e.Message}");
        }

        DkimKeyLookup result;
        TimeSpan ttl;
        switch (answer.Status)
        {
            case DkimKeyLookupStatus.Found when answer.Records.Count > 0:
                // several TXT records: prefer one that looks like a key record (RFC 6376 3.6.2.2 leaves this undefined)
                var chosen = answer.Records.FirstOrDefault(r => r.Text.TrimStart().StartsWith("v=DKIM1", StringComparison.Ordinal) || r.Text.Contains("p=", StringComparison.Ordinal));
                if (chosen.Text is null)
                    chosen = answer.Records[0];
                result = DkimKeyLookup.Found(chosen.Text);
                ttl = TimeSpan.FromSeconds(Math.Max(0, chosen.TtlSeconds));
                if (ttl > _options.MaxTtl)
                    ttl = _options.MaxTtl;
                break;
            case DkimKeyLookupStatus.Found:
            case DkimKeyLookupStatus.NotFound:
                result = DkimKeyLookup.NotFound(answer.Error ?? $"no TXT record at {name}");
                ttl = _options.NegativeTtl;
                break;
            default:
                return DkimKeyLookup.TempError(answer.Error ?? $"DNS lookup of {name} failed");
        }
        if (ttl > TimeSpan.Zero)
        {
            if (_cache.Count >= _options.MaxEntries)
                Trim(now);
            _cache[name] = (result, now + ttl);
        }
        return result;
    }

    private void Trim(DateTimeOffset now)
    {
        foreach (var kv in _cache)
        {
            if (kv.Value.Expires <= now)
                _cache.TryRemove(kv.Key, out _);
        }
        if (_cache.Count >= _options.MaxEntries)
            _cache.Clear();
    }

    private static Func<string, CancellationToken, Task<TxtAnswer>> CreateQuery(IDnsQuery dns) => async (name, ct) =>
    {
        var response = await dns.QueryAsync(name, QueryType.TXT, QueryClass.IN, ct).ConfigureAwait(false);
        if (response.HasError)
        {
            return response.Header.ResponseCode == DnsHeaderResponseCode.NotExistentDomain
                ? new TxtAnswer(DkimKeyLookupStatus.NotFound, [], $"{name}: no such domain (NXDOMAIN)")
                : new TxtAnswer(DkimKeyLookupStatus.TempError, [], $"{name}: {response.ErrorMessage}");
        }
        var records = response.Answers.OfType<TxtRecord>()
            .Select(r => (string.Concat(r.Text), r.TimeToLive))
            .ToArray();
        return records.Length == 0
            ? new TxtAnswer(DkimKeyLookupStatus.NotFound, [], $"{name}: no TXT record")
            : new TxtAnswer(DkimKeyLookupStatus.Found, records, null);
    };
}
