// RestrictionEffects: applies a transaction's delegated access(5) actions to the message at end of data:
// PREPEND headers above our Received: (Postfix smtpd.c "PREPEND message headers above our own Received:
// header"), visible to milters; REDIRECT replaces every recipient, BCC adds recipients (Postfix cleanup).
using System.Text;
using Mta.Delivery;
using Mta.Milter.Headers;
using Mta.Milters;
using Mta.Smtp.Envelope;

namespace Mta.Restrictions;

/// <summary>Pure helpers that turn <see cref="TransactionEffects"/> into message and envelope changes.</summary>
public static class RestrictionEffects
{
    /// <summary>The header prefix: each PREPEND line (CRLF-terminated) in order, then <paramref name="received"/>.</summary>
    public static byte[] Prefix(TransactionEffects effects, ReadOnlySpan<byte> received)
    {
        if (effects.Prepend.Count == 0) return received.ToArray();
        var sb = new StringBuilder();
        foreach (var h in effects.Prepend) sb.Append(h).Append("\r\n");
        var head = Encoding.UTF8.GetBytes(sb.ToString());
        var all = new byte[head.Length + received.Length];
        head.CopyTo(all, 0);
        received.CopyTo(all.AsSpan(head.Length));
        return all;
    }

    /// <summary>
    /// Marks the PREPEND headers (the first ones of the block) as visible to milters; the MTA's own Received:
    /// after them stays hidden. (Postfix hides the first header of the message from milters, which is the first
    /// PREPEND header when there is one; we hide our Received: instead and show every PREPEND header.)
    /// </summary>
    public static HeaderBlock ShowPrependedToMilters(HeaderBlock block, TransactionEffects effects)
    {
        for (int i = 0; i < effects.Prepend.Count && i < block.Headers.Count; i++)
            block.Headers[i] = block.Headers[i] with { HiddenFromMilters = false };
        return block;
    }

    /// <summary>REDIRECT: all recipients become the target; BCC: each address is added (duplicates skipped).</summary>
    public static MessageEnvelope ApplyRecipients(MessageEnvelope envelope, TransactionEffects effects)
    {
        if (effects.Redirect == null && effects.Bcc.Count == 0) return envelope;
        var list = effects.Redirect is { } r && Parse(r) is { } target
            ? [new EnvelopeRecipient(target)]
            : envelope.Recipients.ToList();
        foreach (var b in effects.Bcc)
            if (Parse(b) is { } p && !list.Any(x => x.Address.Address.Equals(p.Address, StringComparison.OrdinalIgnoreCase)))
                list.Add(new EnvelopeRecipient(p));
        return envelope with { Recipients = list };
    }

    private static SmtpPath? Parse(string address)
    {
        string text = address.StartsWith('<') ? address : "<" + address + ">";
        return PathParser.TryParse(text, allowUtf8: true, strict: false, out var path, out _) && !path.IsNull ? path : null;
    }
}
