// MessageEnvelope and EnvelopeRecipient: the envelope of one accepted message as the pipeline, the
// delivery agents and the queue see it. RFC 5321 2.3.1 (envelope), RFC 3461 (DSN parameters).
using Mta.Smtp.Envelope;

namespace Mta.Delivery;

/// <summary>One recipient of a message with its RCPT TO parameters (NOTIFY, ORCPT).</summary>
public sealed record EnvelopeRecipient(SmtpPath Address, RecipientParameters Parameters)
{
    /// <summary>Shortcut for a recipient without parameters.</summary>
    public EnvelopeRecipient(SmtpPath address) : this(address, RecipientParameters.Empty) { }
}

/// <summary>
/// The envelope of one message: queue ID, envelope sender with MAIL parameters, recipients, and
/// the client facts used for Received:, logs and DSNs.
/// </summary>
public sealed record MessageEnvelope
{
    /// <summary>The queue ID (Postfix style: upper-case hex/base-32 token, unique per node).</summary>
    public required string QueueId { get; init; }
    /// <summary>The envelope sender; <see cref="SmtpPath.Null"/> for bounces.</summary>
    public required SmtpPath Sender { get; init; }
    /// <summary>MAIL FROM parameters (SIZE, BODY, SMTPUTF8, RET, ENVID).</summary>
    public MailParameters MailParameters { get; init; } = MailParameters.Empty;
    /// <summary>Accepted recipients in RCPT order.</summary>
    public required IReadOnlyList<EnvelopeRecipient> Recipients { get; init; }
    /// <summary>When end-of-data was received (UTC).</summary>
    public DateTimeOffset ArrivalTime { get; init; }
    /// <summary>Client host name as verified (or "unknown").</summary>
    public string ClientName { get; init; } = "unknown";
    /// <summary>Client IP address as text ("" when not a network client).</summary>
    public string ClientAddress { get; init; } = "";
    /// <summary>The HELO/EHLO argument.</summary>
    public string HeloName { get; init; } = "";
}
