// Bouncer: owns turning permanent failures into a queued DSN (RFC 3464 via DsnBuilder) addressed to
// the original envelope sender from the null reverse-path (RFC 5321 4.5.5, "never bounce a bounce";
// RFC 3461 4.1 NOTIFY). Postfix's bounce(8) daemon is the reference for when a notice is sent.
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;

namespace Mta.Bounce;

/// <summary>
/// Queues non-delivery notifications. Used by the queue runner for recipients that bounced or
/// expired, and by the pre-queue pipeline for recipients that failed permanently after the client
/// was answered 250. The DSN is an ordinary queued message (null sender, one recipient: the original
/// sender, NextAttempt = now) that the runner then delivers; it is durable when
/// <see cref="BounceAsync"/> returns. Thread-safe.
/// </summary>
public sealed class Bouncer
{
    private readonly IQueueStore _store;
    private readonly DsnBuilder _builder;
    private readonly QueueIdGenerator _ids;
    private readonly IdentityOptions _identity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _spoolDirectory;

    /// <param name="store">where DSNs are queued.</param>
    /// <param name="builder">builds the DSN.</param>
    /// <param name="ids">queue IDs for the DSNs.</param>
    /// <param name="identity">myhostname (HELO name recorded in the DSN's envelope).</param>
    /// <param name="time">clock; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="logger">Postfix-style lines <c>QUEUEID: sender non-delivery notification: DSNID</c>; null for none.</param>
    /// <param name="spoolDirectory">temporary directory for large DSNs while they are queued; null for the system temp directory.</param>
    public Bouncer(IQueueStore store, DsnBuilder builder, QueueIdGenerator ids, IdentityOptions identity,
        TimeProvider? time = null, ILogger<Bouncer>? logger = null, string? spoolDirectory = null)
    {
        _store = store;
        _builder = builder;
        _ids = ids;
        _identity = identity;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _spoolDirectory = spoolDirectory ?? Path.GetTempPath();
    }

    /// <summary>Raised with the DSN's queue ID after it was queued (wire it to <see cref="QueueRunner.Wake"/>).</summary>
    public event Action<string>? DsnQueued;

    /// <summary>
    /// Queues one failure DSN covering <paramref name="bouncedOutcomes"/> (Action: failed). Sends
    /// nothing and returns null when the original sender is the null path (a bounce is never bounced)
    /// or when no recipient wants a failure notice (NOTIFY=NEVER, or NOTIFY without FAILURE).
    /// </summary>
    /// <param name="envelope">the original message's envelope.</param>
    /// <param name="bouncedOutcomes">the recipients that failed, with their replies; Status comes from <see cref="RecipientOutcome.Dsn"/>.</param>
    /// <param name="content">the original content (returned per RET); read, not disposed.</param>
    /// <param name="cancellationToken">cancels the queue write.</param>
    /// <param name="expiredAfter">set when the failures are queue-lifetime expiry (for the explanation).</param>
    /// <returns>the DSN's queue ID, or null when none was sent.</returns>
    /// <exception cref="IOException">the DSN could not be queued; the caller must keep the recipients (retry later).</exception>
    public Task<string?> BounceAsync(MessageEnvelope envelope, IReadOnlyList<RecipientOutcome> bouncedOutcomes, MessageContent content,
        CancellationToken cancellationToken, TimeSpan? expiredAfter = null) =>
        NotifyAsync(envelope, [.. bouncedOutcomes.Select(o => DsnRecipient.From(o, DsnAction.Failed) with { LastAttempt = _time.GetUtcNow() })],
            content, cancellationToken, expiredAfter);

    /// <summary>
    /// Queues one DSN for the given recipient entries (any mix of failed, delayed, delivered) after
    /// dropping entries whose NOTIFY does not ask for their kind (<see cref="DsnBuilder.Wants"/>).
    /// Returns null and sends nothing for a null-sender original or when no entry is left.
    /// </summary>
    /// <exception cref="IOException">the DSN could not be queued.</exception>
    public async Task<string?> NotifyAsync(MessageEnvelope envelope, IReadOnlyList<DsnRecipient> recipients, MessageContent content,
        CancellationToken cancellationToken, TimeSpan? expiredAfter = null)
    {
        if (envelope.Sender.IsNull)
        {
            _logger.LogInformation("{QueueId}: no notification: the sender is the null path (never bounce a bounce)", envelope.QueueId);
            return null;
        }
        var wanted = recipients.Where(r => DsnBuilder.Wants(r.Recipient, r.Action)).ToList();
        if (wanted.Count == 0)
        {
            _logger.LogInformation("{QueueId}: no notification: NOTIFY of the recipients does not ask for one", envelope.QueueId);
            return null;
        }

        var dsn = _builder.Build(envelope, wanted, content, expiredAfter);
        byte[] bytes = DsnBuilder.ToBytes(dsn);
        string id = _ids.Next();
        var now = _time.GetUtcNow();
        var rcpt = new EnvelopeRecipient(envelope.Sender);
        bool eightBit = bytes.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0;
        var queued = new QueuedMessage
        {
            Envelope = new MessageEnvelope
            {
                QueueId = id,
                Sender = SmtpPath.Null,
                MailParameters = new MailParameters
                {
                    Size = bytes.Length,
                    Body = eightBit ? BodyType.EightBitMime : BodyType.Unspecified,
                    SmtpUtf8 = envelope.Sender.RequiresSmtpUtf8,
                },
                Recipients = [rcpt],
                ArrivalTime = now,
                ClientName = "localhost",
                ClientAddress = "",
                HeloName = _identity.MyHostname,
            },
            Recipients = [new QueuedRecipient(rcpt, QueuedRecipientState.Pending)],
            NextAttempt = now,
        };
        using var spool = new MessageSpool(1 << 20, _spoolDirectory);
        spool.Write(bytes);
        await _store.EnqueueAsync(queued, new MessageContent(ReadOnlyMemory<byte>.Empty, spool), cancellationToken).ConfigureAwait(false);
        string kind = wanted.Any(w => w.Action == DsnAction.Failed) ? "non-delivery" : wanted.Any(w => w.Action == DsnAction.Delayed) ? "delay" : "delivery";
        _logger.LogInformation("{QueueId}: sender {Kind} notification: {DsnQueueId}", envelope.QueueId, kind, id);
        DsnQueued?.Invoke(id);
        return id;
    }
}
