// HeaderBlock: the header section of a received message as a list of headers, where the body starts,
// and how to write the (possibly edited) headers back. Unchanged headers keep their exact bytes.
// RFC 5322 2.2 (header fields, folding), 2.1 (the empty line before the body); Postfix cleanup's
// notion of where headers end (a line that is neither a header nor a continuation starts the body).
using System.Text;
using Mta.Milter.Headers;
using Mta.Smtp.Content;

namespace Mta.Milters;

/// <summary>
/// The headers of a message (<see cref="MessageHeader"/> values: name, value after the colon with CRLF folds)
/// and the offset in the spool where the body begins (after the empty line).
/// </summary>
public sealed class HeaderBlock
{
    private readonly Dictionary<MessageHeader, byte[]> _raw = new(ReferenceEqualityComparer.Instance);

    private HeaderBlock(List<MessageHeader> headers, long bodyOffset, bool hasSeparator)
    {
        Headers = headers;
        BodyOffset = bodyOffset;
        HasSeparator = hasSeparator;
    }

    /// <summary>The headers in order (the MTA's own Received: first, hidden from milters).</summary>
    public List<MessageHeader> Headers { get; }
    /// <summary>Where the body starts in the spool (after the empty line), or the spool length when there is none.</summary>
    public long BodyOffset { get; }
    /// <summary>True when the message had the empty line between headers and body.</summary>
    public bool HasSeparator { get; }

    /// <summary>
    /// Reads the headers of <paramref name="content"/>: the prefix headers (flagged hidden from milters, like
    /// Postfix's own Received:) then the spool's header section up to <paramref name="maxHeaderBytes"/>.
    /// </summary>
    public static HeaderBlock Read(MessageContent content, int maxHeaderBytes = 1 << 20)
    {
        if (content.BodyOffset != 0) return ReadRebuilt(content);
        var headers = new List<MessageHeader>();
        var block = new HeaderBlock(headers, 0, false);
        foreach (var (name, value, raw) in Split(content.Prefix.Span, out _, out _))
            block.AddParsed(new MessageHeader(name, value, HiddenFromMilters: true), raw);

        using var stream = content.Body.OpenRead();
        var buffer = new byte[(int)Math.Min(maxHeaderBytes, content.Body.Length)];
        int n = 0, r;
        while (n < buffer.Length && (r = stream.Read(buffer, n, buffer.Length - n)) > 0) n += r;
        var parsed = Split(buffer.AsSpan(0, n), out int consumed, out bool separator);
        foreach (var (name, value, raw) in parsed) block.AddParsed(new MessageHeader(name, value), raw);
        return new HeaderBlock(block.Headers, consumed, separator).CopyRaw(block);
    }

    /// <summary>
    /// A content whose header block was already rebuilt: the prefix holds every header and the empty line, the
    /// body starts at the content's body offset. Our Received: is the first Received: of the prefix and stays hidden.
    /// </summary>
    private static HeaderBlock ReadRebuilt(MessageContent content)
    {
        var block = new HeaderBlock([], content.BodyOffset, true);
        bool hidden = false;
        foreach (var (name, value, raw) in Split(content.Prefix.Span, out _, out _))
        {
            bool isOurs = !hidden && name.Trim().Equals("Received", StringComparison.OrdinalIgnoreCase);
            hidden |= isOurs;
            block.AddParsed(new MessageHeader(name, value, HiddenFromMilters: isOurs), raw);
        }
        return block;
    }

    private HeaderBlock CopyRaw(HeaderBlock from)
    {
        foreach (var kv in from._raw) _raw[kv.Key] = kv.Value;
        return this;
    }

    private void AddParsed(MessageHeader h, byte[] raw)
    {
        Headers.Add(h);
        _raw[h] = raw;
    }

    /// <summary>
    /// Splits header lines. Stops at the empty line (consumed included) or at the first line that is neither
    /// a header nor a continuation (not consumed). Names and values are byte strings (Latin-1: one char per
    /// byte), so 8-bit header bytes reach milters unchanged; the exact bytes are also kept for writing back.
    /// </summary>
    private static List<(string Name, string Value, byte[] Raw)> Split(ReadOnlySpan<byte> data, out int consumed, out bool separator)
    {
        var result = new List<(string, string, byte[])>();
        int pos = 0, start = -1;
        separator = false;
        while (pos < data.Length)
        {
            int lf = data[pos..].IndexOf((byte)'\n');
            int lineEnd = lf < 0 ? data.Length : pos + lf + 1;
            var line = data[pos..lineEnd];
            var text = line.TrimEnd("\r\n"u8);
            bool continuation = text.Length > 0 && (text[0] == ' ' || text[0] == '\t');
            if (text.Length == 0)
            {
                if (start >= 0) result.Add(Make(data[start..pos]));
                consumed = lineEnd;
                separator = true;
                return result;
            }
            if (continuation && start >= 0) { pos = lineEnd; continue; }
            int colon = text.IndexOf((byte)':');
            if (continuation || colon <= 0 || !IsFieldName(text[..colon]))
            {
                if (start >= 0) result.Add(Make(data[start..pos]));
                consumed = pos;
                return result;
            }
            if (start >= 0) result.Add(Make(data[start..pos]));
            start = pos;
            pos = lineEnd;
        }
        if (start >= 0) result.Add(Make(data[start..pos]));
        consumed = pos;
        return result;
    }

    /// <summary>Text (e.g. a header value from a milter, decoded as UTF-8) as a byte string: its UTF-8 bytes, one char each.</summary>
    public static string ToByteString(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    private static bool IsFieldName(ReadOnlySpan<byte> name)
    {
        name = name.TrimEnd(" \t"u8); // Postfix tolerates "Name :"; the milter sees the name without the blanks
        if (name.IsEmpty) return false;
        foreach (byte b in name) if (b is < 33 or > 126) return false;
        return true;
    }

    private static (string, string, byte[]) Make(ReadOnlySpan<byte> raw)
    {
        var trimmed = raw.EndsWith("\r\n"u8) ? raw[..^2] : raw.EndsWith("\n"u8) ? raw[..^1] : raw;
        int colon = trimmed.IndexOf((byte)':');
        string name = Encoding.Latin1.GetString(trimmed[..colon]);
        string value = Encoding.Latin1.GetString(trimmed[(colon + 1)..]).Replace("\r\n", "\n").Replace("\n", "\r\n");
        return (name, value, raw.ToArray());
    }

    /// <summary>
    /// Writes <paramref name="headers"/> (edited) as CRLF lines followed by the empty line. Headers that are
    /// the same instances as read keep their exact original bytes; others are byte strings (see
    /// <see cref="ToByteString"/>) written one byte per char.
    /// </summary>
    public byte[] Write(IReadOnlyList<MessageHeader> headers)
    {
        var ms = new MemoryStream();
        foreach (var h in headers)
        {
            if (_raw.TryGetValue(h, out var raw))
            {
                ms.Write(raw);
                if (!raw.AsSpan().EndsWith("\n"u8)) ms.Write("\r\n"u8);
            }
            else
            {
                ms.Write(Encoding.Latin1.GetBytes(h.ToWireString()));
                ms.Write("\r\n"u8);
            }
        }
        ms.Write("\r\n"u8);
        return ms.ToArray();
    }
}
