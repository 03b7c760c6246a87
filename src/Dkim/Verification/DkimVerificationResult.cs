// DkimVerificationResult: the outcome of checking one DKIM-Signature field, in the vocabulary of the
// Authentication-Results "dkim" method (RFC 8601 2.7.1) with the properties it reports (header.d,
// header.i, header.s, header.a, header.b: RFC 8601 2.7.1 and RFC 6008 for header.b).
namespace Mta.Dkim;

/// <summary>Result of one signature (RFC 8601 2.7.1). <c>none</c> (no signature) is not a per-signature result.</summary>
public enum DkimResult
{
    /// <summary>The signature verified.</summary>
    Pass,

    /// <summary>The signature was well-formed and a key was found, but the body hash or the signature did not verify, the signature expired, or the RSA key is shorter than 1024 bits (RFC 8301 3.2).</summary>
    Fail,

    /// <summary>The signature could not be processed: syntax error, missing required tag, unsupported version or algorithm (rsa-sha1, RFC 8301 3.1), From not signed.</summary>
    Neutral,

    /// <summary>The key could not be retrieved for a temporary reason (DNS timeout, SERVFAIL).</summary>
    TempError,

    /// <summary>The key record is missing, revoked, malformed, or not usable for this signature.</summary>
    PermError,
}

/// <summary>The result of verifying one DKIM-Signature field.</summary>
/// <param name="Result">Pass, fail, neutral, temperror or permerror.</param>
/// <param name="Domain">The <c>d=</c> value, or null when the field could not be parsed that far.</param>
/// <param name="Selector">The <c>s=</c> value, or null.</param>
/// <param name="Algorithm">The <c>a=</c> value, e.g. <c>rsa-sha256</c>, or null.</param>
/// <param name="Identity">The <c>i=</c> value, or <c>@</c>+d when absent (RFC 6376 3.5), or null.</param>
/// <param name="SignaturePrefix">The first 8 characters of <c>b=</c> (RFC 6008 header.b), or null.</param>
/// <param name="Reason">Why the result is not pass (human readable, ASCII), or null for pass.</param>
public sealed record DkimVerificationResult(
    DkimResult Result,
    string? Domain,
    string? Selector,
    string? Algorithm,
    string? Identity,
    string? SignaturePrefix,
    string? Reason)
{
    /// <summary>The RFC 8601 result keyword: <c>pass</c>, <c>fail</c>, <c>neutral</c>, <c>temperror</c>, <c>permerror</c>.</summary>
    public string Keyword => Result switch
    {
        DkimResult.Pass => "pass",
        DkimResult.Fail => "fail",
        DkimResult.Neutral => "neutral",
        DkimResult.TempError => "temperror",
        DkimResult.PermError => "permerror",
        _ => throw new ArgumentOutOfRangeException(nameof(Result)),
    };
}
