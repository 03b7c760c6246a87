// DkimSignResult: what signing one message produced, as a value the host logs and acts on; the bytes to
// prepend are ready-made DKIM-Signature header fields (RFC 6376 3.5) with CRLF line ends.
namespace Mta.Dkim;

/// <summary>What <see cref="DkimSigner.Sign(ReadOnlyMemory{byte}, string?)"/> did.</summary>
public enum DkimSignOutcome
{
    /// <summary>Signed; <see cref="DkimSignResult.HeaderBytes"/> holds one DKIM-Signature field per configured key of the domain.</summary>
    Signed,

    /// <summary>Neither the From: domain nor the envelope sender's domain is one of ours; nothing to prepend.</summary>
    NotOurDomain,

    /// <summary>Signing was attempted but failed (the message could not be parsed, or the self-check failed); nothing to prepend.</summary>
    Failed,
}

/// <summary>One signature that was produced.</summary>
/// <param name="Selector">The <c>s=</c> value.</param>
/// <param name="Algorithm">RSA or Ed25519 (<c>a=rsa-sha256</c> / <c>a=ed25519-sha256</c>).</param>
/// <param name="HeaderField">The complete field, <c>DKIM-Signature: v=1; ...</c>, folded, ending in CRLF.</param>
public sealed record DkimProducedSignature(string Selector, DkimKeyAlgorithm Algorithm, string HeaderField);

/// <summary>The result of signing one message.</summary>
public sealed record DkimSignResult
{
    /// <summary>Signed, not ours, or failed.</summary>
    public required DkimSignOutcome Outcome { get; init; }

    /// <summary>The signing domain (<c>d=</c>) when <see cref="Outcome"/> is Signed or Failed; otherwise null.</summary>
    public string? Domain { get; init; }

    /// <summary>The signatures in the order they appear in <see cref="HeaderBytes"/>; empty unless Signed.</summary>
    public IReadOnlyList<DkimProducedSignature> Signatures { get; init; } = [];

    /// <summary>
    /// Bytes to prepend to the message unchanged (ASCII, CRLF line ends, every line at most 78 octets plus CRLF where
    /// the data allows); empty unless Signed.
    /// </summary>
    public ReadOnlyMemory<byte> HeaderBytes { get; init; }

    /// <summary>Why nothing was signed (for logs); null when Signed.</summary>
    public string? Reason { get; init; }
}
