// MilterModification: the edit requests a milter may send between SMFIC_BODYEOB and its final reply,
// kept in arrival order. Payload shapes per reference 1.3/1.8 and Postfix milter8.c (the BODYEOB branch).
namespace Mta.Milter;

/// <summary>One edit request from the end-of-message stage. Strings are decoded as UTF-8.</summary>
public abstract record MilterModification
{
    private MilterModification() { }

    /// <summary><c>h</c>: append a header at the end of the header block. Value as sent (LF folds, no leading space added).</summary>
    public sealed record AddHeader(string Name, string Value) : MilterModification;

    /// <summary><c>i</c>: insert a header. <paramref name="Index"/> is the raw wire value: 0-based position in the
    /// whole header list as delivered, counting the MTA's own Received: (see <see cref="Headers.HeaderEditor"/>).</summary>
    public sealed record InsertHeader(uint Index, string Name, string Value) : MilterModification;

    /// <summary><c>m</c>: change occurrence <paramref name="Index"/> (1-based per name; 0 means 1) of header
    /// <paramref name="Name"/>; an empty <paramref name="Value"/> deletes it.</summary>
    public sealed record ChangeHeader(uint Index, string Name, string Value) : MilterModification
    {
        /// <summary>True when this request deletes the header.</summary>
        public bool IsDelete => Value.Length == 0;
    }

    /// <summary><c>+</c>: add a recipient.</summary>
    public sealed record AddRecipient(string Address) : MilterModification;

    /// <summary><c>2</c>: add a recipient with ESMTP arguments (one string, possibly empty).</summary>
    public sealed record AddRecipientWithArgs(string Address, string Arguments) : MilterModification;

    /// <summary><c>-</c>: delete a recipient (brackets optional).</summary>
    public sealed record DeleteRecipient(string Address) : MilterModification;

    /// <summary><c>e</c>: replace the envelope sender; <paramref name="Arguments"/> is the optional ESMTP
    /// argument string, empty when the milter sent only the address (rspamd).</summary>
    public sealed record ChangeSender(string Address, string Arguments) : MilterModification;

    /// <summary><c>b</c>: replace the body. Consecutive <c>b</c> packets are concatenated into one entry;
    /// line ends may be CRLF or bare LF (Postfix accepts both).</summary>
    public sealed record ReplaceBody(ReadOnlyMemory<byte> Body) : MilterModification;
}

/// <summary>The outcome of <see cref="MilterClient.EndOfMessageAsync"/>: edits in order, then the final decision.</summary>
/// <param name="Modifications">Edit requests in the order received (empty when none, or when the message
/// was already decided earlier).</param>
/// <param name="Response">The final decision; carries the quarantine reason if the milter quarantined.</param>
public sealed record MilterEndOfMessageResult(IReadOnlyList<MilterModification> Modifications, MilterResponse Response);
