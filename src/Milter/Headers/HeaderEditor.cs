// HeaderEditor: applies milter header edits (ADDHEADER h, INSHEADER i, CHGHEADER m) to a message's header
// list with Postfix's index semantics. Verified against Postfix 3.12 src/milter/milter8.c (BODYEOB branch:
// INSHEADER passes index+1, CHGHEADER maps 0 to 1, empty value deletes, MILTER8_HDR_SPACE) and
// src/cleanup/cleanup_milter.c (cleanup_ins_header, cleanup_upd_header, cleanup_del_header,
// cleanup_find_header_start with its Sendmail-compatibility comment). Reference 1.8.
namespace Mta.Milter.Headers;

/// <summary>
/// One header of the message as it will be delivered.
/// </summary>
/// <param name="Name">Header name without the colon.</param>
/// <param name="Value">Everything after the colon exactly as it will be written (usually starting with a
/// space), folds as CRLF followed by white space, no final CRLF.</param>
/// <param name="HiddenFromMilters">True for the MTA's own Received: header, which milters never saw
/// (it is skipped when CHGHEADER counts occurrences, but counts for INSHEADER positions).</param>
public sealed record MessageHeader(string Name, string Value, bool HiddenFromMilters = false)
{
    /// <summary><c>Name:Value</c> without the final CRLF.</summary>
    public string ToWireString() => Name + ":" + Value;
}

/// <summary>
/// Pure header-list editing with Postfix semantics. The list is the header block as delivered, including the
/// MTA's own Received: header (normally first, flagged <see cref="MessageHeader.HiddenFromMilters"/>).
/// <list type="bullet">
/// <item><b>INSHEADER</b> (index i): inserted before the header at 0-based position i of the <i>whole</i> current
/// list, own Received: included; i = 0 puts it above our Received:, i = 1 directly below it (the top of what the
/// milter saw); i &gt;= count appends. Postfix: milter8.c passes i+1 to cleanup_ins_header, which inserts before
/// the (i+1)-th header of any name or appends when there is none.</item>
/// <item><b>CHGHEADER</b> (index n, name, value): n counts occurrences of <i>name</i> (ASCII case-insensitive),
/// 1-based, 0 treated as 1, skipping hidden headers, so Received: #1 is the first one after our own. A non-empty
/// value replaces that header in place (name spelled as the milter sent it); an empty value deletes it. If that
/// occurrence does not exist, a non-empty value is appended at the end and an empty value does nothing.</item>
/// <item><b>ADDHEADER</b>: appended at the end of the header block.</item>
/// </list>
/// Edits see the results of earlier edits (headers added by one request count for the next). New values get
/// one space after the colon unless the milter negotiated HDR_LEADSPC (Postfix MILTER8_HDR_SPACE); line breaks
/// inside milter values (LF, CR or CRLF) become CRLF, a break not followed by SP/HT gets a TAB so it stays a
/// fold, and trailing line breaks are dropped.
/// </summary>
public sealed class HeaderEditor
{
    private readonly List<MessageHeader> _headers;

    /// <summary>Starts from the header list as delivered (own Received: included, flagged hidden).</summary>
    public HeaderEditor(IEnumerable<MessageHeader> headers) => _headers = [.. headers];

    /// <summary>The current header list.</summary>
    public IReadOnlyList<MessageHeader> Headers => _headers;

    /// <summary>ADDHEADER: append.</summary>
    /// <param name="name">Header name.</param>
    /// <param name="value">Value as sent by the milter.</param>
    /// <param name="leadingSpace">True when HDR_LEADSPC was negotiated (no space added).</param>
    public void Add(string name, string value, bool leadingSpace) =>
        _headers.Add(new MessageHeader(name, FormatValue(value, leadingSpace)));

    /// <summary>INSHEADER: insert before 0-based position <paramref name="index"/> of the whole list; append past the end.</summary>
    /// <param name="index">The raw wire index.</param>
    /// <param name="name">Header name.</param>
    /// <param name="value">Value as sent by the milter.</param>
    /// <param name="leadingSpace">True when HDR_LEADSPC was negotiated.</param>
    public void Insert(uint index, string name, string value, bool leadingSpace)
    {
        var header = new MessageHeader(name, FormatValue(value, leadingSpace));
        if (index >= (uint)_headers.Count) _headers.Add(header);
        else _headers.Insert((int)index, header);
    }

    /// <summary>CHGHEADER: replace or delete occurrence <paramref name="index"/> of <paramref name="name"/>.</summary>
    /// <param name="index">1-based occurrence among headers of that name visible to milters; 0 means 1.</param>
    /// <param name="name">Header name (matched ASCII case-insensitively).</param>
    /// <param name="value">New value as sent by the milter; empty deletes.</param>
    /// <param name="leadingSpace">True when HDR_LEADSPC was negotiated.</param>
    /// <returns>True when an existing header was changed or deleted; false when appended or nothing was found to delete.</returns>
    public bool Change(uint index, string name, string value, bool leadingSpace)
    {
        if (index == 0) index = 1;
        int position = FindOccurrence(name, index);
        if (position < 0)
        {
            if (value.Length > 0) Add(name, value, leadingSpace);
            return false;
        }
        if (value.Length == 0) _headers.RemoveAt(position);
        else _headers[position] = new MessageHeader(name, FormatValue(value, leadingSpace));
        return true;
    }

    /// <summary>Applies a header modification; other kinds are ignored.</summary>
    /// <returns>True when <paramref name="modification"/> was a header edit.</returns>
    public bool Apply(MilterModification modification, bool leadingSpace)
    {
        switch (modification)
        {
            case MilterModification.AddHeader a:
                Add(a.Name, a.Value, leadingSpace);
                return true;
            case MilterModification.InsertHeader i:
                Insert(i.Index, i.Name, i.Value, leadingSpace);
                return true;
            case MilterModification.ChangeHeader c:
                Change(c.Index, c.Name, c.Value, leadingSpace);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Applies every header modification in order.</summary>
    public void ApplyAll(IEnumerable<MilterModification> modifications, bool leadingSpace)
    {
        foreach (var m in modifications) Apply(m, leadingSpace);
    }

    private int FindOccurrence(string name, uint index)
    {
        for (int i = 0; i < _headers.Count; i++)
        {
            var h = _headers[i];
            if (h.HiddenFromMilters || !string.Equals(h.Name.TrimEnd(' ', '\t'), name, StringComparison.OrdinalIgnoreCase)) continue;
            if (--index == 0) return i;
        }
        return -1;
    }

    /// <summary>The stored value for a milter-supplied value: leading space unless HDR_LEADSPC, CRLF folds.</summary>
    public static string FormatValue(string value, bool leadingSpace)
    {
        var sb = new System.Text.StringBuilder(value.Length + 4);
        if (!leadingSpace) sb.Append(' ');
        var v = value.TrimEnd('\r', '\n');
        for (int i = 0; i < v.Length; i++)
        {
            char c = v[i];
            if (c is '\r' or '\n')
            {
                if (c == '\r' && i + 1 < v.Length && v[i + 1] == '\n') i++;
                sb.Append("\r\n");
                if (i + 1 < v.Length && v[i + 1] is not (' ' or '\t')) sb.Append('\t');
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString();
    }
}
