// AuthenticationResults: the Authentication-Results header field for DKIM results (RFC 8601 2.2 syntax,
// 2.7.1 dkim method and its header.d/header.i/header.s/header.a/header.b properties, RFC 6008 header.b)
// and the removal of fields that claim our authserv-id before we add ours (RFC 8601 5: an MTA MUST
// remove or rename such fields arriving from outside, since it cannot have added them itself).
using System.Text;

namespace Mta.Dkim;

/// <summary>Builds and recognises Authentication-Results header fields.</summary>
public static class AuthenticationResults
{
    /// <summary>The field name.</summary>
    public const string FieldName = "Authentication-Results";

    private const int FoldAt = 78;

    /// <summary>
    /// Builds one field: <c>Authentication-Results: AUTHSERV-ID;</c> then one <c>dkim=RESULT</c> resinfo per signature on its own
    /// folded line, or <c>dkim=none</c> when <paramref name="results"/> is empty (RFC 8601 2.7.1).
    /// Each resinfo carries <c>reason="..."</c> when there is a reason, then header.d, header.i, header.s, header.a, header.b.
    /// </summary>
    /// <param name="authservId">Our authserv-id, usually <c>$myhostname</c> (RFC 8601 2.5); quoted when it is not a token.</param>
    /// <param name="results">Per-signature results from <see cref="DkimVerifier.VerifyAsync"/>.</param>
    /// <returns>The complete field ending in CRLF, ASCII, folded at about 78 columns where possible.</returns>
    /// <exception cref="ArgumentException"><paramref name="authservId"/> is empty or contains CR/LF.</exception>
    public static string Build(string authservId, IReadOnlyList<DkimVerificationResult> results)
    {
        ArgumentException.ThrowIfNullOrEmpty(authservId);
        if (authservId.AsSpan().IndexOfAny('\r', '\n') >= 0)
            throw new ArgumentException("authserv-id must not contain line breaks", nameof(authservId));
        ArgumentNullException.ThrowIfNull(results);

        var sb = new StringBuilder();
        sb.Append(FieldName).Append(": ").Append(Value(authservId));
        if (results.Count == 0)
        {
            sb.Append(";\r\n\tdkim=none");
            return sb.Append("\r\n").ToString();
        }
        foreach (var r in results)
        {
            sb.Append(";\r\n\t");
            int column = 1;
            var words = new List<string> { "dkim=" + r.Keyword };
            if (r.Reason is not null)
                words.Add("reason=" + Quote(Ascii(r.Reason)));
            if (r.Domain is not null) words.Add("header.d=" + Value(r.Domain));
            if (r.Identity is not null) words.Add("header.i=" + Value(r.Identity, allowAt: true));
            if (r.Selector is not null) words.Add("header.s=" + Value(r.Selector));
            if (r.Algorithm is not null) words.Add("header.a=" + Value(r.Algorithm));
            if (r.SignaturePrefix is not null) words.Add("header.b=" + Value(r.SignaturePrefix));
            for (int w = 0; w < words.Count; w++)
            {
                if (w > 0)
                {
                    if (column + 1 + words[w].Length > FoldAt)
                    {
                        sb.Append("\r\n\t");
                        column = 1;
                    }
                    else
                    {
                        sb.Append(' ');
                        column++;
                    }
                }
                sb.Append(words[w]);
                column += words[w].Length;
            }
        }
        return sb.Append("\r\n").ToString();
    }

    /// <summary>
    /// True when a field value (what follows <c>Authentication-Results:</c>) names <paramref name="authservId"/> as its
    /// authserv-id, compared case-insensitively after skipping comments and whitespace (RFC 8601 2.2, 5).
    /// </summary>
    public static bool ClaimsAuthservId(string fieldValue, string authservId)
    {
        ArgumentNullException.ThrowIfNull(fieldValue);
        ArgumentException.ThrowIfNullOrEmpty(authservId);
        return ReadAuthservId(fieldValue) is { } id && id.Equals(authservId, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Indexes (into <paramref name="headers"/>) of the Authentication-Results fields that claim <paramref name="authservId"/>,
    /// i.e. the ones to remove before adding ours (RFC 8601 5).
    /// </summary>
    /// <param name="headers">All header fields in order as (name, value) pairs.</param>
    /// <param name="authservId">Our authserv-id.</param>
    public static IReadOnlyList<int> FindOurs(IReadOnlyList<KeyValuePair<string, string>> headers, string authservId)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var found = new List<int>();
        for (int i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key.Trim().Equals(FieldName, StringComparison.OrdinalIgnoreCase) && ClaimsAuthservId(headers[i].Value, authservId))
                found.Add(i);
        }
        return found;
    }

    /// <summary>
    /// Returns a copy of <paramref name="message"/> without the Authentication-Results fields that claim <paramref name="authservId"/>
    /// (RFC 8601 5); every other byte is unchanged. <paramref name="removed"/> is how many fields were dropped.
    /// </summary>
    public static byte[] RemoveOurs(ReadOnlySpan<byte> message, string authservId, out int removed)
    {
        var block = RawHeaderBlock.Parse(message);
        var pairs = block.Fields.Select(f => KeyValuePair.Create(f.Name, f.RawValue)).ToList();
        var ours = FindOurs(pairs, authservId);
        removed = ours.Count;
        return ours.Count == 0 ? message.ToArray() : block.Without(message, ours);
    }

    /// <summary>Reads the authserv-id: the first token or quoted-string after CFWS; null when there is none.</summary>
    internal static string? ReadAuthservId(string value)
    {
        int i = SkipCfws(value, 0);
        if (i >= value.Length)
            return null;
        if (value[i] == '"')
        {
            var sb = new StringBuilder();
            for (i++; i < value.Length && value[i] != '"'; i++)
            {
                if (value[i] == '\\' && i + 1 < value.Length)
                    i++;
                sb.Append(value[i]);
            }
            return i < value.Length ? sb.ToString() : null;
        }
        int start = i;
        while (i < value.Length && IsTokenChar(value[i]))
            i++;
        return i > start ? value[start..i] : null;
    }

    private static int SkipCfws(string s, int i)
    {
        while (i < s.Length)
        {
            if (s[i] is ' ' or '\t' or '\r' or '\n')
            {
                i++;
            }
            else if (s[i] == '(')
            {
                int depth = 0;
                for (; i < s.Length; i++)
                {
                    if (s[i] == '\\') { i++; continue; }
                    if (s[i] == '(') depth++;
                    else if (s[i] == ')' && --depth == 0) { i++; break; }
                }
            }
            else
            {
                break;
            }
        }
        return i;
    }

    // RFC 2045 5.1 token: any CHAR except SP, CTLs and tspecials.
    private static bool IsTokenChar(char c) => c > 32 && c < 127 && "()<>@,;:\\\"/[]?=".IndexOf(c) < 0;

    private static string Value(string v, bool allowAt = false)
    {
        if (v.Length > 0 && v.All(c => IsTokenChar(c) || (allowAt && c == '@')))
            return v;
        return Quote(v);
    }

    private static string Quote(string v) => "\"" + v.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    private static string Ascii(string v) => new(v.Select(c => c is >= ' ' and < (char)127 ? c : '?').ToArray());
}
