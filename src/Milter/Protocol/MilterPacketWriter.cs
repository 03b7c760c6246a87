// MilterPacketWriter: wire encoding of every MTA -> milter command (O D C H M R T L N B E U A Q K).
// Strings are UTF-8 and NUL-terminated; argv is consecutive NUL-terminated strings; integers u32 big-endian,
// the CONNECT port u16 big-endian. Every payload must be <= 65535 bytes (libmilter MILTER_MAX_DATA_SIZE).
// Follows Postfix milter8.c (milter8_write_cmd, milter8_conn_event) and reference 1.1-1.2.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Mta.Milter.Protocol;

/// <summary>
/// Encodes MTA-to-milter packets into an <see cref="IBufferWriter{T}"/>. A string containing NUL is
/// cut at the NUL, as Postfix's C strings are. A packet whose payload would exceed
/// <see cref="MilterLimits.MaxOutboundPayload"/> throws <see cref="MilterProtocolException"/> and writes nothing.
/// </summary>
public static class MilterPacketWriter
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary><c>O</c>: u32 version, u32 actions, u32 protocol flags (12-byte payload).</summary>
    public static void WriteOptionNegotiation(IBufferWriter<byte> writer, uint version, MilterActions actions, MilterProtocolFlags protocol)
    {
        var span = Begin(writer, MilterCommand.OptionNegotiation, 12);
        BinaryPrimitives.WriteUInt32BigEndian(span, version);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], (uint)actions);
        BinaryPrimitives.WriteUInt32BigEndian(span[8..], (uint)protocol);
        writer.Advance(5 + 12);
    }

    /// <summary><c>D</c>: the command byte the macros belong to, then name\0value\0 pairs (possibly none).</summary>
    public static void WriteMacros(IBufferWriter<byte> writer, byte forCommand, IReadOnlyList<KeyValuePair<string, string>> macros)
    {
        int len = 1;
        foreach (var (name, value) in macros) len += StringSize(name) + StringSize(value);
        var span = Begin(writer, MilterCommand.Macro, len);
        span[0] = forCommand;
        int pos = 1;
        foreach (var (name, value) in macros)
        {
            pos += PutString(span[pos..], name);
            pos += PutString(span[pos..], value);
        }
        writer.Advance(5 + len);
    }

    /// <summary><c>C</c>: hostname\0, family byte, and for families other than <c>U</c> a u16 port and address\0.</summary>
    public static void WriteConnect(IBufferWriter<byte> writer, string hostname, MilterAddressFamily family, ushort port, string address)
    {
        bool hasAddress = family != MilterAddressFamily.Unknown;
        int len = StringSize(hostname) + 1 + (hasAddress ? 2 + StringSize(address) : 0);
        var span = Begin(writer, MilterCommand.Connect, len);
        int pos = PutString(span, hostname);
        span[pos++] = (byte)family;
        if (hasAddress)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[pos..], port);
            pos += 2;
            PutString(span[pos..], address);
        }
        writer.Advance(5 + len);
    }

    /// <summary><c>H</c>: the HELO/EHLO argument\0.</summary>
    public static void WriteHelo(IBufferWriter<byte> writer, string helo) => WriteStrings(writer, MilterCommand.Helo, [helo]);

    /// <summary><c>M</c>: argv (<c>&lt;sender&gt;</c>\0 then each ESMTP parameter\0).</summary>
    public static void WriteMail(IBufferWriter<byte> writer, IReadOnlyList<string> argv) => WriteStrings(writer, MilterCommand.Mail, argv);

    /// <summary><c>R</c>: argv (<c>&lt;recipient&gt;</c>\0 then each ESMTP parameter\0).</summary>
    public static void WriteRcpt(IBufferWriter<byte> writer, IReadOnlyList<string> argv) => WriteStrings(writer, MilterCommand.Rcpt, argv);

    /// <summary>
    /// <c>L</c>: name\0value\0 (value already formatted for the milter, see <see cref="MilterHeaderFormat"/>).
    /// Name and value are byte strings: each char is one byte (Latin-1), so header bytes that are not UTF-8
    /// reach the milter unchanged, as Postfix passes them (a UTF-8 header decoded as Latin-1 round-trips too).
    /// </summary>
    public static void WriteHeader(IBufferWriter<byte> writer, string name, string value) => WriteStrings(writer, MilterCommand.Header, [name, value], Encoding.Latin1);

    /// <summary><c>U</c>: the full command line\0.</summary>
    public static void WriteUnknown(IBufferWriter<byte> writer, string commandLine) => WriteStrings(writer, MilterCommand.Unknown, [commandLine]);

    /// <summary><c>B</c>: raw body bytes, not NUL-terminated, at most 65535.</summary>
    public static void WriteBody(IBufferWriter<byte> writer, ReadOnlySpan<byte> chunk)
    {
        var span = Begin(writer, MilterCommand.Body, chunk.Length);
        chunk.CopyTo(span);
        writer.Advance(5 + chunk.Length);
    }

    /// <summary>A packet with an empty payload: <c>T</c> DATA, <c>N</c> EOH, <c>E</c> EOB, <c>A</c> ABORT, <c>Q</c> QUIT, <c>K</c> QUIT_NC.</summary>
    public static void WriteEmpty(IBufferWriter<byte> writer, byte command)
    {
        Begin(writer, command, 0);
        writer.Advance(5);
    }

    /// <summary>A packet whose payload is the given strings, each NUL-terminated.</summary>
    /// <param name="writer">destination.</param>
    /// <param name="command">the command byte.</param>
    /// <param name="strings">the strings, each cut at its first NUL.</param>
    /// <param name="encoding">UTF-8 (default), or Latin-1 for byte strings (header events).</param>
    public static void WriteStrings(IBufferWriter<byte> writer, byte command, IReadOnlyList<string> strings, Encoding? encoding = null)
    {
        encoding ??= Utf8;
        int len = 0;
        foreach (var s in strings) len += encoding.GetByteCount(CutAtNul(s)) + 1;
        var span = Begin(writer, command, len);
        int pos = 0;
        foreach (var s in strings)
        {
            int n = encoding.GetBytes(CutAtNul(s), span[pos..]);
            span[pos + n] = 0;
            pos += n + 1;
        }
        writer.Advance(5 + len);
    }

    /// <summary>Encoded size of <paramref name="s"/> cut at its first NUL, plus the terminator.</summary>
    internal static int StringSize(string s) => Utf8.GetByteCount(CutAtNul(s)) + 1;

    private static ReadOnlySpan<char> CutAtNul(string s)
    {
        int nul = s.IndexOf('\0');
        return nul < 0 ? s : s.AsSpan(0, nul);
    }

    private static int PutString(Span<byte> dest, string s)
    {
        int n = Utf8.GetBytes(CutAtNul(s), dest);
        dest[n] = 0;
        return n + 1;
    }

    // Writes the 5-byte header and returns the span for the payload (not yet advanced).
    private static Span<byte> Begin(IBufferWriter<byte> writer, byte command, int payloadLength)
    {
        if (payloadLength > MilterLimits.MaxOutboundPayload)
            throw new MilterProtocolException(
                $"{MilterCommand.Name(command)} payload of {payloadLength} bytes exceeds the {MilterLimits.MaxOutboundPayload}-byte limit of libmilter");
        var span = writer.GetSpan(5 + payloadLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)(payloadLength + 1));
        span[4] = command;
        return span.Slice(5, payloadLength);
    }
}
