// PolicyClient: the policy delegation client for one check_policy_service entry: bounded pool of persistent
// connections, Postfix's attempt/retry/default-action loop, request_limit, max_idle, max_ttl.
// Follows Postfix util/attr_clnt.c attr_clnt_request, util/auto_clnt.c, smtpd_check.c check_policy_service,
// SMTPD_POLICY_README ("Policy client/server configuration").

namespace Mta.PolicyDelegation;

/// <summary>
/// Sends <see cref="PolicyRequest"/>s to one policy service and returns the decision as a value.
/// <para><b>Concurrency.</b> Safe to call from many sessions at once. Postfix keeps one connection per smtpd
/// process; this client keeps a pool of at most <see cref="PolicyServiceSettings.MaxConnections"/> connections,
/// each used by one request at a time (more concurrent callers wait for a free one). Idle connections are
/// reused most-recently-used first, across requests and sessions.</para>
/// <para><b>Attempts</b> (attr_clnt_request). Each attempt takes an idle connection (or opens one); if input is
/// already pending on it (the server closed it or sent unsolicited data) the attempt fails; else the request is
/// written and one reply read. Connect errors, I/O errors, timeouts, EOF, a reply without <c>action</c> or
/// over the size limit fail the attempt: the connection is closed, and unless try_limit attempts were made the
/// client waits retry_delay and tries again on a new connection. After try_limit failures the result is the
/// default action. A reply whose action is not valid UTF-8 uses the default action at once (smtputf8_enable).</para>
/// <para><b>Lifetime</b> (auto_clnt). After request_limit successful requests the connection is closed. A pooled
/// connection idle for max_idle or older than max_ttl is closed, never in the middle of a request; a timer
/// using the <see cref="TimeProvider"/> sweeps the pool.</para>
/// <para><b>Differences from Postfix</b>: a connection whose last attempt failed is always closed (Postfix
/// keeps it after the final failed attempt); bytes after a reply's empty line count as pending input rather than
/// as the start of the next reply; replies are limited to <see cref="PolicyServiceSettings.MaxReplyBytes"/>.</para>
/// </summary>
public sealed class PolicyClient : IAsyncDisposable
{
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _slots;
    private readonly Stack<PolicyConnection> _idle = new();
    private readonly object _lock = new();
    private readonly ITimer? _sweeper;
    private readonly AccessAction _defaultAction;
    private int _open;
    private bool _disposed;

    /// <summary>Creates a client for a parsed <c>check_policy_service</c> entry.</summary>
    /// <param name="spec">Endpoint and effective settings.</param>
    /// <param name="timeProvider">Clock for timeouts, retry delay, max_idle and max_ttl; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">TryLimit &lt; 1, MaxConnections &lt; 1, RequestLimit &lt; 0, or a non-positive time.</exception>
    public PolicyClient(PolicyServiceSpec spec, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Endpoint = spec.Endpoint;
        Settings = spec.Settings;
        var s = Settings;
        ArgumentOutOfRangeException.ThrowIfLessThan(s.TryLimit, 1, nameof(spec));
        ArgumentOutOfRangeException.ThrowIfLessThan(s.MaxConnections, 1, nameof(spec));
        ArgumentOutOfRangeException.ThrowIfNegative(s.RequestLimit, nameof(spec));
        if (s.Timeout <= TimeSpan.Zero || s.MaxIdle <= TimeSpan.Zero || s.MaxTtl <= TimeSpan.Zero || s.RetryDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(spec), "times must be positive");
        _time = timeProvider ?? TimeProvider.System;
        _slots = new SemaphoreSlim(s.MaxConnections, s.MaxConnections);
        _defaultAction = s.ParsedDefaultAction;
        var period = s.MaxIdle < s.MaxTtl ? s.MaxIdle : s.MaxTtl;
        period = period / 4 > TimeSpan.FromMilliseconds(10) ? period / 4 : TimeSpan.FromMilliseconds(10);
        _sweeper = _time.CreateTimer(static state => ((PolicyClient)state!).SweepIdle(), this, period, period);
    }

    /// <summary>Creates a client for <paramref name="endpoint"/> with <paramref name="settings"/> (Postfix defaults when null).</summary>
    public PolicyClient(PolicyEndpoint endpoint, PolicyServiceSettings? settings = null, TimeProvider? timeProvider = null)
        : this(new PolicyServiceSpec(endpoint, settings ?? PolicyServiceSettings.Default), timeProvider)
    {
    }

    /// <summary>The service address.</summary>
    public PolicyEndpoint Endpoint { get; }

    /// <summary>The effective settings.</summary>
    public PolicyServiceSettings Settings { get; }

    /// <summary>Connections currently open (idle and in use).</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    /// <summary>Idle connections in the pool.</summary>
    public int IdleConnections { get { lock (_lock) return _idle.Count; } }

    /// <summary>
    /// Asks the service about <paramref name="request"/>. <c>policy_context</c> is taken from the settings.
    /// Never throws for service trouble: the result then carries the default action.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (e.g. the session ended).</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<PolicyResult> QueryAsync(PolicyRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] wire = PolicyRequestEncoder.EncodeUtf8(request with { PolicyContext = Settings.PolicyContext });
        var problems = new List<string>();
        var reader = new PolicyReplyReader(Settings.MaxReplyBytes);

        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            for (int attempt = 1; ; attempt++)
            {
                PolicyConnection? conn = TakeIdle();
                string? failure = null;
                if (conn is null)
                {
                    try
                    {
                        conn = await PolicyConnection.OpenAsync(Endpoint, Settings.Timeout, _time, cancellationToken).ConfigureAwait(false);
                        Interlocked.Increment(ref _open);
                    }
                    catch (IOException ex)
                    {
                        failure = $"connect to {Endpoint}: {ex.Message}";
                    }
                }
                if (conn is not null)
                {
                    if (conn.HasPendingInput)
                        failure = $"problem talking to server {Endpoint}: connection is readable before the request (server disconnected or sent unexpected data)";
                    else
                    {
                        reader.Reset();
                        try
                        {
                            await conn.WriteAsync(wire, Settings.Timeout, cancellationToken).ConfigureAwait(false);
                            await conn.ReadReplyAsync(reader, Settings.Timeout, cancellationToken).ConfigureAwait(false);
                            if (reader.Status != PolicyReplyStatus.Complete)
                                failure = $"problem talking to server {Endpoint}: {reader.Failure}";
                        }
                        catch (IOException ex)
                        {
                            failure = $"problem talking to server {Endpoint}: {ex.Message}";
                        }
                        catch (OperationCanceledException)
                        {
                            await CloseAsync(conn).ConfigureAwait(false);
                            throw;
                        }
                    }
                }

                if (failure is null && conn is not null)
                {
                    conn.RequestCount++;
                    conn.LastUsedAt = _time.GetUtcNow();
                    if (Settings.RequestLimit > 0 && conn.RequestCount >= Settings.RequestLimit)
                        await CloseAsync(conn).ConfigureAwait(false);
                    else
                        await ReturnIdleAsync(conn).ConfigureAwait(false);
                    string action = reader.Action!;
                    if (Settings.RequireUtf8Action && !reader.ActionIsValidUtf8)
                    {
                        problems.Add($"malformed UTF-8 in policy server {Endpoint} response: \"{action}\"");
                        return Default(attempt, problems);
                    }
                    return new PolicyResult
                    {
                        Action = AccessActionParser.Parse(action),
                        UsedDefaultAction = false,
                        Attempts = attempt,
                        Problems = problems,
                    };
                }

                problems.Add(failure!);
                if (conn is not null) await CloseAsync(conn).ConfigureAwait(false);
                if (attempt >= Settings.TryLimit) return Default(attempt, problems);
                await Task.Delay(Settings.RetryDelay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>Closes idle connections past max_idle or max_ttl. Called by the sweep timer and on each request.</summary>
    internal void SweepIdle()
    {
        List<PolicyConnection>? expired = null;
        lock (_lock)
        {
            if (_idle.Count == 0) return;
            var keep = new List<PolicyConnection>(_idle.Count);
            foreach (var c in _idle) // top (most recent) first
            {
                if (IsExpired(c)) (expired ??= []).Add(c);
                else keep.Add(c);
            }
            if (expired is null) return;
            _idle.Clear();
            for (int i = keep.Count - 1; i >= 0; i--) _idle.Push(keep[i]);
        }
        foreach (var c in expired) _ = CloseAsync(c).AsTask();
    }

    private bool IsExpired(PolicyConnection c)
    {
        var now = _time.GetUtcNow();
        return now - c.LastUsedAt >= Settings.MaxIdle || now - c.CreatedAt >= Settings.MaxTtl;
    }

    private PolicyConnection? TakeIdle()
    {
        SweepIdle();
        lock (_lock)
            return _idle.Count > 0 ? _idle.Pop() : null;
    }

    private async ValueTask ReturnIdleAsync(PolicyConnection conn)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                _idle.Push(conn);
                return;
            }
        }
        await CloseAsync(conn).ConfigureAwait(false);
    }

    private async ValueTask CloseAsync(PolicyConnection conn)
    {
        Interlocked.Decrement(ref _open);
        await conn.DisposeAsync().ConfigureAwait(false);
    }

    private PolicyResult Default(int attempts, List<string> problems) => new()
    {
        Action = _defaultAction,
        UsedDefaultAction = true,
        Attempts = attempts,
        Problems = problems,
    };

    /// <summary>Closes idle connections and stops the sweep timer; connections in use close when their request ends.</summary>
    public async ValueTask DisposeAsync()
    {
        PolicyConnection[] idle;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        _sweeper?.Dispose();
        foreach (var c in idle) await CloseAsync(c).ConfigureAwait(false);
    }
}
