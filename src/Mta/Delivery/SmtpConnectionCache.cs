// SmtpConnectionCache: idle SMTP/LMTP client connections kept open between deliveries to the same next
// hop, as Postfix's smtp(8) connection cache does (CONNECTION_CACHE_README; postconf(5)
// smtp_connection_cache_on_demand, smtp_connection_cache_time_limit, smtp_connection_reuse_count_limit,
// smtp_connection_reuse_time_limit). Keyed by endpoint (IP:port or UNIX socket path), transport, TLS state
// and HELO name; at most smtp_connection_cache_endpoint_limit idle connections per key; idle connections are
// closed (QUIT, best effort) by a timer after the cache time limit. Each idle connection is handed to exactly
// one caller (taken under a lock); a connection in use is not in the cache.
using System.Net.Sockets;
using Mta.Smtp.Client;

namespace Mta.Delivery;

/// <summary>What a cached connection must match to be reused: the connected endpoint, SMTP vs LMTP, whether the session
/// runs over TLS, and the HELO/LHLO name it announced.</summary>
internal readonly record struct SmtpConnectionKey(string EndPoint, TransportKind Transport, bool Tls, string HeloName);

/// <summary>One open client connection, owned by whoever holds it: a delivery, or the cache while it is idle.</summary>
internal sealed class SmtpCachedConnection
{
    internal SmtpCachedConnection(SmtpClientSession session, Socket? socket, long openedAt)
    {
        Session = session;
        Socket = socket;
        OpenedAt = openedAt;
    }

    /// <summary>The session, past greeting and EHLO/LHLO (and STARTTLS), between transactions.</summary>
    public SmtpClientSession Session { get; }
    /// <summary>The socket under the session (for the liveness check before reuse); null for in-memory streams.</summary>
    public Socket? Socket { get; }
    /// <summary>TimeProvider timestamp of the connect (smtp_connection_reuse_time_limit).</summary>
    public long OpenedAt { get; }
    /// <summary>How many times the connection was taken from the cache.</summary>
    public int Reuses { get; set; }
    /// <summary>The last transaction ended before end-of-data (a refusal at MAIL, RCPT or DATA): send RSET before the next MAIL.</summary>
    public bool NeedsReset { get; set; }

    internal SmtpConnectionKey Key;
    internal long IdleSince;
    internal bool Idle;
    internal ITimer? Timer;
}

/// <summary>
/// The cache. Thread-safe. <see cref="TryTake"/> returns the most recently returned idle connection for a key (so the
/// others age out when traffic drops), after a non-blocking liveness check: a connection whose peer has closed it or sent
/// anything unasked (an idle-timeout <c>421</c>) is closed instead of handed out.
/// </summary>
internal sealed class SmtpConnectionCache : IAsyncDisposable
{
    private readonly object _lock = new();
    private readonly Dictionary<SmtpConnectionKey, List<SmtpCachedConnection>> _idle = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleLimit;
    private readonly int _reuseCountLimit;
    private readonly TimeSpan _reuseTimeLimit;
    private readonly int _perKeyLimit;
    private readonly Func<SmtpCachedConnection, Task> _close;
    private bool _disposed;

    /// <param name="time">clock and timers (FakeTimeProvider in tests).</param>
    /// <param name="idleLimit">smtp_connection_cache_time_limit.</param>
    /// <param name="reuseCountLimit">smtp_connection_reuse_count_limit (0 = no limit).</param>
    /// <param name="reuseTimeLimit">smtp_connection_reuse_time_limit.</param>
    /// <param name="perKeyLimit">smtp_connection_cache_endpoint_limit: idle connections kept per key.</param>
    /// <param name="close">closes a connection that leaves the cache for good (QUIT best effort, dispose); never throws.</param>
    public SmtpConnectionCache(TimeProvider time, TimeSpan idleLimit, int reuseCountLimit, TimeSpan reuseTimeLimit, int perKeyLimit,
        Func<SmtpCachedConnection, Task> close)
    {
        _time = time;
        _idleLimit = idleLimit;
        _reuseCountLimit = reuseCountLimit;
        _reuseTimeLimit = reuseTimeLimit;
        _perKeyLimit = Math.Max(1, perKeyLimit);
        _close = close;
    }

    /// <summary>Idle connections held now (all keys).</summary>
    public int IdleCount
    {
        get { lock (_lock) return _idle.Values.Sum(l => l.Count); }
    }

    /// <summary>Takes an idle connection for <paramref name="key"/>, or returns false. The caller owns it afterwards.</summary>
    public bool TryTake(SmtpConnectionKey key, out SmtpCachedConnection connection)
    {
        while (true)
        {
            SmtpCachedConnection? c = null;
            lock (_lock)
            {
                if (_idle.TryGetValue(key, out var list) && list.Count > 0)
                {
                    c = list[^1];
                    list.RemoveAt(list.Count - 1);
                    if (list.Count == 0) _idle.Remove(key);
                    c.Idle = false;
                    c.Timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                }
            }
            if (c == null)
            {
                connection = null!;
                return false;
            }
            if (TooOld(c) || !LooksAlive(c))
            {
                Close(c);
                continue;
            }
            c.Reuses++;
            connection = c;
            return true;
        }
    }

    /// <summary>
    /// Gives a connection back after a transaction that left it usable (the caller decides that: no exception, no 421,
    /// not broken). Closes it instead when the cache is disposed, the connection is past the reuse count or time limit, or
    /// the key already has its maximum of idle connections.
    /// </summary>
    public void Return(SmtpConnectionKey key, SmtpCachedConnection connection)
    {
        if (connection.Session.IsBroken || connection.Session.HasUnreadInput || TooOld(connection)
            || (_reuseCountLimit > 0 && connection.Reuses >= _reuseCountLimit))
        {
            Close(connection);
            return;
        }
        lock (_lock)
        {
            if (!_disposed)
            {
                if (!_idle.TryGetValue(key, out var list)) _idle[key] = list = new List<SmtpCachedConnection>();
                if (list.Count < _perKeyLimit)
                {
                    connection.Key = key;
                    connection.IdleSince = _time.GetTimestamp();
                    connection.Idle = true;
                    list.Add(connection);
                    if (connection.Timer == null)
                        connection.Timer = _time.CreateTimer(static s =>
                        {
                            var (cache, c) = ((SmtpConnectionCache, SmtpCachedConnection))s!;
                            cache.Expire(c);
                        }, (this, connection), _idleLimit, Timeout.InfiniteTimeSpan);
                    else
                        connection.Timer.Change(_idleLimit, Timeout.InfiniteTimeSpan);
                    return;
                }
                if (list.Count == 0) _idle.Remove(key);
            }
        }
        Close(connection);
    }

    /// <summary>Closes a connection that is not (or no longer) in the cache.</summary>
    public void Close(SmtpCachedConnection connection)
    {
        connection.Timer?.Dispose();
        connection.Timer = null;
        _ = _close(connection);
    }

    private void Expire(SmtpCachedConnection c)
    {
        lock (_lock)
        {
            // A callback that raced with TryTake/Return (the timer was re-armed) finds the connection busy or not yet due.
            if (!c.Idle) return;
            var idle = _time.GetElapsedTime(c.IdleSince);
            if (idle < _idleLimit)
            {
                // Early (clock granularity) or stale after a re-arm: wait for the rest.
                c.Timer?.Change(_idleLimit - idle, Timeout.InfiniteTimeSpan);
                return;
            }
            if (_idle.TryGetValue(c.Key, out var list))
            {
                list.Remove(c);
                if (list.Count == 0) _idle.Remove(c.Key);
            }
            c.Idle = false;
        }
        Close(c);
    }

    private bool TooOld(SmtpCachedConnection c) => _time.GetElapsedTime(c.OpenedAt) >= _reuseTimeLimit;

    /// <summary>Between transactions the peer has nothing to say: a readable socket means it closed the connection (EOF,
    /// reset) or sent something unasked (typically <c>421</c> before an idle disconnect). Either way it is not reusable.</summary>
    private static bool LooksAlive(SmtpCachedConnection c)
    {
        if (c.Session.IsBroken || c.Session.HasUnreadInput) return false;
        if (c.Socket == null) return true;
        try
        {
            return !c.Socket.Poll(0, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>Closes every idle connection; connections in use are closed by <see cref="Return"/> afterwards.</summary>
    public async ValueTask DisposeAsync()
    {
        List<SmtpCachedConnection> all;
        lock (_lock)
        {
            _disposed = true;
            all = _idle.Values.SelectMany(l => l).ToList();
            _idle.Clear();
            foreach (var c in all) c.Idle = false;
        }
        var closing = new List<Task>(all.Count);
        foreach (var c in all)
        {
            c.Timer?.Dispose();
            c.Timer = null;
            closing.Add(_close(c));
        }
        await Task.WhenAll(closing).ConfigureAwait(false);
    }
}
