// MilterReplyText: validation and normalisation of the SMFIR_REPLYCODE text.
// Follows Postfix milter8.c milter8_valid_smtp_reply (stable branch: per-line check, no same-code rule)
// and its '%' handling; reference 1.9.
namespace Mta.Milter.Protocol;

/// <summary>Checks and normalises the text of a <c>y</c> (SMFIR_REPLYCODE) reply as Postfix does.</summary>
public static class MilterReplyText
{
    /// <summary>
    /// Validates <paramref name="raw"/> (the packet payload, one trailing NUL allowed) and returns the text
    /// with every <c>%</c> removed and the character after it kept (<c>%%</c> becomes <c>%</c>).
    /// Rules: no embedded NUL; lines separated by CRLF; every line at least 4 characters and
    /// <c>[45]dd</c> followed by <c>-</c> (non-final line) or a space (final line); if the 5th character is a
    /// digit (enhanced status code) it equals the first; the final line has no line terminator.
    /// </summary>
    /// <returns>False when the text is malformed (Postfix: "malformed reply", a configuration error).</returns>
    public static bool TryNormalize(ReadOnlySpan<byte> raw, out string text)
    {
        text = "";
        if (raw.Length > 0 && raw[^1] == 0) raw = raw[..^1];
        if (raw.IndexOf((byte)0) >= 0 || raw.IsEmpty) return false;

        var rest = raw;
        while (true)
        {
            int lineLen = rest.IndexOfAny((byte)'\r', (byte)'\n');
            bool final = lineLen < 0;
            if (final) lineLen = rest.Length;
            var line = rest[..lineLen];
            if (line.Length < 4 || (line[0] != '4' && line[0] != '5') || !IsDigit(line[1]) || !IsDigit(line[2])
                || line[3] != (final ? ' ' : '-')
                || (line.Length > 4 && IsDigit(line[4]) && line[4] != line[0]))
                return false;
            if (final) break;
            if (rest.Length < lineLen + 2 || rest[lineLen] != '\r' || rest[lineLen + 1] != '\n') return false;
            rest = rest[(lineLen + 2)..];
            if (rest.IsEmpty) return false;
        }

        var s = System.Text.Encoding.UTF8.GetString(raw);
        if (s.Contains('%'))
        {
            var sb = new System.Text.StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] == '%')
                {
                    i++;
                    if (i >= s.Length) break;
                }
                sb.Append(s[i]);
            }
            s = sb.ToString();
        }
        text = s;
        return true;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}
