// IQueueStore: the durable queue contract shared by every backend (local directory now, S3 later).
// Content and envelope are kept apart (OpenSMTPD's split): content is written once and never changed;
// the envelope record with per-recipient state is small and rewritten atomically.
using Mta.Delivery;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Queue;

/// <summary>Per-recipient state in the queue.</summary>
public enum QueuedRecipientState
{
    /// <summary>Still to be delivered.</summary>
    Pending,
    /// <summary>Delivered (status=sent); kept until the message is complete.</summary>
    Delivered,
    /// <summary>Permanently failed; a DSN was or will be sent.</summary>
    Bounced,
}

/// <summary>One recipient's queue record.</summary>
public sealed record QueuedRecipient(EnvelopeRecipient Recipient, QueuedRecipientState State)
{
    /// <summary>The last reply seen for this recipient (for mailq and DSNs), or null.</summary>
    public SmtpReply? LastReply { get; init; }
    /// <summary>Relay of the last attempt, or null.</summary>
    public string? LastRelay { get; init; }
}

/// <summary>The envelope record of a queued message.</summary>
public sealed record QueuedMessage
{
    /// <summary>The envelope (recipients listed there are all recipients of the original message).</summary>
    public required MessageEnvelope Envelope { get; init; }
    /// <summary>Recipient records; only <see cref="QueuedRecipientState.Pending"/> ones are retried.</summary>
    public required IReadOnlyList<QueuedRecipient> Recipients { get; init; }
    /// <summary>Delivery attempts made so far.</summary>
    public int Attempts { get; init; }
    /// <summary>Earliest time of the next attempt (UTC).</summary>
    public DateTimeOffset NextAttempt { get; init; }
    /// <summary>True when on hold (milter QUARANTINE, policy HOLD, <c>mta queue hold</c>): not delivered until released.</summary>
    public bool Held { get; init; }
    /// <summary>Why it is held, if known.</summary>
    public string? HoldReason { get; init; }
    /// <summary>Queue ID shortcut.</summary>
    public string QueueId => Envelope.QueueId;
}

/// <summary>
/// A durable queue. Every method that changes state returns only after the change is durable
/// (file and directory fsync'd, or acknowledged by the object store); only then may the caller
/// answer 250. Errors are <see cref="IOException"/> (the caller answers 451 4.3.0).
/// </summary>
public interface IQueueStore
{
    /// <summary>Stores content and envelope record for a new message; durable on return.</summary>
    Task EnqueueAsync(QueuedMessage message, MessageContent content, CancellationToken cancellationToken);
    /// <summary>Replaces the envelope record (after an attempt, hold/release); durable on return.</summary>
    Task UpdateAsync(QueuedMessage message, CancellationToken cancellationToken);
    /// <summary>Removes a message (all recipients done, or deleted by the admin).</summary>
    Task DeleteAsync(string queueId, CancellationToken cancellationToken);
    /// <summary>Loads one envelope record, or null when absent.</summary>
    Task<QueuedMessage?> LoadAsync(string queueId, CancellationToken cancellationToken);
    /// <summary>Opens the stored content (exactly the bytes delivered: prefix + body).</summary>
    Task<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken);
    /// <summary>Lists all envelope records (for the runner and <c>mta queue list</c>).</summary>
    IAsyncEnumerable<QueuedMessage> ListAsync(CancellationToken cancellationToken);
}
