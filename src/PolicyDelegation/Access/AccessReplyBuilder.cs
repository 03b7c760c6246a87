// AccessReplyBuilder: words the SMTP reply for reply-producing access(5) results exactly as Postfix smtpd.
// Follows Postfix smtpd_check.c check_table_result (format "<%s>: %s rejected: %s", default texts
// "Access denied" / "Service unavailable") and smtpd_check_reject (code range and DSN validation with
// fallback "450 4.7.1 Service unavailable", 510-byte truncation, printable(), soft_bounce, DSN class digit
// forced to the SMTP code's), smtpd_dsn_fix.c (X.1.Y rewrite), reject_server_error ("451 4.3.5").
using System.Text;

namespace Mta.PolicyDelegation;

/// <summary>Builds <see cref="AccessReply"/> values from <see cref="AccessAction"/>s.</summary>
public static class AccessReplyBuilder
{
    /// <summary>Maximum reply line length in bytes (Postfix truncates the formatted reply to 510).</summary>
    public const int MaxReplyBytes = 510;

    /// <summary>
    /// The reply for a reply-producing action, or null for other kinds.
    /// <list type="bullet">
    /// <item>REJECT: <c>554 5.7.1 &lt;name&gt;: Class rejected: text|Access denied</c>.</item>
    /// <item>DEFER: <c>450 4.7.1 &lt;name&gt;: Class rejected: text|Access denied</c>.</item>
    /// <item>DEFER_IF_PERMIT / DEFER_IF_REJECT: <c>450 4.7.1 &lt;name&gt;: Class rejected: text|Service unavailable</c>
    /// - the reply to use when the condition triggers (the host keeps the first one per transaction stage).</item>
    /// <item>NNN text: <c>NNN N.7.1 &lt;name&gt;: Class rejected: text</c> (d.d.d from the text when given).</item>
    /// <item>Lookup table in value: <c>451 4.3.5 Server configuration error</c>.</item>
    /// </list>
    /// An enhanced status code from the text is rewritten per class (<see cref="EnhancedStatus.FixForClass"/>) and
    /// its class digit always follows the SMTP code (e.g. <c>REJECT 4.1.1 x</c> at RCPT gives <c>554 5.1.1</c>).
    /// </summary>
    public static AccessReply? Build(AccessAction action, PolicyCheckContext context, AccessReplyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(context);
        options ??= AccessReplyOptions.Default;
        int code;
        string defaultText;
        switch (action.Kind)
        {
            case AccessActionKind.Reject: code = options.MapRejectCode; defaultText = "Access denied"; break;
            case AccessActionKind.Defer: code = options.MapDeferCode; defaultText = "Access denied"; break;
            case AccessActionKind.DeferIfPermit or AccessActionKind.DeferIfReject:
                code = options.MapDeferCode; defaultText = "Service unavailable"; break;
            case AccessActionKind.Reply: code = action.Code; defaultText = "Access denied"; break;
            case AccessActionKind.ServerError:
                return Finish(451, "4.3.5", "Server configuration error", options);
            default: return null;
        }
        string dsn = EnhancedStatus.FixForClass(action.EnhancedStatus ?? "5.7.1", context.Class);
        string text = $"<{context.ReplyName}>: {context.ClassName} rejected: {(action.Text.Length > 0 ? action.Text : defaultText)}";
        return Finish(code, dsn, text, options);
    }

    /// <summary>
    /// Postfix smtpd_check_reject for an already worded reply: validates the code (400-599) and status, else
    /// uses <c>450 4.7.1 Service unavailable</c>; truncates to 510 bytes; replaces non-printable characters by
    /// spaces; applies soft_bounce; sets the status class digit to the code's first digit.
    /// </summary>
    public static AccessReply Finish(int code, string enhancedStatus, string text, AccessReplyOptions? options = null)
    {
        options ??= AccessReplyOptions.Default;
        string line = $"{code} {enhancedStatus} {text}";
        if (code < 400 || code > 599 || EnhancedStatus.ValidLength(line.AsSpan(4)) == 0)
            line = "450 4.7.1 Service unavailable";
        byte[] bytes = Encoding.UTF8.GetBytes(line);
        int length = Math.Min(bytes.Length, MaxReplyBytes);
        Printable(bytes.AsSpan(0, length), options.Utf8Enabled);
        if (options.SoftBounce && bytes[0] == (byte)'5') bytes[0] = (byte)'4';
        bytes[4] = bytes[0];
        line = Encoding.UTF8.GetString(bytes, 0, length);
        int statusEnd = line.IndexOf(' ', 4);
        int finalCode = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        return new AccessReply(finalCode, line[4..statusEnd], line[(statusEnd + 1)..]);
    }

    /// <summary>
    /// Postfix printable(): bytes that are not printable ASCII become spaces; with UTF-8 enabled, well-formed
    /// multi-byte sequences are kept and each byte of a malformed one is replaced on its own.
    /// </summary>
    internal static void Printable(Span<byte> s, bool utf8)
    {
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (b < 0x80)
            {
                if (b < 0x20 || b == 0x7f) s[i] = (byte)' ';
                continue;
            }
            int n = utf8 ? Utf8SequenceLength(s[i..]) : 0;
            if (n > 0) { i += n - 1; continue; }
            s[i] = (byte)' ';
        }
    }

    private static int Utf8SequenceLength(ReadOnlySpan<byte> s)
    {
        var status = System.Text.Rune.DecodeFromUtf8(s, out _, out int consumed);
        return status == System.Buffers.OperationStatus.Done && consumed > 1 ? consumed : 0;
    }
}
