// InMemoryObjectStore: a fake S3 bucket with the conditional-write semantics the S3 queue relies on
// (If-None-Match: * creates only when absent, If-Match swaps only on the current ETag, both atomic),
// plus fault injection: a "crash" after N writes (every later call fails as if the process or the
// store were gone), lost responses (the write happens, the caller gets 412/500 or a network error),
// and RGW's 500 for a CAS loser.
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Mta.Queue.S3;

namespace Mta.Tests.Queue.S3;

internal sealed class InMemoryObjectStore(TimeProvider? time = null) : IObjectStore
{
    private readonly object _lock = new();
    private readonly SortedDictionary<string, (byte[] Body, string ETag, Dictionary<string, string> Meta, DateTimeOffset Modified)> _objects = new(StringComparer.Ordinal);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private int _writes;

    /// <summary>When set, writes after this many successful writes fail (and so does everything else) until <see cref="Revive"/>.</summary>
    public int? CrashAfterWrites { get; set; }
    /// <summary>True once the crash point was passed.</summary>
    public bool Crashed { get; private set; }
    /// <summary>Everything fails with ObjectStoreUnavailableException (the store is down).</summary>
    public bool Down { get; set; }
    /// <summary>Decides per write whether the response is lost after the write happened: null (no), 412, 500 or 0 (network error).</summary>
    public Func<string, int?>? LoseResponse { get; set; }
    /// <summary>A CAS loser gets 500 instead of 412 (Ceph RGW's -ECANCELED).</summary>
    public bool CasLoserGets500 { get; set; }
    /// <summary>Every call, for assertions: "PUT key", "GET key", ...</summary>
    public List<string> Calls { get; } = [];
    public int Writes { get { lock (_lock) return _writes; } }

    public void Revive()
    {
        lock (_lock) { Crashed = false; CrashAfterWrites = null; }
    }

    public IReadOnlyList<string> Keys { get { lock (_lock) return [.. _objects.Keys]; } }

    public Task<string> PutAsync(string key, Stream body, IReadOnlyDictionary<string, string> metadata, bool ifNoneMatch, string? ifMatch, CancellationToken cancellationToken)
    {
        using var ms = new MemoryStream();
        body.CopyTo(ms);
        byte[] bytes = ms.ToArray();
        int? lose;
        string etag;
        lock (_lock)
        {
            Check("PUT", key);
            if (CrashAfterWrites is { } n && _writes >= n)
            {
                Crashed = true;
                throw new ObjectStoreUnavailableException($"PUT {key}: crashed");
            }
            bool exists = _objects.TryGetValue(key, out var cur);
            if (ifNoneMatch && exists) throw new ObjectConditionFailedException($"PUT {key}: 412 (exists)", 412);
            if (ifMatch != null && (!exists || cur.ETag != ifMatch))
                throw new ObjectConditionFailedException($"PUT {key}: CAS lost", CasLoserGets500 ? 500 : 412);
            etag = Convert.ToHexStringLower(MD5.HashData(bytes)) + "-" + (++_writes).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _objects[key] = (bytes, etag, new Dictionary<string, string>(metadata), _time.GetUtcNow());
            lose = LoseResponse?.Invoke(key);
        }
        return lose switch
        {
            null => Task.FromResult(etag),
            0 => throw new ObjectStoreUnavailableException($"PUT {key}: response lost"),
            int code => throw new ObjectConditionFailedException($"PUT {key}: {code} after a retry", code),
        };
    }

    public Task<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Check("GET", key);
            return Task.FromResult(_objects.TryGetValue(key, out var o) ? new StoredObject(Head(key, o), o.Body) : null);
        }
    }

    public Task<OpenedObject?> OpenAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Check("GET", key);
            return Task.FromResult(_objects.TryGetValue(key, out var o) ? new OpenedObject(Head(key, o), new MemoryStream(o.Body, writable: false)) : null);
        }
    }

    public Task<ObjectHead?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Check("HEAD", key);
            return Task.FromResult(_objects.TryGetValue(key, out var o) ? Head(key, o) : null);
        }
    }

    public async IAsyncEnumerable<ObjectHead> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<ObjectHead> page;
        lock (_lock)
        {
            Check("LIST", prefix);
            page = [.. _objects.Where(o => o.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(o => Head(o.Key, o.Value) with { Metadata = new Dictionary<string, string>() })];
        }
        foreach (var h in page)
        {
            await Task.Yield();
            yield return h;
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Check("DELETE", key);
            if (CrashAfterWrites is { } n && _writes >= n)
            {
                Crashed = true;
                throw new ObjectStoreUnavailableException($"DELETE {key}: crashed");
            }
            if (_objects.Remove(key)) _writes++;
        }
        return Task.CompletedTask;
    }

    /// <summary>Overwrites an object behind the queue's back (another writer).</summary>
    public void Tamper(string key, Func<Dictionary<string, string>, Dictionary<string, string>> meta)
    {
        lock (_lock)
        {
            var o = _objects[key];
            _objects[key] = (o.Body, o.ETag + "x", meta(new Dictionary<string, string>(o.Meta)), _time.GetUtcNow());
        }
    }

    public IReadOnlyDictionary<string, string> MetadataOf(string key)
    {
        lock (_lock) return _objects[key].Meta;
    }

    private void Check(string op, string key)
    {
        Calls.Add(op + " " + key);
        if (Down || Crashed) throw new ObjectStoreUnavailableException($"{op} {key}: store unavailable");
    }

    private static ObjectHead Head(string key, (byte[] Body, string ETag, Dictionary<string, string> Meta, DateTimeOffset Modified) o) =>
        new(key, o.ETag, o.Body.Length, o.Modified, o.Meta);
}

/// <summary>Leases fixed by the test: this node holds the listed leases at the given epochs.</summary>
internal sealed class FixedLeases(string nodeId, long ownEpoch = 1) : Mta.Queue.S3.IQueueLeases
{
    public Dictionary<string, long> Held { get; } = new() { [nodeId] = ownEpoch };
    public string NodeId => nodeId;
    public long OwnEpoch => Held.GetValueOrDefault(nodeId);
    public bool TryGetHeld(string lease, out long epoch) => Held.TryGetValue(lease, out epoch);
}
