// S3LeaseManager: owns this node's leases in the shared S3 queue: acquiring its own lease at start
// (epoch + 1), renewing every lease it holds by compare-and-swap (the heartbeat), watching the other
// nodes' leases and taking over one that stopped changing for queue_lease_timeout (judged on this
// node's monotonic clock, so clocks need not agree), and releasing leases on a graceful stop. A lease
// whose renewal loses its CAS is dropped at once, and one not renewed recently enough stops counting
// as held, so the runner stops delivering from it (fencing: docs/queue-s3.md).
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mta.Queue.S3;

/// <summary>
/// Leases <c>q/lease/NODE</c> of the S3 queue: a JSON record <c>{node, holder, epoch, renewed, timeout}</c>. Every
/// queued message belongs to the lease of the node that queued it; whoever holds that lease (the node itself
/// while alive, else the node that took it over) delivers it. Each change of holder increments the epoch.
/// Call <see cref="TickAsync"/> every queue_lease_renew_interval. Thread-safe.
/// </summary>
public sealed class S3LeaseManager : IQueueLeases
{
    private readonly IObjectStore _objects;
    private readonly string _prefix;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _validity;
    private readonly Func<IReadOnlyDictionary<string, int>?> _ownersWithMessages;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, HeldLease> _held = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ObservedLease> _observed = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tickLock = new(1, 1);
    private long _ownEpoch;
    private bool _unavailableLogged;

    /// <param name="objects">the bucket.</param>
    /// <param name="prefix">queue_s3_prefix.</param>
    /// <param name="nodeId">queue_node_id.</param>
    /// <param name="leaseTimeout">queue_lease_timeout: a lease unchanged this long (as seen here) is taken over.</param>
    /// <param name="renewInterval">queue_lease_renew_interval: how often <see cref="TickAsync"/> is called.</param>
    /// <param name="ownersWithMessages">leases that own queued messages, with counts, from the last listing (null when unknown):
    /// a released lease is taken over only when it still owns messages, and a taken-over lease is released when it owns none.</param>
    /// <param name="logger">null for none.</param>
    /// <param name="time">null for <see cref="TimeProvider.System"/>.</param>
    public S3LeaseManager(IObjectStore objects, string prefix, string nodeId, TimeSpan leaseTimeout, TimeSpan renewInterval,
        Func<IReadOnlyDictionary<string, int>?>? ownersWithMessages = null, ILogger<S3LeaseManager>? logger = null, TimeProvider? time = null)
    {
        _objects = objects;
        _prefix = prefix;
        NodeId = nodeId;
        _timeout = leaseTimeout;
        // A holder acts on a lease only this long after sending its last successful renewal; others wait the full
        // timeout after they last saw it change, so a holder has stopped before anyone else starts.
        _validity = leaseTimeout - renewInterval > leaseTimeout / 2 ? leaseTimeout - renewInterval : leaseTimeout / 2;
        _ownersWithMessages = ownersWithMessages ?? (() => null);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string NodeId { get; }

    /// <inheritdoc/>
    public long OwnEpoch => Interlocked.Read(ref _ownEpoch);

    /// <summary>Raised (on the ticking thread) with the lease name when this node acquired or took over a lease.</summary>
    public event Action<string>? Acquired;

    /// <summary>Key of <paramref name="node"/>'s lease.</summary>
    public string LeaseKey(string node) => _prefix + "q/lease/" + node;

    /// <summary>The leases this node holds now (valid ones), with epochs.</summary>
    public IReadOnlyDictionary<string, long> HeldLeases =>
        _held.Where(h => IsValid(h.Value)).ToDictionary(h => h.Key, h => h.Value.Epoch, StringComparer.Ordinal);

    /// <inheritdoc/>
    public bool TryGetHeld(string lease, out long epoch)
    {
        epoch = 0;
        if (!_held.TryGetValue(lease, out var h) || !IsValid(h)) return false;
        epoch = h.Epoch;
        return true;
    }

    /// <summary>
    /// One heartbeat: renews every held lease, (re)acquires this node's own lease when it is not held, and takes over
    /// leases of other nodes that stopped renewing (or were released while they still own messages). Store failures
    /// are logged, not thrown: a lease not renewed in time simply stops counting as held.
    /// </summary>
    public async Task TickAsync(CancellationToken cancellationToken)
    {
        await _tickLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await RenewAsync(cancellationToken).ConfigureAwait(false);
            if (!_held.ContainsKey(NodeId)) await AcquireOwnAsync(cancellationToken).ConfigureAwait(false);
            await ScanAsync(cancellationToken).ConfigureAwait(false);
            if (_unavailableLogged) _logger.LogInformation("queue: S3 reachable again");
            _unavailableLogged = false;
        }
        catch (ObjectStoreUnavailableException e)
        {
            if (!_unavailableLogged) _logger.LogWarning("queue: S3 unavailable, leases not renewed: {Error}", e.Message);
            _unavailableLogged = true;
        }
        finally { _tickLock.Release(); }
    }

    /// <summary>Graceful stop: marks every held lease released (holder empty), so other nodes take over at once what is left.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        await _tickLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var (name, h) in _held.ToArray())
            {
                _held.TryRemove(name, out _);
                try
                {
                    await CasLeaseAsync(name, new LeaseRecord { Node = name, Holder = "", Epoch = h.Epoch, Renewed = _time.GetUtcNow(), Timeout = _timeout.TotalSeconds }, h.ETag, cancellationToken).ConfigureAwait(false);
                    _logger.LogInformation("queue: released lease {Lease} (epoch {Epoch})", name, h.Epoch);
                }
                catch (ObjectStoreUnavailableException e) { _logger.LogWarning("queue: could not release lease {Lease}: {Error}", name, e.Message); }
            }
        }
        finally { _tickLock.Release(); }
    }

    private async Task RenewAsync(CancellationToken cancellationToken)
    {
        foreach (var (name, h) in _held.ToArray())
        {
            long sent = _time.GetTimestamp();
            var record = new LeaseRecord { Node = name, Holder = NodeId, Epoch = h.Epoch, Renewed = _time.GetUtcNow(), Timeout = _timeout.TotalSeconds };
            string? etag = await CasLeaseAsync(name, record, h.ETag, cancellationToken).ConfigureAwait(false);
            if (etag is null)
            {
                _held.TryRemove(name, out _);
                _logger.LogWarning("queue: lease {Lease} (epoch {Epoch}) was taken by another node; stopped delivering its mail", name, h.Epoch);
                continue;
            }
            _held[name] = h with { ETag = etag, ValidUntil = sent + Ticks(_validity) };
        }
    }

    private async Task AcquireOwnAsync(CancellationToken cancellationToken)
    {
        long sent = _time.GetTimestamp();
        var current = await ReadLeaseAsync(NodeId, cancellationToken).ConfigureAwait(false);
        long epoch = (current?.Record.Epoch ?? 0) + 1;
        var record = new LeaseRecord { Node = NodeId, Holder = NodeId, Epoch = epoch, Renewed = _time.GetUtcNow(), Timeout = _timeout.TotalSeconds };
        string? etag = current is null
            ? await CreateLeaseAsync(NodeId, record, cancellationToken).ConfigureAwait(false)
            : await CasLeaseAsync(NodeId, record, current.ETag, cancellationToken).ConfigureAwait(false);
        if (etag is null) return;   // raced with a takeover: try again at the next tick
        Interlocked.Exchange(ref _ownEpoch, epoch);
        _held[NodeId] = new HeldLease(epoch, etag, sent + Ticks(_validity), _time.GetTimestamp());
        _logger.LogInformation("queue: node {Node} holds its lease at epoch {Epoch}{From}", NodeId, epoch,
            current is { Record.Holder: { Length: > 0 } prev } && prev != NodeId ? $" (taken back from {prev})" : "");
        Acquired?.Invoke(NodeId);
    }

    private async Task ScanAsync(CancellationToken cancellationToken)
    {
        var owners = _ownersWithMessages();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        string leasePrefix = _prefix + "q/lease/";
        await foreach (var o in _objects.ListAsync(leasePrefix, cancellationToken).ConfigureAwait(false))
        {
            string name = o.Key[leasePrefix.Length..];
            listed.Add(name);
            if (name.Length == 0 || name == NodeId || _held.ContainsKey(name)) { _observed.Remove(name); continue; }
            if (!_observed.TryGetValue(name, out var seen) || seen.ETag != o.ETag)
            {
                var current = await ReadLeaseAsync(name, cancellationToken).ConfigureAwait(false);
                if (current is null) continue;
                seen = new ObservedLease(current.ETag, _time.GetTimestamp(), current.Record);
                _observed[name] = seen;
            }
            bool takeOver = seen.Record.Holder.Length == 0
                ? owners?.GetValueOrDefault(name) > 0                     // released: only while it still owns mail
                : seen.Record.Holder == NodeId                            // held by an earlier life of this node: nobody renews it
                  || _time.GetElapsedTime(seen.FirstSeen) >= _timeout;   // not renewed for the lease timeout
            if (!takeOver) continue;
            await TakeOverAsync(name, seen, cancellationToken).ConfigureAwait(false);
        }
        foreach (var name in _observed.Keys.Where(n => !listed.Contains(n)).ToList()) _observed.Remove(name);

        // Give back leases taken over from other nodes once they own no mail (nobody needs to heartbeat them).
        if (owners is null) return;
        foreach (var (name, h) in _held.ToArray())
        {
            if (name == NodeId || owners.GetValueOrDefault(name) > 0 || _time.GetElapsedTime(h.Since) < _timeout) continue;
            _held.TryRemove(name, out _);
            if (await CasLeaseAsync(name, new LeaseRecord { Node = name, Holder = "", Epoch = h.Epoch, Renewed = _time.GetUtcNow(), Timeout = _timeout.TotalSeconds }, h.ETag, cancellationToken).ConfigureAwait(false) != null)
                _logger.LogInformation("queue: released lease {Lease}: no queued mail left under it", name);
        }
    }

    private async Task TakeOverAsync(string name, ObservedLease seen, CancellationToken cancellationToken)
    {
        long sent = _time.GetTimestamp();
        long epoch = seen.Record.Epoch + 1;
        var record = new LeaseRecord { Node = name, Holder = NodeId, Epoch = epoch, Renewed = _time.GetUtcNow(), Timeout = _timeout.TotalSeconds };
        string? etag = await CasLeaseAsync(name, record, seen.ETag, cancellationToken).ConfigureAwait(false);
        _observed.Remove(name);
        if (etag is null) return;   // another node was faster, or the holder came back
        _held[name] = new HeldLease(epoch, etag, sent + Ticks(_validity), _time.GetTimestamp());
        _logger.LogWarning("queue: took over lease {Lease} from {Holder} at epoch {Epoch} ({Why}); delivering its queued mail",
            name, seen.Record.Holder.Length == 0 ? "(released)" : seen.Record.Holder, epoch,
            seen.Record.Holder.Length == 0 ? "released" : seen.Record.Holder == NodeId ? "held by an earlier life of this node" : $"not renewed for {_timeout.TotalSeconds}s");
        Acquired?.Invoke(name);
    }

    private async Task<(string ETag, LeaseRecord Record)?> ReadLeaseAsyncCore(string name, CancellationToken cancellationToken)
    {
        var o = await _objects.GetAsync(LeaseKey(name), cancellationToken).ConfigureAwait(false);
        if (o is null) return null;
        try
        {
            var r = JsonSerializer.Deserialize(o.Body, LeaseJsonContext.Default.LeaseRecord);
            if (r is null) return null;
            r.Holder ??= "";
            return (o.Head.ETag, r);
        }
        catch (JsonException e)
        {
            _logger.LogError("queue: lease {Lease} is not a valid record ({Error}); treated as epoch 0, released", name, e.Message);
            return (o.Head.ETag, new LeaseRecord { Node = name, Holder = "", Epoch = 0 });
        }
    }

    private async Task<ReadLease?> ReadLeaseAsync(string name, CancellationToken cancellationToken) =>
        await ReadLeaseAsyncCore(name, cancellationToken).ConfigureAwait(false) is { } r ? new ReadLease(r.ETag, r.Record) : null;

    private async Task<string?> CreateLeaseAsync(string name, LeaseRecord record, CancellationToken cancellationToken)
    {
        record.Token = Guid.NewGuid().ToString("N");
        try
        {
            return await _objects.PutAsync(LeaseKey(name), Serialize(record), Meta(record), ifNoneMatch: true, ifMatch: null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectConditionFailedException) { return await MineAfterConflictAsync(name, record.Token, cancellationToken).ConfigureAwait(false); }
    }

    /// <summary>CAS of a lease record; the new ETag, or null when another writer won (decided by re-reading the token).</summary>
    private async Task<string?> CasLeaseAsync(string name, LeaseRecord record, string etag, CancellationToken cancellationToken)
    {
        record.Token = Guid.NewGuid().ToString("N");
        try
        {
            return await _objects.PutAsync(LeaseKey(name), Serialize(record), Meta(record), ifNoneMatch: false, ifMatch: etag, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectConditionFailedException) { return await MineAfterConflictAsync(name, record.Token, cancellationToken).ConfigureAwait(false); }
    }

    private async Task<string?> MineAfterConflictAsync(string name, string token, CancellationToken cancellationToken)
    {
        var head = await _objects.HeadAsync(LeaseKey(name), cancellationToken).ConfigureAwait(false);
        return head != null && head.Metadata.GetValueOrDefault(S3QueueStore.MetaToken) == token ? head.ETag : null;
    }

    private static MemoryStream Serialize(LeaseRecord record) => new(JsonSerializer.SerializeToUtf8Bytes(record, LeaseJsonContext.Default.LeaseRecord));
    private static Dictionary<string, string> Meta(LeaseRecord record) => new() { [S3QueueStore.MetaToken] = record.Token! };

    private bool IsValid(HeldLease h) => _time.GetTimestamp() < h.ValidUntil;
    private long Ticks(TimeSpan t) => (long)(t.TotalSeconds * _time.TimestampFrequency);

    private sealed record HeldLease(long Epoch, string ETag, long ValidUntil, long Since);
    private sealed record ObservedLease(string ETag, long FirstSeen, LeaseRecord Record);
    private sealed record ReadLease(string ETag, LeaseRecord Record);
}

/// <summary>The JSON lease record.</summary>
internal sealed class LeaseRecord
{
    public string Node { get; set; } = "";
    public string Holder { get; set; } = "";
    public long Epoch { get; set; }
    public DateTimeOffset Renewed { get; set; }
    public double Timeout { get; set; }
    public string? Token { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LeaseRecord))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext;
