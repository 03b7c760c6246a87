// PrequeuePipeline: what happens after end-of-data. Delivers every recipient to its next hop within
// prequeue_delivery_deadline, then computes the one reply from the per-recipient outcomes:
//   all sent -> 250; all bounced -> the 5xx; all deferred -> the 4xx (nothing stored, the client keeps it);
//   any mix, the deadline, or more than prequeue_max_inflight messages in flight -> the undelivered
//   recipients go to the durable queue first, bounced ones get a DSN, then 250.
// Never 250 for what is neither delivered nor durably stored. design.md "The flow of one message".
using Microsoft.Extensions.Logging;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Logging;
using Mta.Queue;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Pipeline;

/// <summary>Delivery inside the SMTP session, with the queue as fallback.</summary>
public sealed class PrequeuePipeline
{
    private readonly DeliveryOptions _delivery;
    private readonly QueueOptions _queueOptions;
    private readonly DeliveryDispatcher _dispatcher;
    private readonly IQueueStore _queue;
    private readonly Bouncer _bouncer;
    private readonly Action _wakeQueueRunner;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private int _inflight;

    public PrequeuePipeline(DeliveryOptions delivery, QueueOptions queueOptions, DeliveryDispatcher dispatcher, IQueueStore queue,
        Bouncer bouncer, Action wakeQueueRunner, TimeProvider time, ILoggerFactory logs)
    {
        _delivery = delivery;
        _queueOptions = queueOptions;
        _dispatcher = dispatcher;
        _queue = queue;
        _bouncer = bouncer;
        _wakeQueueRunner = wakeQueueRunner;
        _time = time;
        _log = logs.CreateLogger("smtpd");
    }

    /// <summary>Messages currently in pre-queue delivery.</summary>
    public int InFlight => Volatile.Read(ref _inflight);

    /// <summary>
    /// Delivers <paramref name="content"/> to the envelope's recipients and returns the end-of-data reply.
    /// <paramref name="receivedAt"/> is when the transaction started (MAIL), for delay=.
    /// </summary>
    public async Task<SmtpReply> DeliverAsync(MessageEnvelope envelope, MessageContent content, DateTimeOffset receivedAt, CancellationToken hardStop)
    {
        var start = _time.GetUtcNow();
        int inflight = Interlocked.Increment(ref _inflight);
        try
        {
            if (inflight > _delivery.PrequeueMaxInflight)
            {
                _log.LogInformation("{QueueId}: prequeue_max_inflight ({Limit}) reached; queueing without delivery attempt", envelope.QueueId, _delivery.PrequeueMaxInflight);
                var all = envelope.Recipients.Select(r => new QueuedRecipient(r, QueuedRecipientState.Pending)).ToList();
                return await QueueAsync(envelope, content, all, attempts: 0, nextAttempt: start, [], hardStop).ConfigureAwait(false);
            }

            IReadOnlyList<RecipientOutcome> outcomes;
            bool deadlinePassed;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(hardStop))
            {
                deadline.CancelAfter(_delivery.PrequeueDeliveryDeadline);
                outcomes = await _dispatcher.DeliverAsync(envelope, envelope.Recipients, content, deadline.Token).ConfigureAwait(false);
                deadlinePassed = deadline.IsCancellationRequested;
            }
            var now = _time.GetUtcNow();
            DeliveryLog.Write(_log, envelope.QueueId, outcomes, now - receivedAt, start - receivedAt, TimeSpan.Zero);

            int sent = outcomes.Count(o => o.Status == DeliveryStatus.Sent);
            int bounced = outcomes.Count(o => o.Status == DeliveryStatus.Bounced);
            int deferred = outcomes.Count - sent - bounced;

            if (sent == outcomes.Count)
                return new SmtpReply(250, "2.0.0", $"Ok: delivered as {envelope.QueueId}");
            if (bounced == outcomes.Count)
                return Summarize(outcomes, 554, "5.0.0");
            if (deferred == outcomes.Count && !deadlinePassed)
                return Summarize(outcomes, 451, "4.0.0");

            // Mixed: keep what is undelivered durably, bounce what failed permanently, then 250.
            var records = outcomes.Select(o => new QueuedRecipient(o.Recipient, o.Status switch
            {
                DeliveryStatus.Sent => QueuedRecipientState.Delivered,
                DeliveryStatus.Bounced => QueuedRecipientState.Bounced,
                _ => QueuedRecipientState.Pending,
            }) { LastReply = o.Reply, LastRelay = o.Relay }).ToList();
            var bouncedOutcomes = outcomes.Where(o => o.Status == DeliveryStatus.Bounced).ToList();
            if (deferred == 0)
            {
                // Sent + bounced only: nothing to queue but the DSN, which must itself be durable.
                return await BounceOnlyAsync(envelope, content, bouncedOutcomes, hardStop).ConfigureAwait(false);
            }
            return await QueueAsync(envelope, content, records, attempts: 1, now + _queueOptions.MinimalBackoffTime, bouncedOutcomes, hardStop).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _inflight);
        }
    }

    /// <summary>
    /// Puts the message on hold in the queue (milter QUARANTINE): stored durably, not delivered until
    /// released with <c>mta queue release</c>. Returns 250 only after the store acknowledged it.
    /// </summary>
    public async Task<SmtpReply> HoldAsync(MessageEnvelope envelope, MessageContent content, string reason, CancellationToken hardStop)
    {
        try
        {
            await _queue.EnqueueAsync(new QueuedMessage
            {
                Envelope = envelope,
                Recipients = envelope.Recipients.Select(r => new QueuedRecipient(r, QueuedRecipientState.Pending)).ToList(),
                NextAttempt = _time.GetUtcNow(),
                Held = true,
                HoldReason = reason,
            }, content, hardStop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            _log.LogError("{QueueId}: queue file write error: {Error}", envelope.QueueId, e.Message);
            return new SmtpReply(451, "4.3.0", "Error: queue file write error");
        }
        _log.LogInformation("{QueueId}: hold: {Reason}", envelope.QueueId, reason);
        return new SmtpReply(250, "2.0.0", $"Ok: queued as {envelope.QueueId}");
    }

    /// <summary>
    /// All recipients failed alike: relay the next hop's reply when there is one recipient or every reply
    /// is the same; otherwise a summary with the first reply's code class.
    /// </summary>
    private static SmtpReply Summarize(IReadOnlyList<RecipientOutcome> outcomes, int fallbackCode, string fallbackStatus)
    {
        var first = outcomes[0].Reply;
        if (outcomes.All(o => o.Reply.Equals(first))) return first;
        return new SmtpReply(first.Code is >= 400 and < 600 ? first.Code : fallbackCode, first.EnhancedStatus ?? fallbackStatus,
            $"Error: delivery failed for all {outcomes.Count} recipients; first: {first.Text}");
    }

    private async Task<SmtpReply> QueueAsync(MessageEnvelope envelope, MessageContent content, IReadOnlyList<QueuedRecipient> records,
        int attempts, DateTimeOffset nextAttempt, IReadOnlyList<RecipientOutcome> bounced, CancellationToken hardStop)
    {
        try
        {
            await _queue.EnqueueAsync(new QueuedMessage { Envelope = envelope, Recipients = records, Attempts = attempts, NextAttempt = nextAttempt },
                content, hardStop).ConfigureAwait(false);
            if (bounced.Count > 0) await _bouncer.BounceAsync(envelope, bounced, content, hardStop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            _log.LogError("{QueueId}: queue file write error: {Error}", envelope.QueueId, e.Message);
            return new SmtpReply(451, "4.3.0", "Error: queue file write error");
        }
        _log.LogInformation("{QueueId}: queued {Count} undelivered recipient(s)", envelope.QueueId, records.Count(r => r.State == QueuedRecipientState.Pending));
        if (nextAttempt <= _time.GetUtcNow()) _wakeQueueRunner();
        return new SmtpReply(250, "2.0.0", $"Ok: queued as {envelope.QueueId}");
    }

    private async Task<SmtpReply> BounceOnlyAsync(MessageEnvelope envelope, MessageContent content, IReadOnlyList<RecipientOutcome> bounced, CancellationToken hardStop)
    {
        try
        {
            await _bouncer.BounceAsync(envelope, bounced, content, hardStop).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            _log.LogError("{QueueId}: cannot store delivery status notification: {Error}", envelope.QueueId, e.Message);
            return new SmtpReply(451, "4.3.0", "Error: queue file write error");
        }
        _wakeQueueRunner();
        return new SmtpReply(250, "2.0.0", $"Ok: delivered as {envelope.QueueId}; {bounced.Count} recipient(s) failed, notification sent");
    }
}
