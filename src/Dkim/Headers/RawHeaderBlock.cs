// RawHeaderBlock: finds the header fields of a message in its raw bytes without decoding anything, so
// callers can remove or count fields and keep every other byte as it was (RFC 5322 2.2: field name, colon,
// body; 2.2.3 folding: a line that starts with WSP continues the field; 2.1: the header ends at the first
// empty line). Bare LF line ends are accepted as well as CRLF.
using System.Text;

namespace Mta.Dkim;

/// <summary>One header field located in a message's bytes.</summary>
/// <param name="Name">Field name as written (case preserved); empty for a malformed line with no colon.</param>
/// <param name="Offset">Byte offset of the field's first byte in the message.</param>
/// <param name="Length">Length in bytes including every folded line and the final line end.</param>
/// <param name="RawValue">The bytes after the colon up to, not including, the final line end (folding kept), decoded as Latin-1.</param>
public readonly record struct RawHeaderField(string Name, int Offset, int Length, string RawValue);

/// <summary>The header block of a message: its fields in order and where the body starts.</summary>
public sealed class RawHeaderBlock
{
    private RawHeaderBlock(IReadOnlyList<RawHeaderField> fields, int bodyOffset, bool hasSeparator)
    {
        Fields = fields;
        BodyOffset = bodyOffset;
        HasBodySeparator = hasSeparator;
    }

    /// <summary>Header fields top to bottom.</summary>
    public IReadOnlyList<RawHeaderField> Fields { get; }

    /// <summary>Offset of the first body byte (just after the empty line); the message length when there is no empty line.</summary>
    public int BodyOffset { get; }

    /// <summary>True when an empty line separates header and body.</summary>
    public bool HasBodySeparator { get; }

    /// <summary>Number of fields named <paramref name="name"/> (case-insensitive).</summary>
    public int Count(string name) => Fields.Count(f => f.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Scans <paramref name="message"/> (complete message: header, empty line, body).</summary>
    public static RawHeaderBlock Parse(ReadOnlySpan<byte> message)
    {
        var fields = new List<RawHeaderField>();
        int pos = 0;
        while (pos < message.Length)
        {
            int lineEnd = NextLineEnd(message, pos, out int eolLength);
            if (lineEnd == pos)
                return new RawHeaderBlock(fields, pos + eolLength, true);
            // a field: this line plus continuation lines that start with SP or HTAB
            int start = pos;
            int fieldEnd = lineEnd;
            int fieldEol = eolLength;
            pos = lineEnd + eolLength;
            while (pos < message.Length && (message[pos] == (byte)' ' || message[pos] == (byte)'\t'))
            {
                fieldEnd = NextLineEnd(message, pos, out fieldEol);
                pos = fieldEnd + fieldEol;
            }
            var line = message[start..fieldEnd];
            int colon = line.IndexOf((byte)':');
            string name = "";
            string value = Encoding.Latin1.GetString(line);
            if (colon > 0)
            {
                var n = line[..colon].TrimEnd(" \t"u8);
                if (n.Length > 0 && n.IndexOfAny((byte)' ', (byte)'\t') < 0)
                {
                    name = Encoding.Latin1.GetString(n);
                    value = Encoding.Latin1.GetString(line[(colon + 1)..]);
                }
            }
            fields.Add(new RawHeaderField(name, start, pos - start, value));
        }
        return new RawHeaderBlock(fields, message.Length, false);
    }

    /// <summary>
    /// Copies <paramref name="message"/> without the fields at <paramref name="indexes"/> (indexes into <see cref="Fields"/>);
    /// every other byte is kept.
    /// </summary>
    public byte[] Without(ReadOnlySpan<byte> message, IEnumerable<int> indexes)
    {
        var drop = new HashSet<int>(indexes);
        var output = new byte[message.Length - drop.Sum(i => Fields[i].Length)];
        int written = 0, pos = 0;
        for (int i = 0; i < Fields.Count; i++)
        {
            if (!drop.Contains(i))
                continue;
            var f = Fields[i];
            message[pos..f.Offset].CopyTo(output.AsSpan(written));
            written += f.Offset - pos;
            pos = f.Offset + f.Length;
        }
        message[pos..].CopyTo(output.AsSpan(written));
        return output;
    }

    private static int NextLineEnd(ReadOnlySpan<byte> data, int from, out int eolLength)
    {
        int lf = data[from..].IndexOf((byte)'\n');
        if (lf < 0)
        {
            eolLength = 0;
            return data.Length;
        }
        lf += from;
        if (lf > from && data[lf - 1] == (byte)'\r')
        {
            eolLength = 2;
            return lf - 1;
        }
        eolLength = 1;
        return lf;
    }
}
