// MilterHeaderFormat: how a header received from the SMTP client is shown to a milter in SMFIC_HEADER.
// Postfix milter8.c milter8_header: name up to the colon (white space before the colon dropped); value =
// everything after the colon with ONE leading space (not tab) removed unless SMFIP_HDR_LEADSPC was
// negotiated; folded lines keep their line break as a bare LF followed by the original white space;
// no trailing line end. Reference 1.6.
namespace Mta.Milter.Protocol;

/// <summary>Formats header name and value for the <c>L</c> packet.</summary>
public static class MilterHeaderFormat
{
    /// <summary>The name as sent: trailing spaces/tabs (between name and colon) removed.</summary>
    public static string Name(string name) => name.TrimEnd(' ', '\t');

    /// <summary>
    /// The value as sent. <paramref name="rawValue"/> is the text after the colon exactly as received,
    /// without the final CRLF; folds may be CRLF or LF. Each CRLF becomes LF; one leading SP is removed
    /// unless <paramref name="leadingSpace"/> (HDR_LEADSPC negotiated) is true.
    /// </summary>
    public static string Value(string rawValue, bool leadingSpace)
    {
        var v = rawValue;
        if (!leadingSpace && v.Length > 0 && v[0] == ' ') v = v[1..];
        if (v.Contains('\r')) v = v.Replace("\r\n", "\n");
        return v;
    }
}
