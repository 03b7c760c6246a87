// AccessReply: the SMTP reply an access(5) result produces, as a value; plus the options that shape it.
// Follows Postfix smtpd_check.c smtpd_check_reject and postconf(5) access_map_reject_code,
// access_map_defer_code, soft_bounce, smtputf8_enable.
namespace Mta.PolicyDelegation;

/// <summary>An SMTP reply computed from an access(5) result: single line, at most 510 bytes of UTF-8.</summary>
/// <param name="Code">Three-digit SMTP code, 400-599.</param>
/// <param name="EnhancedStatus">RFC 3463 code whose class digit equals the first digit of <paramref name="Code"/>.</param>
/// <param name="Text">The text after the enhanced status code, e.g. <c>&lt;a@b&gt;: Recipient address rejected: Access denied</c>.</param>
public sealed record AccessReply(int Code, string EnhancedStatus, string Text)
{
    /// <summary>The whole reply line without CRLF: <c>code status text</c>.</summary>
    public string Line => $"{Code} {EnhancedStatus} {Text}";

    /// <summary>True for 4xx.</summary>
    public bool IsTemporary => Code is >= 400 and < 500;

    /// <summary>True for 421 and 521: Postfix disconnects after sending this reply.</summary>
    public bool Disconnect => Code is 421 or 521;

    /// <inheritdoc/>
    public override string ToString() => Line;
}

/// <summary>Configuration that shapes replies (Postfix parameter names in the docs).</summary>
public sealed record AccessReplyOptions
{
    /// <summary>Default options (Postfix defaults).</summary>
    public static AccessReplyOptions Default { get; } = new();

    /// <summary><c>access_map_reject_code</c>: SMTP code for REJECT. Default 554.</summary>
    public int MapRejectCode { get; init; } = 554;

    /// <summary><c>access_map_defer_code</c>: SMTP code for DEFER, DEFER_IF_REJECT and DEFER_IF_PERMIT. Default 450.</summary>
    public int MapDeferCode { get; init; } = 450;

    /// <summary><c>soft_bounce</c>: turn every 5xx into 4xx. Default false.</summary>
    public bool SoftBounce { get; init; }

    /// <summary>
    /// <c>smtputf8_enable</c>: when true (Postfix default), valid UTF-8 in reply text is kept; otherwise every
    /// non-ASCII byte becomes a space. Control characters always become spaces.
    /// </summary>
    public bool Utf8Enabled { get; init; } = true;
}
