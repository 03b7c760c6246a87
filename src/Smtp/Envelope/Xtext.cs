// Xtext: the "xtext" encoding of DSN and AUTH parameter values (ENVID, ORCPT, AUTH=).
// RFC 3461 4 (xtext = *( xchar / hexchar ), hexchar = "+" 2 UPPER-HEX), RFC 4954 5 (AUTH=),
// RFC 6533 3 (utf-8-addr-xtext / unitext for ORCPT=utf-8;...).
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Mta.Smtp.Envelope;

/// <summary>
/// RFC 3461 section 4 xtext. An xchar is any ASCII character from <c>!</c> (33) to <c>~</c> (126)
/// except <c>+</c> and <c>=</c>; any other octet is written <c>+XX</c> with two upper-case hex digits.
/// Decoded octets are read as UTF-8, so every string round-trips through <see cref="Encode"/> and
/// <see cref="TryDecode(string, out string)"/>.
/// </summary>
public static class Xtext
{
    private const int StackLimit = 512;

    /// <summary>
    /// Decodes xtext. Returns false (and <paramref name="decoded"/> = "") when <paramref name="s"/>
    /// holds a character outside 33..126, a bare <c>=</c>, a <c>+</c> not followed by two upper-case
    /// hex digits (lower-case hex is invalid per RFC 3461 4), or when the decoded octets are not valid
    /// UTF-8. The empty string decodes to "".
    /// </summary>
    public static bool TryDecode(string s, out string decoded)
    {
        ArgumentNullException.ThrowIfNull(s);
        decoded = "";
        foreach (char c in s)
            if (c > 126) return false;
        if (s.AsSpan().IndexOf('+') < 0)
        {
            if (!IsAllXchar(s.AsSpan())) return false;
            decoded = s;
            return true;
        }
        byte[]? rented = null;
        Span<byte> ascii = s.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(s.Length));
        try
        {
            int n = Encoding.ASCII.GetBytes(s, ascii);
            return TryDecode(ascii[..n], out decoded);
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Span form of <see cref="TryDecode(string, out string)"/> for the command parser: the input is the
    /// raw UTF-8 parameter value.</summary>
    internal static bool TryDecode(ReadOnlySpan<byte> xtext, out string decoded)
    {
        decoded = "";
        int plus = xtext.IndexOf((byte)'+');
        if (plus < 0)
        {
            if (!IsAllXchar(xtext)) return false;
            decoded = Encoding.ASCII.GetString(xtext);
            return true;
        }
        byte[]? rented = null;
        Span<byte> buf = xtext.Length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(xtext.Length));
        try
        {
            int n = 0;
            for (int i = 0; i < xtext.Length; i++)
            {
                byte b = xtext[i];
                if (b == '+')
                {
                    if (i + 2 >= xtext.Length) return false;
                    int hi = UpperHex(xtext[i + 1]), lo = UpperHex(xtext[i + 2]);
                    if (hi < 0 || lo < 0) return false;
                    buf[n++] = (byte)(hi << 4 | lo);
                    i += 2;
                }
                else if (IsXchar(b)) buf[n++] = b;
                else return false;
            }
            if (!Utf8.IsValid(buf[..n])) return false;
            decoded = Encoding.UTF8.GetString(buf[..n]);
            return true;
        }
        finally
        {
            if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Encodes <paramref name="s"/> as xtext: the string's UTF-8 octets that are xchars stay as they are,
    /// every other octet (controls, space, <c>+</c>, <c>=</c>, non-ASCII) becomes <c>+XX</c> upper-case hex.
    /// A lone surrogate is encoded as U+FFFD.
    /// </summary>
    public static string Encode(string s)
    {
        ArgumentNullException.ThrowIfNull(s);
        bool plain = true;
        foreach (char c in s)
            if (c > 126 || !IsXchar((byte)c)) { plain = false; break; }
        if (plain) return s;
        var sb = new StringBuilder(s.Length * 2);
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            if (IsXchar(b)) sb.Append((char)b);
            else sb.Append('+').Append("0123456789ABCDEF"[b >> 4]).Append("0123456789ABCDEF"[b & 0xF]);
        }
        return sb.ToString();
    }

    /// <summary>
    /// Decodes the address of <c>ORCPT=utf-8;...</c> (RFC 6533 3: utf-8-addr-xtext / utf-8-addr-unitext):
    /// QCHARs (printable ASCII except <c>+</c>, <c>=</c>, <c>\</c>), raw UTF-8 when
    /// <paramref name="allowUtf8"/>, and <c>\x{HHHH}</c> (2..6 upper-case hex digits, a Unicode scalar value).
    /// </summary>
    internal static bool TryDecodeUtf8Address(ReadOnlySpan<byte> text, bool allowUtf8, out string decoded)
    {
        decoded = "";
        if (text.IsEmpty) return false;
        if (text.IndexOf((byte)'\\') < 0)
        {
            foreach (byte b in text)
                if (!(b >= 0x80 ? allowUtf8 : IsXchar(b) && b != '\\')) return false;
            if (!Utf8.IsValid(text)) return false;
            decoded = Encoding.UTF8.GetString(text);
            return true;
        }
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            byte b = text[i];
            if (b == '\\')
            {
                // \x{HEXPOINT}
                if (i + 3 >= text.Length || text[i + 1] != 'x' || text[i + 2] != '{') return false;
                int close = text[(i + 3)..].IndexOf((byte)'}');
                if (close is < 2 or > 6) return false;
                int cp = 0;
                foreach (byte h in text.Slice(i + 3, close))
                {
                    int v = UpperHex(h);
                    if (v < 0) return false;
                    cp = cp << 4 | v;
                }
                if (!Rune.IsValid(cp)) return false;
                sb.Append(new Rune(cp).ToString());
                i += 3 + close + 1;
            }
            else if (b >= 0x80)
            {
                if (!allowUtf8 || Rune.DecodeFromUtf8(text[i..], out var r, out int used) != OperationStatus.Done) return false;
                sb.Append(r.ToString());
                i += used;
            }
            else if (IsXchar(b)) { sb.Append((char)b); i++; }
            else return false;
        }
        decoded = sb.ToString();
        return true;
    }

    private static bool IsXchar(byte b) => b is >= 33 and <= 126 and not (byte)'+' and not (byte)'=';

    private static bool IsAllXchar(ReadOnlySpan<byte> s)
    {
        foreach (byte b in s) if (!IsXchar(b)) return false;
        return true;
    }

    private static bool IsAllXchar(ReadOnlySpan<char> s)
    {
        foreach (char c in s) if (c > 126 || !IsXchar((byte)c)) return false;
        return true;
    }

    private static int UpperHex(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
