// PathParser: validates the path of MAIL FROM / RCPT TO and splits it into an SmtpPath.
// RFC 5321 4.1.2 (Path, Mailbox, Dot-string, Quoted-string, Domain), 4.1.3 (address literals),
// 4.5.1 (<postmaster>), 4.5.3.1 (size limits), C (source routes); RFC 6531 3.3 (UTF-8 mailboxes).
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Unicode;

namespace Mta.Smtp.Envelope;

/// <summary>
/// Parser for an SMTP path: <c>&lt;&gt;</c>, <c>&lt;local@domain&gt;</c>, <c>&lt;@route,@route:local@domain&gt;</c>,
/// <c>&lt;postmaster&gt;</c>, or (unless strict) the same without angle brackets.
/// </summary>
public static class PathParser
{
    /// <summary>RFC 5321 4.5.3.1.1: maximum local-part length in octets.</summary>
    public const int MaxLocalPartOctets = 64;
    /// <summary>RFC 5321 4.5.3.1.2: maximum domain length in octets.</summary>
    public const int MaxDomainOctets = 255;
    /// <summary>RFC 5321 4.5.3.1.3: maximum path length in octets, angle brackets and source route included.</summary>
    public const int MaxPathOctets = 256;

    /// <summary>
    /// Parses <paramref name="text"/>, the text after <c>FROM:</c> / <c>TO:</c> up to the first ESMTP
    /// parameter (surrounding spaces and tabs are ignored).
    /// </summary>
    /// <param name="text">For example <c>&lt;user@example.com&gt;</c>, <c>&lt;&gt;</c>, <c>&lt;"a b"@[192.0.2.1]&gt;</c>.</param>
    /// <param name="allowUtf8">Allow non-ASCII characters in the local part and in domain labels (RFC 6531).</param>
    /// <param name="strict">Require angle brackets (Postfix <c>strict_rfc821_envelopes</c>).</param>
    /// <param name="path">The mailbox: <see cref="SmtpPath.Null"/> for <c>&lt;&gt;</c>; the domain is "" for a bare
    /// <c>postmaster</c> (any case); the local part is kept as sent (quotes included), the domain as sent
    /// (address literals keep their brackets). A source route is dropped.</param>
    /// <param name="error">Null on success, else a short English reason for logs, e.g.
    /// <c>local part longer than 64 octets</c>.</param>
    /// <returns>True when the path is valid. The null path and bare postmaster are returned as valid;
    /// whether they are allowed in MAIL or RCPT is the caller's decision.</returns>
    public static bool TryParse(string text, bool allowUtf8, bool strict, out SmtpPath path, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        var chars = text.AsSpan().Trim(" \t");
        path = SmtpPath.Null;
        int max = Encoding.UTF8.GetMaxByteCount(chars.Length);
        byte[]? rented = null;
        Span<byte> utf8 = max <= 1024 ? stackalloc byte[1024] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            if (Utf8.FromUtf16(chars, utf8, out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
            {
                error = "invalid UTF-16 (lone surrogate)";
                return false;
            }
            error = Parse(utf8[..written], allowUtf8, strict, out path);
            return error is null;
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Byte form used by the command parser: <paramref name="p"/> is the path exactly as found in the line
    /// (valid UTF-8, no controls). Returns null on success, else the reason.
    /// </summary>
    internal static string? Parse(ReadOnlySpan<byte> p, bool allowUtf8, bool strict, out SmtpPath path)
    {
        path = SmtpPath.Null;
        if (p.IsEmpty) return "empty address";
        ReadOnlySpan<byte> inner;
        if (p[0] == '<')
        {
            if (p.Length < 2 || p[^1] != '>') return "missing closing '>'";
            inner = p[1..^1];
            if (p.Length > MaxPathOctets) return "path longer than 256 octets";
        }
        else
        {
            if (strict) return "angle brackets required";
            inner = p;
            if (p.Length + 2 > MaxPathOctets) return "path longer than 256 octets";
        }
        if (inner.IsEmpty) return null; // <>: the null path

        // Source route (RFC 5321 4.1.2 A-d-l, obsolete; appendix C): "@a,@b:" is checked and dropped.
        if (inner[0] == '@')
        {
            int colon = inner.IndexOf((byte)':');
            if (colon < 0) return "bad source route";
            var route = inner[..colon];
            while (!route.IsEmpty)
            {
                if (route[0] != '@') return "bad source route";
                int comma = route.IndexOf((byte)',');
                var hop = comma < 0 ? route[1..] : route[1..comma];
                if (!IsDomainName(hop, allowUtf8)) return "bad source route";
                route = comma < 0 ? default : route[(comma + 1)..];
                if (comma >= 0 && route.IsEmpty) return "bad source route";
            }
            inner = inner[(colon + 1)..];
            if (inner.IsEmpty) return "missing mailbox after source route";
        }

        // Local-part = Dot-string / Quoted-string
        int at;
        if (inner[0] == '"')
        {
            int end = ScanQuotedString(inner, allowUtf8);
            if (end < 0) return "bad quoted local part";
            at = end;
        }
        else
        {
            at = inner.IndexOf((byte)'@');
            if (at < 0) at = inner.Length;
            if (!IsDotString(inner[..at], allowUtf8, strict)) return "bad local part";
        }
        var local = inner[..at];
        if (local.Length > MaxLocalPartOctets) return "local part longer than 64 octets";

        if (at == inner.Length)
        {
            // RFC 5321 4.5.1: <Postmaster> without a domain, case-insensitive.
            if (Ascii.EqualsIgnoreCase(local, "postmaster"u8))
            {
                path = new SmtpPath(Encoding.ASCII.GetString(local), "");
                return null;
            }
            return "missing domain";
        }
        if (inner[at] != '@') return "bad local part";
        var domain = inner[(at + 1)..];
        if (domain.IsEmpty) return "missing domain";
        if (domain.Length > MaxDomainOctets) return "domain longer than 255 octets";
        if (domain[0] == '[')
        {
            if (!IsAddressLiteral(domain)) return "bad address literal";
        }
        else if (!IsDomainName(domain, allowUtf8)) return "bad domain";

        path = new SmtpPath(Encoding.UTF8.GetString(local), Encoding.UTF8.GetString(domain));
        return null;
    }

    /// <summary>Given text starting with DQUOTE, returns the index just after the closing DQUOTE, or -1.
    /// qtextSMTP = %d32-33 / %d35-91 / %d93-126 (+ UTF-8 when allowed); quoted-pairSMTP = "\" %d32-126.</summary>
    private static int ScanQuotedString(ReadOnlySpan<byte> s, bool allowUtf8)
    {
        for (int i = 1; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == '"') return i + 1; // "" is a valid (if odd) Quoted-string
            if (b == '\\')
            {
                if (++i >= s.Length || s[i] is < 32 or > 126) return -1;
            }
            else if (b >= 0x80) { if (!allowUtf8) return -1; }
            else if (b is < 32 or > 126) return -1;
        }
        return -1;
    }

    /// <summary>
    /// Dot-string = Atom *("." Atom); atext per RFC 5322 3.2.3, plus UTF-8 when allowed (RFC 6531 3.3).
    /// Unless <paramref name="strict"/>, leading, trailing and doubled dots are accepted as Postfix does
    /// (such local parts exist in real mail, e.g. old Japanese mobile-carrier addresses).
    /// </summary>
    private static bool IsDotString(ReadOnlySpan<byte> s, bool allowUtf8, bool strict)
    {
        if (s.IsEmpty) return false;
        if (!strict)
        {
            foreach (byte b in s)
                if (b != '.' && !(b >= 0x80 ? allowUtf8 : IsAtext(b))) return false;
            return true;
        }
        if (s[0] == '.' || s[^1] == '.') return false;
        byte prev = 0;
        foreach (byte b in s)
        {
            if (b == '.') { if (prev == '.') return false; }
            else if (b >= 0x80) { if (!allowUtf8) return false; }
            else if (!IsAtext(b)) return false;
            prev = b;
        }
        return true;
    }

    private static bool IsAtext(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
        || "!#$%&'*+-/=?^_`{|}~"u8.Contains(b);

    private static bool IsLetDig(byte b) =>
        b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9';

    /// <summary>Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str], at most 63 octets;
    /// non-ASCII octets (U-labels, RFC 6531) count as letters when allowed.</summary>
    private static bool IsDomainName(ReadOnlySpan<byte> s, bool allowUtf8)
    {
        if (s.IsEmpty || s.Length > MaxDomainOctets) return false;
        while (true)
        {
            int dot = s.IndexOf((byte)'.');
            var label = dot < 0 ? s : s[..dot];
            if (label.IsEmpty || label.Length > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (byte b in label)
            {
                if (b >= 0x80) { if (!allowUtf8) return false; }
                else if (!IsLetDig(b) && b != '-') return false;
            }
            if (dot < 0) return true;
            s = s[(dot + 1)..];
        }
    }

    /// <summary>address-literal = "[" ( IPv4-address-literal / IPv6-address-literal / General-address-literal ) "]"
    /// (RFC 5321 4.1.3).</summary>
    private static bool IsAddressLiteral(ReadOnlySpan<byte> s)
    {
        if (s.Length < 3 || s[0] != '[' || s[^1] != ']') return false;
        var c = s[1..^1];
        if (c.Length > 5 && Ascii.EqualsIgnoreCase(c[..5], "IPv6:"u8))
        {
            var v6 = c[5..];
            if (v6.Length > 45) return false;
            foreach (byte b in v6)
                if (!(char.IsAsciiHexDigit((char)b) || b == ':' || b == '.')) return false;
            Span<char> chars = stackalloc char[45];
            int n = Encoding.ASCII.GetChars(v6, chars);
            return IPAddress.TryParse(chars[..n], out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6;
        }
        if (char.IsAsciiDigit((char)c[0])) return IsIPv4(c);
        // General-address-literal = Standardized-tag ":" 1*dcontent; tag = Ldh-str; dcontent = %d33-90 / %d94-126
        int colon = c.IndexOf((byte)':');
        if (colon <= 0 || colon == c.Length - 1) return false;
        var tag = c[..colon];
        if (!IsLetDig(tag[0]) || !IsLetDig(tag[^1])) return false;
        foreach (byte b in tag) if (!IsLetDig(b) && b != '-') return false;
        foreach (byte b in c[(colon + 1)..]) if (b is < 33 or > 126 or (>= 91 and <= 93)) return false;
        return true;
    }

    /// <summary>IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0..255.</summary>
    private static bool IsIPv4(ReadOnlySpan<byte> s)
    {
        int parts = 0;
        while (true)
        {
            int dot = s.IndexOf((byte)'.');
            var num = dot < 0 ? s : s[..dot];
            if (num.IsEmpty || num.Length > 3) return false;
            int v = 0;
            foreach (byte b in num)
            {
                if (!char.IsAsciiDigit((char)b)) return false;
                v = v * 10 + (b - '0');
            }
            if (v > 255) return false;
            parts++;
            if (dot < 0) return parts == 4;
            if (parts == 4) return false;
            s = s[(dot + 1)..];
        }
    }
}
