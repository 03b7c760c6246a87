// S3QueueStore: owns the queue's object layout in an S3-compatible bucket and the conditional writes
// that make it safe for several nodes: content written once (If-None-Match: *), the envelope record
// (QueueRecordSerializer JSON, the commit point) created with If-None-Match: * and changed only by
// compare-and-swap (If-Match), "maybe lost" writes (412/409/500) decided by re-reading a per-write
// token, and the fenced operations the runner uses through S3RunnerQueueView (claim before delivery,
// update and delete only while the lease that owns the message is held at the epoch recorded in it).
// Layout and protocol: docs/queue-s3.md.
using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Smtp.Content;

namespace Mta.Queue.S3;

/// <summary>A node tried to change a queued message whose lease it no longer holds (another node took it over).</summary>
public sealed class QueueOwnershipLostException(string queueId, string message) : IOException(message)
{
    /// <summary>The queue ID.</summary>
    public string QueueId { get; } = queueId;
}

/// <summary>Which leases this node holds, at which epoch (implemented by <see cref="S3LeaseManager"/>).</summary>
public interface IQueueLeases
{
    /// <summary>This node's name (queue_node_id); new messages belong to its lease.</summary>
    string NodeId { get; }
    /// <summary>The epoch of this node's own lease as last known (0 before it was first acquired).</summary>
    long OwnEpoch { get; }
    /// <summary>True when this node holds <paramref name="lease"/> and its last renewal is recent enough to act on it.</summary>
    bool TryGetHeld(string lease, out long epoch);
}

/// <summary>
/// The S3 <see cref="IQueueStore"/>. Keys under queue_s3_prefix:
/// <list type="bullet">
/// <item><c>q/content/ID</c>: the message bytes, written once with If-None-Match: *.</item>
/// <item><c>q/env/ID</c>: the envelope record (<see cref="QueueRecordSerializer"/>); its creation is the commit
/// point. User metadata: <c>mta-owner</c> (the lease the message belongs to: the node that queued it),
/// <c>mta-epoch</c> (that lease's epoch when it was last claimed), <c>mta-inflight</c> (node@epoch of a delivery
/// attempt in progress), <c>mta-token</c> (unique per write, to recognise one's own write after a "maybe lost"
/// answer). A zero-length body with <c>mta-state: deleted</c> is a tombstone (a fenced delete in progress).</item>
/// <item><c>q/lease/NODE</c>: lease records (<see cref="S3LeaseManager"/>).</item>
/// </list>
/// The <see cref="IQueueStore"/> methods are the administrator's and the SMTP session's view: Update keeps the
/// owner, epoch and in-flight marker of the record it replaces (the admin's change wins, like the local queue).
/// Every method returns after the object store acknowledged the write; failures are <see cref="IOException"/>s.
/// </summary>
public sealed class S3QueueStore : IQueueStore
{
    internal const string MetaOwner = "mta-owner", MetaEpoch = "mta-epoch", MetaToken = "mta-token", MetaInflight = "mta-inflight", MetaState = "mta-state";
    private const int CasAttempts = 5;
    private readonly IObjectStore _objects;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IQueueLeases? _leases;
    private readonly string _nodeId;
    private readonly ConcurrentDictionary<string, EnvelopeVersion> _cache = new(StringComparer.Ordinal);
    private long _possibleDuplicates, _lostAttempts;

    /// <param name="objects">the bucket.</param>
    /// <param name="prefix">queue_s3_prefix.</param>
    /// <param name="leases">the node's leases (owner and epoch of new messages; fencing); null for an admin tool that queues nothing.</param>
    /// <param name="logger">null for none.</param>
    /// <param name="time">null for <see cref="TimeProvider.System"/>.</param>
    public S3QueueStore(IObjectStore objects, string prefix, IQueueLeases? leases, ILogger<S3QueueStore>? logger = null, TimeProvider? time = null)
    {
        _objects = objects;
        Prefix = prefix;
        _leases = leases;
        _nodeId = leases?.NodeId ?? "admin";
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>queue_s3_prefix.</summary>
    public string Prefix { get; }
    /// <summary>Key of the content object of <paramref name="queueId"/>.</summary>
    public string ContentKey(string queueId) => Prefix + "q/content/" + CheckId(queueId);
    /// <summary>Key of the envelope object of <paramref name="queueId"/>.</summary>
    public string EnvelopeKey(string queueId) => Prefix + "q/env/" + CheckId(queueId);
    private string EnvelopePrefix => Prefix + "q/env/";
    private string ContentPrefix => Prefix + "q/content/";

    /// <summary>Attempts found in flight under an older epoch when this node claimed a message: each may have been delivered twice.</summary>
    public long PossibleDuplicates => Interlocked.Read(ref _possibleDuplicates);
    /// <summary>Attempts of this node whose outcome could not be recorded because the lease had been taken over meanwhile.</summary>
    public long LostAttempts => Interlocked.Read(ref _lostAttempts);
    /// <summary>Leases (owners) seen in the last complete listing, with their message counts; null before the first.</summary>
    public IReadOnlyDictionary<string, int>? LastListOwners { get; private set; }

    /// <inheritdoc/>
    /// <exception cref="IOException">the ID is already queued, or a write failed (then nothing was committed, or the
    /// outcome is unknown because the store went away: the caller answers 451 either way).</exception>
    public async Task EnqueueAsync(QueuedMessage message, MessageContent content, CancellationToken cancellationToken)
    {
        string id = CheckId(message.QueueId);
        string token = NewToken();
        await using (var body = await SeekableCopyAsync(content, cancellationToken).ConfigureAwait(false))
        {
            if (await CreateAsync(ContentKey(id), body, new Dictionary<string, string> { [MetaToken] = token }, token, cancellationToken).ConfigureAwait(false) is null)
                throw new IOException($"queue ID {id} is already queued");
        }
        string owner = _leases?.NodeId ?? _nodeId;
        long epoch = _leases?.OwnEpoch ?? 0;
        var meta = new Dictionary<string, string> { [MetaOwner] = owner, [MetaEpoch] = Str(epoch), [MetaToken] = token };
        byte[] record = QueueRecordSerializer.Serialize(message);
        // On ObjectStoreUnavailableException the outcome is unknown: the content stays (the orphan sweep removes
        // it if the envelope never landed) and the caller answers 451.
        string etag = await CreateAsync(EnvelopeKey(id), new MemoryStream(record), meta, token, cancellationToken).ConfigureAwait(false)
            ?? throw new IOException($"queue ID {id} is already queued");
        _cache[id] = new EnvelopeVersion(etag, owner, epoch, null, message);
    }

    /// <inheritdoc/>
    /// <exception cref="QueueEntryNotFoundException">the message is no longer queued (it is not re-created).</exception>
    public Task UpdateAsync(QueuedMessage message, CancellationToken cancellationToken) =>
        CasAsync(CheckId(message.QueueId), QueueRecordSerializer.Serialize(message), message, fenced: false, clearInflight: false, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Idempotent. The envelope goes first (the message is gone for every node), then the content.</remarks>
    public async Task DeleteAsync(string queueId, CancellationToken cancellationToken)
    {
        string id = CheckId(queueId);
        await _objects.DeleteAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
        _cache.TryRemove(id, out _);
        await _objects.DeleteAsync(ContentKey(id), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<QueuedMessage?> LoadAsync(string queueId, CancellationToken cancellationToken)
    {
        if (!QueueIdGenerator.IsValid(queueId)) throw new ArgumentException($"invalid queue ID '{queueId}'", nameof(queueId));
        return (await ReadAsync(queueId, cancellationToken).ConfigureAwait(false))?.Message;
    }

    /// <inheritdoc/>
    /// <exception cref="QueueEntryNotFoundException">no content for this ID.</exception>
    public async Task<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken)
    {
        var o = await _objects.OpenAsync(ContentKey(queueId), cancellationToken).ConfigureAwait(false);
        return o?.Body ?? throw new QueueEntryNotFoundException(queueId);
    }

    /// <inheritdoc/>
    /// <remarks>In queue ID (key) order. One LIST; an envelope is read again only when its ETag changed since this
    /// store last read it. Corrupt records and records of a newer version are logged and skipped.</remarks>
    public async IAsyncEnumerable<QueuedMessage> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var v in ListVersionsAsync(cancellationToken).ConfigureAwait(false)) yield return v.Message;
    }

    /// <summary>Every envelope with its owner, epoch and in-flight marker (see <see cref="ListAsync"/>).</summary>
    internal async IAsyncEnumerable<EnvelopeVersion> ListVersionsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var owners = new Dictionary<string, int>(StringComparer.Ordinal);
        await foreach (var o in _objects.ListAsync(EnvelopePrefix, cancellationToken).ConfigureAwait(false))
        {
            string id = o.Key[EnvelopePrefix.Length..];
            if (!QueueIdGenerator.IsValid(id)) continue;
            seen.Add(id);
            EnvelopeVersion? v;
            if (_cache.TryGetValue(id, out var cached) && cached.ETag == o.ETag) v = cached;
            else if (o.Size == 0)
            {
                // A tombstone: a fenced delete that did not finish. Finish it when it is old.
                if (_time.GetUtcNow() - o.LastModified > TimeSpan.FromMinutes(5)) await RemoveTombstoneAsync(id, o.ETag, cancellationToken).ConfigureAwait(false);
                continue;
            }
            else
            {
                try { v = await ReadAsync(id, cancellationToken).ConfigureAwait(false); }
                catch (QueueRecordVersionException e)
                {
                    _logger.LogWarning("{QueueId}: skipped: {Reason}", id, e.Message);
                    continue;
                }
            }
            if (v is null) continue;
            owners[v.Owner] = owners.GetValueOrDefault(v.Owner) + 1;
            yield return v;
        }
        foreach (var id in _cache.Keys) if (!seen.Contains(id)) _cache.TryRemove(id, out _);
        LastListOwners = owners;
    }

    /// <summary>
    /// Removes content objects without an envelope that are older than <paramref name="minAge"/> (an enqueue that
    /// died or failed before its commit point; it was never answered 250) and old tombstones.
    /// </summary>
    /// <returns>the number of orphans removed.</returns>
    public async Task<int> SweepOrphansAsync(TimeSpan minAge, CancellationToken cancellationToken)
    {
        var envelopes = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var o in _objects.ListAsync(EnvelopePrefix, cancellationToken).ConfigureAwait(false))
        {
            string id = o.Key[EnvelopePrefix.Length..];
            if (o.Size == 0 && _time.GetUtcNow() - o.LastModified > minAge) await RemoveTombstoneAsync(id, o.ETag, cancellationToken).ConfigureAwait(false);
            else envelopes.Add(id);
        }
        int removed = 0;
        var now = _time.GetUtcNow();
        await foreach (var o in _objects.ListAsync(ContentPrefix, cancellationToken).ConfigureAwait(false))
        {
            string id = o.Key[ContentPrefix.Length..];
            if (envelopes.Contains(id) || now - o.LastModified < minAge) continue;
            // Re-check: the envelope may have been committed after the listing.
            if (await _objects.HeadAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false) is { Size: > 0 }) continue;
            await _objects.DeleteAsync(o.Key, cancellationToken).ConfigureAwait(false);
            removed++;
            _logger.LogWarning("{QueueId}: removed content without envelope (interrupted before commit)", id);
        }
        return removed;
    }

    // ---- fenced operations of the runner (S3RunnerQueueView) ----

    /// <summary>
    /// Loads a message for delivery by this node: null when it is gone or when this node does not hold the lease it
    /// belongs to (or holds an older epoch of it). A message that is due and not held is claimed first: its
    /// envelope is compare-and-swapped to this lease epoch with an in-flight marker, so an older holder's later
    /// writes fail. An in-flight marker of another holder or life means that attempt may have delivered: counted
    /// as a possible duplicate.
    /// </summary>
    internal async Task<QueuedMessage?> ClaimAsync(string queueId, CancellationToken cancellationToken)
    {
        string id = CheckId(queueId);
        var leases = _leases ?? throw new InvalidOperationException("no leases: this store cannot deliver");
        for (int i = 0; i < CasAttempts; i++)
        {
            var v = await ReadAsync(id, cancellationToken).ConfigureAwait(false);
            if (v is null) return null;
            if (!leases.TryGetHeld(v.Owner, out long epoch) || v.Epoch > epoch) return null;
            var m = v.Message;
            if (m.Held || m.NextAttempt > _time.GetUtcNow() + TimeSpan.FromSeconds(1)) return m;
            string marker = _nodeId + "@" + Str(epoch);
            if (v.Epoch == epoch && v.Inflight == marker) return m;
            var meta = new Dictionary<string, string> { [MetaOwner] = v.Owner, [MetaEpoch] = Str(epoch), [MetaInflight] = marker };
            var written = await TryCasAsync(id, QueueRecordSerializer.Serialize(m), meta, v.ETag, cancellationToken).ConfigureAwait(false);
            if (written is null) continue;   // changed meanwhile: decide again on a fresh read
            _cache[id] = written with { Message = m };
            if (v.Inflight != null && v.Inflight != marker)
            {
                long n = Interlocked.Increment(ref _possibleDuplicates);
                _logger.LogWarning("{QueueId}: possible duplicate delivery: an attempt by {Previous} was in flight when lease {Lease} passed to {Node} at epoch {Epoch} (possible duplicates so far: {Count})",
                    id, v.Inflight, v.Owner, _nodeId, epoch, n);
            }
            return m;
        }
        throw new IOException($"queue ID {id}: envelope kept changing; not claimed");
    }

    /// <summary>Records the outcome of an attempt: CAS on the claimed version, clearing the in-flight marker.</summary>
    /// <exception cref="QueueOwnershipLostException">the lease was taken over since the claim.</exception>
    internal Task FencedUpdateAsync(QueuedMessage message, CancellationToken cancellationToken) =>
        CasAsync(CheckId(message.QueueId), QueueRecordSerializer.Serialize(message), message, fenced: true, clearInflight: true, cancellationToken);

    /// <summary>Removes a finished message: a fenced CAS to a tombstone, then content and envelope are deleted.</summary>
    /// <exception cref="QueueOwnershipLostException">the lease was taken over since the claim.</exception>
    internal async Task FencedDeleteAsync(string queueId, CancellationToken cancellationToken)
    {
        string id = CheckId(queueId);
        try
        {
            await CasAsync(id, [], null, fenced: true, clearInflight: true, cancellationToken, tombstone: true).ConfigureAwait(false);
        }
        catch (QueueEntryNotFoundException) { }
        _cache.TryRemove(id, out _);
        await _objects.DeleteAsync(ContentKey(id), cancellationToken).ConfigureAwait(false);
        await _objects.DeleteAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
    }

    // ---- internals ----

    internal sealed record EnvelopeVersion(string ETag, string Owner, long Epoch, string? Inflight, QueuedMessage Message);

    private async Task CasAsync(string id, byte[] body, QueuedMessage? message, bool fenced, bool clearInflight, CancellationToken cancellationToken, bool tombstone = false)
    {
        _cache.TryGetValue(id, out var expected);
        for (int i = 0; i < CasAttempts; i++)
        {
            if (expected is null)
            {
                var head = await _objects.HeadAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
                if (head is null || head.Size == 0) throw new QueueEntryNotFoundException(id);
                expected = Version(head, null);
            }
            long epoch = fenced ? CheckFence(id, expected) : expected.Epoch;
            var meta = new Dictionary<string, string> { [MetaOwner] = expected.Owner, [MetaEpoch] = Str(epoch) };
            if (!clearInflight && expected.Inflight != null) meta[MetaInflight] = expected.Inflight;
            if (tombstone) meta[MetaState] = "deleted";
            var written = await TryCasAsync(id, body, meta, expected.ETag, cancellationToken).ConfigureAwait(false);
            if (written != null)
            {
                if (tombstone || message is null) _cache.TryRemove(id, out _);
                else _cache[id] = written with { Message = message };
                return;
            }
            expected = null;   // lost: re-read and decide
        }
        throw new IOException($"queue ID {id}: envelope kept changing; update not stored");
    }

    /// <summary>The epoch to write: this node must hold the message's lease at an epoch no older than the record's
    /// (a record of an older epoch, e.g. delivered on a forced flush without a claim, is claimed by this very CAS).</summary>
    private long CheckFence(string id, EnvelopeVersion current)
    {
        if (_leases != null && _leases.TryGetHeld(current.Owner, out long epoch) && current.Epoch <= epoch) return epoch;
        long n = Interlocked.Increment(ref _lostAttempts);
        _logger.LogWarning("{QueueId}: lease {Lease} no longer held by {Node} (record at epoch {Epoch}): outcome not recorded here, the holder retries (at-least-once; lost attempts so far: {Count})",
            id, current.Owner, _nodeId, current.Epoch, n);
        throw new QueueOwnershipLostException(id, $"queue ID {id}: lease {current.Owner} is no longer held by {_nodeId}");
    }

    /// <summary>If-Match PUT of the envelope; the new version, or null when it lost (decided by re-reading).</summary>
    private async Task<EnvelopeVersion?> TryCasAsync(string id, byte[] body, Dictionary<string, string> meta, string etag, CancellationToken cancellationToken)
    {
        string token = NewToken();
        meta[MetaToken] = token;
        string key = EnvelopeKey(id);
        try
        {
            string newTag = await _objects.PutAsync(key, new MemoryStream(body), meta, ifNoneMatch: false, ifMatch: etag, cancellationToken).ConfigureAwait(false);
            return new EnvelopeVersion(newTag, meta[MetaOwner], Parse(meta[MetaEpoch]), meta.GetValueOrDefault(MetaInflight), null!);
        }
        catch (ObjectConditionFailedException)
        {
            var head = await _objects.HeadAsync(key, cancellationToken).ConfigureAwait(false);
            if (head != null && Token(head.Metadata) == token) return Version(head, null);
            return null;
        }
    }

    /// <summary>If-None-Match PUT; the ETag when this call created the object (also when only a retry was told 412), else null.</summary>
    private async Task<string?> CreateAsync(string key, Stream body, Dictionary<string, string> meta, string token, CancellationToken cancellationToken)
    {
        try
        {
            return await _objects.PutAsync(key, body, meta, ifNoneMatch: true, ifMatch: null, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectConditionFailedException)
        {
            var head = await _objects.HeadAsync(key, cancellationToken).ConfigureAwait(false);
            return head != null && Token(head.Metadata) == token ? head.ETag : null;
        }
    }

    private async Task<EnvelopeVersion?> ReadAsync(string id, CancellationToken cancellationToken)
    {
        var o = await _objects.GetAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
        if (o is null || o.Body.Length == 0 || o.Head.Metadata.GetValueOrDefault(MetaState) == "deleted")
        {
            _cache.TryRemove(id, out _);
            return null;
        }
        QueuedMessage m;
        try
        {
            m = QueueRecordSerializer.Deserialize(o.Body);
            if (!string.Equals(m.QueueId, id, StringComparison.Ordinal))
                throw new QueueRecordCorruptException($"record holds queue ID {m.QueueId}, key is {id}");
        }
        catch (QueueRecordCorruptException e)
        {
            // Not moved aside (other nodes read it too): logged at every read until an admin deletes it.
            _logger.LogError("{QueueId}: envelope record unusable ({Reason}); left in place for the administrator", id, e.Message);
            return null;
        }
        var v = Version(o.Head, m);
        _cache[id] = v;
        return v;
    }

    private async Task RemoveTombstoneAsync(string id, string etag, CancellationToken cancellationToken)
    {
        var head = await _objects.HeadAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
        if (head is null || head.ETag != etag || head.Size != 0) return;
        await _objects.DeleteAsync(ContentKey(id), cancellationToken).ConfigureAwait(false);
        await _objects.DeleteAsync(EnvelopeKey(id), cancellationToken).ConfigureAwait(false);
    }

    private EnvelopeVersion Version(ObjectHead head, QueuedMessage? m) => new(
        head.ETag, head.Metadata.GetValueOrDefault(MetaOwner) ?? _nodeId,
        Parse(head.Metadata.GetValueOrDefault(MetaEpoch)), head.Metadata.GetValueOrDefault(MetaInflight), m!);

    private static async Task<Stream> SeekableCopyAsync(MessageContent content, CancellationToken cancellationToken)
    {
        Stream target = content.Length <= 8 << 20
            ? new MemoryStream(checked((int)content.Length))
            : new FileStream(Path.Combine(Path.GetTempPath(), "mta-s3-" + Guid.NewGuid().ToString("N")), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            using var src = content.OpenRead();
            await src.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            target.Position = 0;
            return target;
        }
        catch
        {
            await target.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static string? Token(IReadOnlyDictionary<string, string> meta) => meta.GetValueOrDefault(MetaToken);
    private static string NewToken() => Guid.NewGuid().ToString("N");
    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static long Parse(string? s) => long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : 0;

    private static string CheckId(string queueId) =>
        QueueIdGenerator.IsValid(queueId) ? queueId : throw new ArgumentException($"invalid queue ID '{queueId}'", nameof(queueId));
}
