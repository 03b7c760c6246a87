// EnhancedStatus: RFC 3463 enhanced status code helpers as Postfix's access-table code uses them:
// recognition (global/dsn_util.c dsn_valid), optional leading code in text (dsn_split), and the
// sender / recipient / non-address rewrite (smtpd/smtpd_dsn_fix.c).
namespace Mta.PolicyDelegation;

/// <summary>Enhanced status code (RFC 3463) handling that reproduces Postfix's rules.</summary>
public static class EnhancedStatus
{
    /// <summary>
    /// Length of the enhanced status code at the start of <paramref name="text"/>, or 0 when there is none.
    /// Postfix's rule (dsn_valid): class 2, 4 or 5, a dot, 1-3 digits, a dot, 1-3 digits, then end of text or
    /// white space.
    /// </summary>
    public static int ValidLength(ReadOnlySpan<char> text)
    {
        if (text.Length < 2 || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[1] != '.') return 0;
        int i = 2;
        int n = Digits(text, i);
        if (n < 1 || n > 3 || i + n >= text.Length || text[i + n] != '.') return 0;
        i += n + 1;
        n = Digits(text, i);
        if (n < 1 || n > 3) return 0;
        i += n;
        if (i < text.Length && !IsSpace(text[i])) return 0;
        return i;
    }

    /// <summary>
    /// Splits an optional leading enhanced status code off <paramref name="text"/> (Postfix dsn_split): leading
    /// white space is skipped; a valid code is taken, else <paramref name="defaultStatus"/>; white space after it
    /// is skipped; the rest is the free text (possibly empty).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="defaultStatus"/> is not a valid code.</exception>
    public static (string Status, string Text) Split(string defaultStatus, string text)
    {
        int i = 0;
        while (i < text.Length && IsSpace(text[i])) i++;
        string status;
        int len = ValidLength(text.AsSpan(i));
        if (len > 0)
        {
            status = text.Substring(i, len);
            i += len;
        }
        else
        {
            int dl = ValidLength(defaultStatus);
            if (dl == 0) throw new ArgumentException($"bad default status \"{defaultStatus}\"", nameof(defaultStatus));
            status = defaultStatus[..dl];
        }
        while (i < text.Length && IsSpace(text[i])) i++;
        return (status, text[i..]);
    }

    /// <summary>
    /// Postfix smtpd_dsn_fix: an address status X.1.Y is rewritten for what is being rejected. For the sender
    /// class, X.1.1/4/6 become 4.1.7, X.1.2 4.1.8, X.1.3 4.1.7, X.1.5 4.1.0, X.1.7 4.1.7, X.1.8 4.1.8, others
    /// 4.1.0; for the recipient class, X.1.1..6 stay, X.1.7 becomes 4.1.3, X.1.8 4.1.2, others 4.1.0; for any
    /// other class every X.1.Y becomes 4.0.0. Non-address codes are never changed. The first digit of the
    /// result is a placeholder: the reply builder forces it to the SMTP code's first digit.
    /// </summary>
    public static string FixForClass(string status, RestrictionClass replyClass)
    {
        if (status.Length < 5 || !char.IsAsciiDigit(status[0]) || string.CompareOrdinal(status, 1, ".1.", 0, 3) != 0)
            return status;
        string micro = status[4..];
        return replyClass switch
        {
            RestrictionClass.Sender => micro switch
            {
                "1" or "4" or "6" or "3" or "7" => "4.1.7",
                "2" or "8" => "4.1.8",
                "5" => "4.1.0",
                _ => "4.1.0",
            },
            RestrictionClass.Recipient => micro switch
            {
                "1" => "4.1.1",
                "2" or "8" => "4.1.2",
                "3" or "7" => "4.1.3",
                "4" => "4.1.4",
                "5" => "4.1.5",
                "6" => "4.1.6",
                _ => "4.1.0",
            },
            _ => "4.0.0",
        };
    }

    internal static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    private static int Digits(ReadOnlySpan<char> s, int start)
    {
        int n = 0;
        while (start + n < s.Length && char.IsAsciiDigit(s[start + n])) n++;
        return n;
    }
}
