// IDeliveryAgent: one transport's delivery of one message to the recipients that share a next hop.
using Mta.Smtp.Content;

namespace Mta.Delivery;

/// <summary>A request to deliver <see cref="Content"/> to <see cref="Recipients"/> via <see cref="NextHop"/>.</summary>
public sealed record DeliveryRequest(MessageEnvelope Envelope, NextHop NextHop, IReadOnlyList<EnvelopeRecipient> Recipients, MessageContent Content);

/// <summary>
/// Delivers one message to a group of recipients sharing a next hop. Implementations never throw
/// for delivery failures: every recipient gets exactly one <see cref="RecipientOutcome"/>, in the
/// order of <see cref="DeliveryRequest.Recipients"/>. Cancellation (deadline) yields Deferred outcomes
/// for recipients not yet answered, never a partial 250 that is not real.
/// </summary>
public interface IDeliveryAgent
{
    /// <summary>Delivers and returns one outcome per recipient.</summary>
    Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken);
}
