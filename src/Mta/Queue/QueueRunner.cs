// QueueRunner: owns retrying queued messages: the scan schedule (queue_run_delay, wake-ups,
// flush), concurrency (qmgr_message_active_limit), per-recipient bookkeeping, Postfix-like backoff
// (minimal_backoff_time doubling up to maximal_backoff_time), queue lifetime expiry
// (maximal_queue_lifetime, bounce_queue_lifetime), bounces and removal. Reference: Postfix qmgr(8)
// and postconf(5) for those parameters; RFC 5321 4.5.4.1 (retry strategy) and 4.5.5 (null sender).
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Queue;

/// <summary>
/// The long-running queue manager. Each run lists the queue, takes every message that is due
/// (<see cref="QueuedMessage.NextAttempt"/> &lt;= now) and not held, up to
/// <see cref="QueueOptions.ActiveLimit"/> at once, and delivers its Pending recipients through the
/// delivery delegate. Per recipient: sent -> Delivered; bounced -> Bounced plus one DSN per attempt
/// (<see cref="Bouncer"/>); deferred -> stays Pending, unless the message is older than its queue
/// lifetime after this attempt, then it bounces as expired (null-sender messages are dropped, never
/// bounced). A message with no Pending recipient left is deleted ("QUEUEID: removed"); otherwise
/// <see cref="QueuedMessage.Attempts"/> grows by one and the next attempt is
/// <see cref="Backoff(int)"/> from now. A message is never delivered by two tasks at once. Outcomes
/// are written with no cancellation, so a shutdown never forgets a delivery that happened.
/// </summary>
public sealed class QueueRunner
{
    private readonly IQueueStore _store;
    private readonly QueueOptions _options;
    private readonly Func<MessageEnvelope, IReadOnlyList<EnvelopeRecipient>, MessageContent, CancellationToken, Task<IReadOnlyList<RecipientOutcome>>> _deliver;
    private readonly Bouncer _bouncer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _spoolDirectory;
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentDictionary<string, byte> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private int _flushAll;

    /// <param name="store">the queue.</param>
    /// <param name="options">queue_run_delay, minimal/maximal_backoff_time, maximal_queue_lifetime,
    /// bounce_queue_lifetime, qmgr_message_active_limit (values below 1 count as 1).</param>
    /// <param name="deliver">delivers one message to the given recipients and returns one outcome per
    /// recipient, in order (the routing + delivery agents). It should not throw; if it does, every
    /// recipient of that attempt is deferred with 451 4.3.0.</param>
    /// <param name="bouncer">queues DSNs for bounced and expired recipients.</param>
    /// <param name="time">the clock and timers; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">delivery lines in Postfix's shape; null for none.</param>
    /// <param name="spoolDirectory">temporary directory used when the store cannot hand out content
    /// as a file (non-local stores); null for the system temp directory.</param>
    public QueueRunner(IQueueStore store, QueueOptions options,
        Func<MessageEnvelope, IReadOnlyList<EnvelopeRecipient>, MessageContent, CancellationToken, Task<IReadOnlyList<RecipientOutcome>>> deliver,
        Bouncer bouncer, TimeProvider? time = null, ILogger<QueueRunner>? logger = null, string? spoolDirectory = null)
    {
        _store = store;
        _options = options;
        _deliver = deliver;
        _bouncer = bouncer;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _spoolDirectory = spoolDirectory ?? Path.GetTempPath();
        _slots = new SemaphoreSlim(Math.Max(1, options.ActiveLimit));
    }

    /// <summary>Queue IDs being delivered right now.</summary>
    public IReadOnlyCollection<string> ActiveQueueIds => [.. _active.Keys];

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> fires: a queue run, then a wait of
    /// queue_run_delay (shorter when a message falls due earlier), cut short by <see cref="Wake"/> or
    /// <see cref="FlushAsync"/>. On cancellation it waits for the deliveries in progress (which see the
    /// cancellation) and records their outcomes, then returns normally.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                DateTimeOffset? earliest = null;
                try { (earliest, _) = await ScanAsync(cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { break; }
                catch (Exception e) { QueueLog.ScanFailed(_logger, e.Message, e); }

                var wait = _options.QueueRunDelay > TimeSpan.Zero ? _options.QueueRunDelay : TimeSpan.FromSeconds(1);
                if (earliest is { } due)
                {
                    var untilDue = due - _time.GetUtcNow();
                    if (untilDue < wait) wait = untilDue > TimeSpan.Zero ? untilDue : TimeSpan.Zero;
                }
                try { await WaitAsync(wait, cancellationToken).ConfigureAwait(false); }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { break; }
            }
        }
        finally
        {
            await Task.WhenAll(_running.Keys).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One queue run: starts every due, non-held, not-active message (at most
    /// qmgr_message_active_limit at once) and waits until those deliveries are recorded.
    /// </summary>
    /// <returns>the number of messages this run started.</returns>
    /// <exception cref="IOException">the queue could not be listed.</exception>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var (_, started) = await ScanAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(started).ConfigureAwait(false);
        return started.Count;
    }

    /// <summary>Starts a queue run now (from <see cref="RunAsync"/>'s loop); cheap and idempotent.</summary>
    public void Wake()
    {
        try { if (_wake.CurrentCount == 0) _wake.Release(); }
        catch (SemaphoreFullException) { }
    }

    /// <summary>
    /// Postfix <c>postqueue -f</c> / <c>-i ID</c>: with a queue ID, makes that message due now (durably)
    /// and wakes the runner; with null, makes the next run treat every non-held message as due.
    /// </summary>
    /// <returns>false when <paramref name="queueId"/> is not queued or is on hold; true otherwise.</returns>
    /// <exception cref="IOException">the queue could not be read or written.</exception>
    public async Task<bool> FlushAsync(string? queueId, CancellationToken cancellationToken = default)
    {
        if (queueId is null)
        {
            Interlocked.Exchange(ref _flushAll, 1);
            Wake();
            return true;
        }
        if (!QueueIdGenerator.IsValid(queueId)) return false;
        if (_active.ContainsKey(queueId)) return true;
        var m = await _store.LoadAsync(queueId, cancellationToken).ConfigureAwait(false);
        if (m is null || m.Held) return false;
        var now = _time.GetUtcNow();
        if (m.NextAttempt > now)
        {
            try { await _store.UpdateAsync(m with { NextAttempt = now }, cancellationToken).ConfigureAwait(false); }
            catch (QueueEntryNotFoundException) { return false; }
        }
        Wake();
        return true;
    }

    /// <summary>
    /// The wait after the <paramref name="attempts"/>-th failed attempt (1-based):
    /// minimal_backoff_time * 2^(attempts-1), at most maximal_backoff_time (and never below minimal).
    /// </summary>
    public TimeSpan Backoff(int attempts)
    {
        var min = _options.MinimalBackoffTime > TimeSpan.Zero ? _options.MinimalBackoffTime : TimeSpan.FromSeconds(1);
        var max = _options.MaximalBackoffTime > min ? _options.MaximalBackoffTime : min;
        double factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 62));
        double ticks = min.Ticks * factor;
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        if (wait <= TimeSpan.Zero) return;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, _time, cts.Token);
        var woken = _wake.WaitAsync(cts.Token);
        await Task.WhenAny(delay, woken).ConfigureAwait(false);
        cts.Cancel();
        cancellationToken.ThrowIfCancellationRequested();
        try { await Task.WhenAll(delay, woken).ConfigureAwait(false); } catch (OperationCanceledException) { }
    }

    private async Task<(DateTimeOffset? Earliest, List<Task> Started)> ScanAsync(CancellationToken cancellationToken)
    {
        bool flushAll = Interlocked.Exchange(ref _flushAll, 0) == 1;
        var now = _time.GetUtcNow();
        DateTimeOffset? earliest = null;
        var due = new List<QueuedMessage>();
        await foreach (var m in _store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            if (m.Held || _active.ContainsKey(m.QueueId)) continue;
            if (!flushAll && m.NextAttempt > now)
            {
                if (earliest is null || m.NextAttempt < earliest) earliest = m.NextAttempt;
                continue;
            }
            due.Add(m);
        }
        var started = new List<Task>();
        foreach (var m in due.OrderBy(m => m.NextAttempt).ThenBy(m => m.QueueId, StringComparer.Ordinal))
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!_active.TryAdd(m.QueueId, 0)) { _slots.Release(); continue; }
            var task = Task.Run(() => ProcessGuardedAsync(m.QueueId, flushAll, cancellationToken), CancellationToken.None);
            _running.TryAdd(task, 0);
            _ = task.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            started.Add(task);
        }
        return (earliest, started);
    }

    private async Task ProcessGuardedAsync(string queueId, bool forced, CancellationToken cancellationToken)
    {
        try { await ProcessAsync(queueId, forced, cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        catch (Exception e) { QueueLog.Problem(_logger, queueId, "queue run failed: " + e.Message, e); }
        finally
        {
            _active.TryRemove(queueId, out _);
            _slots.Release();
        }
    }

    private async Task ProcessAsync(string queueId, bool forced, CancellationToken cancellationToken)
    {
        var attemptStart = _time.GetUtcNow();
        // Reload: the listing may be stale (released, held, deleted or flushed meanwhile).
        var m = await _store.LoadAsync(queueId, cancellationToken).ConfigureAwait(false);
        if (m is null || m.Held || (!forced && m.NextAttempt > attemptStart)) return;
        var pending = m.Recipients.Where(r => r.State == QueuedRecipientState.Pending).ToList();
        if (pending.Count == 0)
        {
            await _store.DeleteAsync(queueId, CancellationToken.None).ConfigureAwait(false);
            QueueLog.Removed(_logger, queueId);
            return;
        }

        MessageContent content;
        try { content = await OpenContentAsync(queueId, cancellationToken).ConfigureAwait(false); }
        catch (QueueEntryNotFoundException)
        {
            QueueLog.Problem(_logger, queueId, "content missing; left for queue recovery", null);
            return;
        }
        using var body = content.Body;
        var deliveryStart = _time.GetUtcNow();
        var outcomes = await DeliverAsync(m.Envelope, pending, content, cancellationToken).ConfigureAwait(false);
        var after = _time.GetUtcNow();

        var lifetime = m.Envelope.Sender.IsNull ? _options.BounceQueueLifetime : _options.MaximalQueueLifetime;
        bool expired = after - m.Envelope.ArrivalTime >= lifetime;
        var failed = new List<RecipientOutcome>();
        bool anyExpired = false;
        var updated = new List<QueuedRecipient>(m.Recipients.Count);
        var byRecipient = new Dictionary<QueuedRecipient, RecipientOutcome>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < pending.Count; i++) byRecipient[pending[i]] = outcomes[i];

        foreach (var r in m.Recipients)
        {
            if (!byRecipient.TryGetValue(r, out var o)) { updated.Add(r); continue; }
            LogOutcome(m.Envelope, o, attemptStart, deliveryStart, after);
            var next = r with { LastReply = o.Reply, LastRelay = o.Relay };
            switch (o.Status)
            {
                case DeliveryStatus.Sent:
                    next = next with { State = QueuedRecipientState.Delivered };
                    break;
                case DeliveryStatus.Bounced:
                    next = next with { State = QueuedRecipientState.Bounced };
                    failed.Add(o);
                    break;
                default:
                    if (expired)
                    {
                        next = next with { State = QueuedRecipientState.Bounced };
                        failed.Add(o);
                        anyExpired = true;
                    }
                    break;
            }
            updated.Add(next);
        }

        if (anyExpired)
            QueueLog.Expired(_logger, queueId, m.Envelope.Sender.Address, m.Envelope.Sender.IsNull ? "dropped" : "returned to sender");
        if (failed.Count > 0 && !m.Envelope.Sender.IsNull)
        {
            try
            {
                await _bouncer.BounceAsync(m.Envelope, failed, content, CancellationToken.None, anyExpired ? lifetime : null).ConfigureAwait(false);
                Wake();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // No DSN durable yet: keep those recipients Pending so a later attempt bounces them again.
                QueueLog.Problem(_logger, queueId, "could not queue the DSN, will retry: " + e.Message, e);
                var failedSet = failed.Select(f => f.Recipient).ToHashSet();
                updated = [.. updated.Select((r, i) => r.State == QueuedRecipientState.Bounced && m.Recipients[i].State == QueuedRecipientState.Pending && failedSet.Contains(r.Recipient)
                    ? r with { State = QueuedRecipientState.Pending } : r)];
            }
        }

        try
        {
            if (updated.All(r => r.State != QueuedRecipientState.Pending))
            {
                await _store.DeleteAsync(queueId, CancellationToken.None).ConfigureAwait(false);
                QueueLog.Removed(_logger, queueId);
            }
            else
            {
                int attempts = m.Attempts + 1;
                await _store.UpdateAsync(m with { Recipients = updated, Attempts = attempts, NextAttempt = after + Backoff(attempts) }, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (QueueEntryNotFoundException)
        {
            QueueLog.Problem(_logger, queueId, "deleted during delivery; outcomes not recorded", null);
        }
    }

    private async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(MessageEnvelope envelope, List<QueuedRecipient> pending, MessageContent content, CancellationToken cancellationToken)
    {
        var recipients = pending.Select(p => p.Recipient).ToList();
        IReadOnlyList<RecipientOutcome>? outcomes = null;
        string? failure = null;
        try { outcomes = await _deliver(envelope, recipients, content, cancellationToken).ConfigureAwait(false); }
        catch (Exception e)
        {
            failure = e is OperationCanceledException ? "delivery cancelled (shutdown)" : "delivery agent failed: " + e.Message;
            QueueLog.Problem(_logger, envelope.QueueId, failure, e is OperationCanceledException ? null : e);
        }
        var result = new RecipientOutcome[recipients.Count];
        for (int i = 0; i < recipients.Count; i++)
        {
            RecipientOutcome? o = null;
            if (outcomes != null)
            {
                // Contract: one outcome per recipient in order; fall back to matching by recipient.
                if (outcomes.Count == recipients.Count && outcomes[i].Recipient == recipients[i]) o = outcomes[i];
                else o = outcomes.FirstOrDefault(x => x.Recipient == recipients[i]);
            }
            result[i] = o ?? new RecipientOutcome(recipients[i], DeliveryStatus.Deferred,
                new SmtpReply(451, "4.3.0", failure ?? "no outcome from the delivery agent"), "none");
        }
        return result;
    }

    private async Task<MessageContent> OpenContentAsync(string queueId, CancellationToken cancellationToken)
    {
        if (_store is IQueueContentSource direct) return await direct.OpenMessageContentAsync(queueId, cancellationToken).ConfigureAwait(false);
        var spool = new MessageSpool(1 << 20, _spoolDirectory);
        try
        {
            var buffer = new byte[81920];
            using var s = await _store.OpenContentAsync(queueId, cancellationToken).ConfigureAwait(false);
            int n;
            while ((n = await s.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0) spool.Write(buffer.AsSpan(0, n));
            spool.Flush();
            return new MessageContent(ReadOnlyMemory<byte>.Empty, spool);
        }
        catch
        {
            spool.Dispose();
            throw;
        }
    }

    private void LogOutcome(MessageEnvelope envelope, RecipientOutcome o, DateTimeOffset attemptStart, DateTimeOffset deliveryStart, DateTimeOffset after) =>
        _logger.LogInformation("{Line}", Logging.DeliveryLog.Format(envelope.QueueId, o, after - envelope.ArrivalTime,
            attemptStart - envelope.ArrivalTime, deliveryStart - attemptStart));
}
