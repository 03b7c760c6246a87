// IDkimKeyLocator: how the verifier obtains a key record for (domain, selector): a TXT query for
// SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.2). The outcome separates "no record" (a permanent
// failure for the signature, RFC 6376 6.1.2) from "DNS did not answer" (a temporary one).
namespace Mta.Dkim;

/// <summary>Finds DKIM key records. Implementations must be safe for concurrent calls.</summary>
public interface IDkimKeyLocator
{
    /// <summary>Looks up the key record of <paramref name="selector"/> in <paramref name="domain"/>.</summary>
    /// <param name="domain">The signature's <c>d=</c> value.</param>
    /// <param name="selector">The signature's <c>s=</c> value.</param>
    /// <param name="cancellationToken">Cancels the lookup.</param>
    /// <returns>The record text, or why there is none. Does not throw for DNS failures.</returns>
    ValueTask<DkimKeyLookup> LookupAsync(string domain, string selector, CancellationToken cancellationToken = default);
}

/// <summary>How a key lookup ended.</summary>
public enum DkimKeyLookupStatus
{
    /// <summary>A TXT record was found; <see cref="DkimKeyLookup.RecordText"/> holds it.</summary>
    Found,

    /// <summary>The name does not exist or has no TXT record (RFC 6376 6.1.2: PERMFAIL, no key for signature).</summary>
    NotFound,

    /// <summary>DNS failed (timeout, SERVFAIL, refused); a later attempt may succeed (TEMPFAIL).</summary>
    TempError,
}

/// <summary>The outcome of one key lookup.</summary>
/// <param name="Status">Found, not found, or temporary error.</param>
/// <param name="RecordText">The TXT record's strings concatenated when Found; else null.</param>
/// <param name="Error">What went wrong when not Found (for the A-R reason and logs); else null.</param>
public sealed record DkimKeyLookup(DkimKeyLookupStatus Status, string? RecordText, string? Error)
{
    /// <summary>A found record.</summary>
    public static DkimKeyLookup Found(string text) => new(DkimKeyLookupStatus.Found, text, null);

    /// <summary>No record.</summary>
    public static DkimKeyLookup NotFound(string error) => new(DkimKeyLookupStatus.NotFound, null, error);

    /// <summary>A temporary DNS failure.</summary>
    public static DkimKeyLookup TempError(string error) => new(DkimKeyLookupStatus.TempError, null, error);
}
