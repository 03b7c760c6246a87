// AccessActionParser: turns an access(5) result string into an AccessAction.
// Follows Postfix access(5) and smtpd_check.c check_table_result: the same keyword order, first-word
// case-insensitive matching, argument checks (FILTER needs ':', REDIRECT/BCC need '@', PREPEND needs a
// header per global/is_header.c), all-numeric before NNN, lookup tables refused, the rest split into
// restriction names like argv_splitq(", \t\r\n", "{}").
namespace Mta.PolicyDelegation;

/// <summary>Parses access(5) results. Never throws for any input string; malformed values yield a <see cref="AccessAction.Warning"/>.</summary>
public static class AccessActionParser
{
    /// <summary>Parses <paramref name="value"/> (e.g. the policy reply's action) as Postfix's check_table_result does.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="value"/> is null.</exception>
    public static AccessAction Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int cmdLen = value.AsSpan().IndexOfAny(' ', '\t');
        if (cmdLen < 0) cmdLen = value.Length;
        string keyword = value[..cmdLen];
        int t = cmdLen;
        while (t < value.Length && EnhancedStatus.IsSpace(value[t])) t++;
        string text = value[t..];

        bool Is(string k) => keyword.Equals(k, StringComparison.OrdinalIgnoreCase);
        AccessAction Make(AccessActionKind kind, string? warning = null) =>
            new() { Kind = kind, Value = value, Text = text, Warning = warning };
        AccessAction Dunno(string warning) => Make(AccessActionKind.Dunno, warning);
        AccessAction ReplyKind(AccessActionKind kind, string defaultDsn, int code = 0)
        {
            var (status, rest) = EnhancedStatus.Split(defaultDsn, text);
            return new() { Kind = kind, Value = value, Text = rest, EnhancedStatus = status, Code = code };
        }

        if (cmdLen > 0)
        {
            if (Is("DUNNO")) return Make(AccessActionKind.Dunno);
            if (Is("REJECT")) return ReplyKind(AccessActionKind.Reject, "5.7.1");
            if (Is("DEFER")) return ReplyKind(AccessActionKind.Defer, "4.7.1");
            if (Is("HANGUP")) return Make(AccessActionKind.Hangup);
            if (Is("INFO")) return Make(AccessActionKind.Info);
            if (Is("WARN")) return Make(AccessActionKind.Warn);
            if (Is("FILTER"))
            {
                if (text.Length == 0) return Dunno("FILTER entry without value");
                if (!text.Contains(':')) return Dunno("FILTER requires transport:destination");
                return Make(AccessActionKind.Filter);
            }
            if (Is("HOLD")) return Make(AccessActionKind.Hold);
            if (Is("DISCARD")) return Make(AccessActionKind.Discard);
            if (Is("REDIRECT"))
                return text.Contains('@') ? Make(AccessActionKind.Redirect) : Dunno("REDIRECT requires user@domain target");
            if (Is("BCC"))
                return text.Contains('@') ? Make(AccessActionKind.Bcc) : Dunno("BCC requires user@domain target");
            if (Is("DEFER_IF_PERMIT")) return ReplyKind(AccessActionKind.DeferIfPermit, "4.7.1");
            if (Is("DEFER_IF_REJECT")) return ReplyKind(AccessActionKind.DeferIfReject, "4.7.1");
            if (Is("PREPEND"))
                return text.Length > 0 && IsHeader(text) ? Make(AccessActionKind.Prepend) : Dunno("PREPEND requires header: text");
        }

        if (AllDigits(value)) return Make(AccessActionKind.Ok);

        if (cmdLen == 3 && text.Length > 0 && (value[0] == '4' || value[0] == '5')
            && char.IsAsciiDigit(value[1]) && char.IsAsciiDigit(value[2]))
        {
            int code = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
            return ReplyKind(AccessActionKind.Reply, value[0] + ".7.1", code);
        }

        if (cmdLen > 0 && (Is("OK") || Is("RELAY"))) return Make(AccessActionKind.Ok);

        if (value.Contains(':'))
            return Make(AccessActionKind.ServerError, "access table has entry with lookup table: " + value);

        var restrictions = SplitList(value);
        if (restrictions.Count == 0) return Make(AccessActionKind.Ok, "access table entry has empty value");
        return new() { Kind = AccessActionKind.Restrictions, Value = value, Text = text, Restrictions = restrictions };
    }

    /// <summary>
    /// Postfix is_header: one or more ASCII non-control characters other than space, tab and ':', optional
    /// spaces or tabs, then ':'.
    /// </summary>
    public static bool IsHeader(string text)
    {
        int nameLength = 0;
        bool afterSpace = false;
        foreach (char c in text)
        {
            if (c == ':') return nameLength > 0;
            if (c is ' ' or '\t')
            {
                if (nameLength == 0) return false;
                afterSpace = true;
                continue;
            }
            if (c == '\0' || c > 0x7e || char.IsControl(c) || afterSpace) return false;
            nameLength++;
        }
        return false;
    }

    /// <summary>
    /// Splits a list on ", \t\r\n" keeping "{...}" groups (with nesting) as one item, like Postfix argv_splitq /
    /// mystrtokq. An unbalanced group runs to the end of the text.
    /// </summary>
    public static List<string> SplitList(string text)
    {
        var items = new List<string>();
        int i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && IsListSeparator(text[i])) i++;
            if (i >= text.Length) break;
            int start = i, depth = 0;
            while (i < text.Length && (depth > 0 || !IsListSeparator(text[i])))
            {
                if (text[i] == '{') depth++;
                else if (text[i] == '}' && depth > 0) depth--;
                i++;
            }
            items.Add(text[start..i]);
        }
        return items;
    }

    internal static bool IsListSeparator(char c) => c is ',' or ' ' or '\t' or '\r' or '\n';

    private static bool AllDigits(string s)
    {
        if (s.Length == 0) return false;
        foreach (char c in s)
            if (!char.IsAsciiDigit(c)) return false;
        return true;
    }
}
