// RecipientOutcome: the one type that carries a per-recipient delivery result. The client reply,
// the queue write, the log line and any DSN (RFC 3464) are computed from it.
using Mta.Smtp.Protocol;

namespace Mta.Delivery;

/// <summary>Result class of one delivery attempt, Postfix's status= vocabulary.</summary>
public enum DeliveryStatus
{
    /// <summary>status=sent: the next hop accepted responsibility (2xx).</summary>
    Sent,
    /// <summary>status=deferred: temporary failure (4xx, connection trouble, timeout); retry later.</summary>
    Deferred,
    /// <summary>status=bounced: permanent failure (5xx); do not retry.</summary>
    Bounced,
}

/// <summary>
/// The outcome of delivering one message to one recipient.
/// </summary>
/// <param name="Recipient">the recipient.</param>
/// <param name="Status">sent, deferred or bounced.</param>
/// <param name="Reply">the next hop's reply to this recipient, or one we synthesized (e.g. 451 4.4.1
/// for a connection failure); its enhanced status code is the log's dsn=.</param>
/// <param name="Relay">Postfix's relay= value: <c>host[addr]:port</c>, <c>local</c> or <c>none</c>.</param>
public sealed record RecipientOutcome(EnvelopeRecipient Recipient, DeliveryStatus Status, SmtpReply Reply, string Relay)
{
    /// <summary>Seconds spent on connection set-up (DNS, TCP, TLS, greeting): the log's delays= "c".</summary>
    public TimeSpan ConnectionSetup { get; init; }
    /// <summary>Seconds spent transmitting: the log's delays= "d".</summary>
    public TimeSpan Transmission { get; init; }

    /// <summary>The enhanced status code for dsn=, derived from the reply class when it carries none.</summary>
    public string Dsn => Reply.EnhancedStatus ?? (Status switch { DeliveryStatus.Sent => "2.0.0", DeliveryStatus.Deferred => "4.0.0", _ => "5.0.0" });
}
