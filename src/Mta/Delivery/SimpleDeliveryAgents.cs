// DiscardDeliveryAgent and ErrorDeliveryAgent: Postfix discard(8) (accept and drop; relay=none) and
// error(8) (every recipient bounces with the next hop's text; a leading RFC 3463 status code is used,
// else 5.0.0).
using Mta.Smtp.Protocol;

namespace Mta.Delivery;

/// <summary><see cref="TransportKind.Discard"/>: every recipient Sent with <c>250 2.0.0 discarded</c>, relay=none.</summary>
public sealed class DiscardDeliveryAgent : IDeliveryAgent
{
    /// <inheritdoc/>
    public Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = request.NextHop.Host.Length > 0 ? "discarded: " + request.NextHop.Host : "discarded";
        var reply = new SmtpReply(250, "2.0.0", text);
        return Task.FromResult<IReadOnlyList<RecipientOutcome>>(
            request.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Sent, reply, "none")).ToArray());
    }
}

/// <summary>
/// <see cref="TransportKind.Error"/>: every recipient Bounced with <c>550</c> and the next hop's text; a
/// leading <c>5.x.y</c> becomes the enhanced status code (default <c>5.0.0</c>), relay=none.
/// </summary>
public sealed class ErrorDeliveryAgent : IDeliveryAgent
{
    /// <inheritdoc/>
    public Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reply = ReplyFor(request.NextHop.Host);
        return Task.FromResult<IReadOnlyList<RecipientOutcome>>(
            request.Recipients.Select(r => new RecipientOutcome(r, DeliveryStatus.Bounced, reply, "none")).ToArray());
    }

    /// <summary>The bounce reply for an error transport text such as <c>5.1.1 user unknown</c>.</summary>
    public static SmtpReply ReplyFor(string text)
    {
        text = (text ?? "").Replace('\r', ' ').Replace('\n', ' ').Trim();
        string status = "5.0.0";
        var parts = text.Split(' ', 2);
        if (parts[0].Length >= 5 && parts[0][0] == '5' && parts[0].Count(c => c == '.') == 2
            && parts[0].Split('.').All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit)))
        {
            status = parts[0];
            text = parts.Length > 1 ? parts[1].Trim() : "";
        }
        return new SmtpReply(550, status, text.Length > 0 ? text : "delivery refused by the error transport");
    }
}
