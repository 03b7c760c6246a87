// AccessAction: one parsed access(5) result (the value of a policy reply's "action" attribute).
// Follows Postfix access(5) and smtpd_check.c check_table_result (keywords, argument rules, defaults).
// Parsing is in AccessActionParser.cs, SMTP reply wording in AccessReplyBuilder.cs.
namespace Mta.PolicyDelegation;

/// <summary>What an access(5) result tells the MTA to do.</summary>
public enum AccessActionKind
{
    /// <summary><c>OK</c>, <c>RELAY</c>, an all-numeric value, or an empty value: permit (ends the restriction list).</summary>
    Ok,
    /// <summary><c>DUNNO</c> (or an action Postfix ignores with a warning, see <see cref="AccessAction.Warning"/>): no decision, continue.</summary>
    Dunno,
    /// <summary><c>REJECT [[d.d.d] text]</c>: access_map_reject_code (554), default 5.7.1, "Access denied".</summary>
    Reject,
    /// <summary><c>DEFER [[d.d.d] text]</c>: access_map_defer_code (450), default 4.7.1, "Access denied".</summary>
    Defer,
    /// <summary><c>DEFER_IF_REJECT [text]</c>: 450 4.7.1 "Service unavailable" if a later restriction rejects; continue.</summary>
    DeferIfReject,
    /// <summary><c>DEFER_IF_PERMIT [text]</c>: 450 4.7.1 "Service unavailable" if the request is later permitted (greylisting).</summary>
    DeferIfPermit,
    /// <summary><c>4NN text</c> / <c>5NN text</c>: that exact code with optional d.d.d; 421/521 also disconnect.</summary>
    Reply,
    /// <summary><c>HOLD [text]</c>: put the message on hold; continue.</summary>
    Hold,
    /// <summary><c>DISCARD [text]</c>: accept and silently drop the whole message; acts as permit.</summary>
    Discard,
    /// <summary><c>FILTER transport:destination</c>: route the message through a content filter; continue.</summary>
    Filter,
    /// <summary><c>REDIRECT user@domain</c>: replace all recipients; continue.</summary>
    Redirect,
    /// <summary><c>BCC user@domain</c> (Postfix 3.0): add a blind recipient; continue.</summary>
    Bcc,
    /// <summary><c>PREPEND name: value</c>: prepend a header to the message; continue.</summary>
    Prepend,
    /// <summary><c>WARN [text]</c>: log a warning; continue.</summary>
    Warn,
    /// <summary><c>INFO [text]</c> (Postfix 3.0): log an informational record; continue.</summary>
    Info,
    /// <summary><c>HANGUP [text]</c>: Postfix's unsupported test action: drop the connection without a reply.</summary>
    Hangup,
    /// <summary>
    /// Anything else: a list of restriction names (e.g. <c>permit</c>, <c>reject_unauth_destination</c>) that the
    /// host evaluates in place (<see cref="AccessAction.Restrictions"/>); an unknown name is a server error there.
    /// </summary>
    Restrictions,
    /// <summary>A value with a lookup table (contains ':'): Postfix replies <c>451 4.3.5 Server configuration error</c>.</summary>
    ServerError,
}

/// <summary>
/// A parsed access(5) result. Keywords are matched case-insensitively on the first word only; the rest after
/// white space is <see cref="Text"/>. Build with <see cref="AccessActionParser.Parse"/>.
/// </summary>
public sealed record AccessAction
{
    /// <summary>The decision.</summary>
    public required AccessActionKind Kind { get; init; }

    /// <summary>The value exactly as received.</summary>
    public required string Value { get; init; }

    /// <summary>
    /// The argument after the keyword with leading white space removed: the reply text (for REJECT / DEFER /
    /// DEFER_IF_* / 4NN / 5NN after the enhanced status code is split off), the header for PREPEND, the
    /// transport:destination for FILTER, the address for REDIRECT / BCC, the log text for WARN / INFO / HOLD /
    /// DISCARD. Empty when absent.
    /// </summary>
    public string Text { get; init; } = "";

    /// <summary>For reply kinds: the SMTP code before configuration is applied (Reply: the given code; Reject/Defer: 0 = use the map code).</summary>
    public int Code { get; init; }

    /// <summary>For reply kinds: the enhanced status code given in the text, or the kind's default (5.7.1, 4.7.1, or N.7.1 for NNN).</summary>
    public string? EnhancedStatus { get; init; }

    /// <summary>For <see cref="AccessActionKind.Restrictions"/>: the restriction names in order (brace groups kept as one item).</summary>
    public IReadOnlyList<string> Restrictions { get; init; } = [];

    /// <summary>
    /// Set when Postfix would log a warning for this value: a malformed argument (the action is then
    /// <see cref="AccessActionKind.Dunno"/>), an empty value (then <see cref="AccessActionKind.Ok"/>), or a lookup table.
    /// </summary>
    public string? Warning { get; init; }

    /// <summary>True for the kinds that produce an SMTP reply (see <see cref="AccessReplyBuilder"/>).</summary>
    public bool ProducesReply => Kind is AccessActionKind.Reject or AccessActionKind.Defer or AccessActionKind.DeferIfReject
        or AccessActionKind.DeferIfPermit or AccessActionKind.Reply or AccessActionKind.ServerError;

    /// <summary>True for the kinds that end the restriction list with a permit (OK, RELAY, all-numeric, DISCARD).</summary>
    public bool Permits => Kind is AccessActionKind.Ok or AccessActionKind.Discard;

    /// <summary>
    /// When the host context makes Postfix ignore this action (treat it as DUNNO with a warning), the reason; else null.
    /// FILTER, HOLD, DISCARD, REDIRECT and BCC need the cleanup server (unavailable with smtpd_proxy_filter),
    /// are unavailable in ETRN, and are skipped outside a mail transaction; PREPEND is skipped outside a mail
    /// transaction and at END-OF-MESSAGE. (smtpd_check.c can_delegate_action, not_in_client_helo.)
    /// </summary>
    /// <param name="context">Where the action is applied.</param>
    /// <param name="proxyFilterInUse">True when smtpd_proxy_filter is configured for the session.</param>
    public string? IgnoredBecause(PolicyCheckContext context, bool proxyFilterInUse = false)
    {
        ArgumentNullException.ThrowIfNull(context);
        string keyword = Kind.ToString().ToUpperInvariant();
        switch (Kind)
        {
            case AccessActionKind.Filter or AccessActionKind.Hold or AccessActionKind.Discard
                or AccessActionKind.Redirect or AccessActionKind.Bcc:
                if (proxyFilterInUse) return $"with smtpd_proxy_filter specified, action {keyword} is unavailable";
                if (context.Where == PolicyProtocolState.Etrn) return $"action {keyword} is unavailable in smtpd_etrn_restrictions";
                if (!context.InMailTransaction)
                    return $"with smtpd_delay_reject=no, action {keyword} is always skipped in Client host or Helo command restrictions";
                return null;
            case AccessActionKind.Prepend:
                if (!context.InMailTransaction)
                    return "with smtpd_delay_reject=no, action PREPEND is always skipped in Client host or Helo command restrictions";
                if (context.Where == PolicyProtocolState.EndOfMessage)
                    return "action PREPEND must be used before smtpd_end_of_data_restrictions";
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Postfix's log text for the side-effect actions, e.g. <c>&lt;rcpt&gt;: Recipient address triggers FILTER smtp:[127.0.0.1]:10025</c>
    /// or <c>&lt;rcpt&gt;: Recipient address triggers HOLD action</c>; null for other kinds.
    /// </summary>
    public string? DescribeForLog(PolicyCheckContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        string head = $"<{context.ReplyName}>: {context.ClassName}";
        return Kind switch
        {
            AccessActionKind.Filter => $"{head} triggers FILTER {Text}",
            AccessActionKind.Redirect => $"{head} triggers REDIRECT {Text}",
            AccessActionKind.Bcc => $"{head} triggers BCC {Text}",
            AccessActionKind.Hold => $"{head} {(Text.Length > 0 ? Text : "triggers HOLD action")}",
            AccessActionKind.Discard => $"{head} {(Text.Length > 0 ? Text : "triggers DISCARD action")}",
            AccessActionKind.Warn or AccessActionKind.Info or AccessActionKind.Hangup => Text,
            _ => null,
        };
    }
}
