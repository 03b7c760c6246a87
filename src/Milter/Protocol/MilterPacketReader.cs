// MilterPacketReader: incremental framing of inbound (milter -> MTA) packets from a ReadOnlySequence.
// Frame = u32 big-endian length (counts the command byte, so >= 1), command byte, length-1 payload bytes.
// Follows Postfix milter8.c milter8_read_resp (length < 1 and length > cap are communication errors);
// partial input is never an error, it is "need more data" (Kestrel/RESPite scanner style, style.md).
using System.Buffers;
using System.Buffers.Binary;

namespace Mta.Milter.Protocol;

/// <summary>One framed packet: the command/reply byte and its payload (the bytes after the command byte).</summary>
/// <param name="Code">The command (MTA to milter) or reply (milter to MTA) byte.</param>
/// <param name="Payload">The payload, possibly empty; owned by the packet (copied out of the pipe).</param>
public readonly record struct MilterPacket(byte Code, ReadOnlyMemory<byte> Payload);

/// <summary>Stateless packet framer over a <see cref="ReadOnlySequence{T}"/>.</summary>
public static class MilterPacketReader
{
    /// <summary>Bytes of the length field.</summary>
    public const int LengthFieldSize = 4;

    /// <summary>
    /// Tries to frame one packet at the start of <paramref name="buffer"/>. On success returns true, sets
    /// <paramref name="code"/> and <paramref name="payload"/> (a slice of the input) and advances
    /// <paramref name="buffer"/> past the packet. With fewer bytes than a whole packet it returns false
    /// and leaves <paramref name="buffer"/> unchanged (the caller reads more and retries).
    /// </summary>
    /// <param name="buffer">Unconsumed input.</param>
    /// <param name="maxPacketLength">Largest allowed value of the length field (bytes incl. the command byte).</param>
    /// <param name="code">The command/reply byte.</param>
    /// <param name="payload">The payload slice (length-1 bytes).</param>
    /// <exception cref="MilterProtocolException">The length field is 0 or exceeds <paramref name="maxPacketLength"/>;
    /// raised as soon as the 4 length bytes are present, before the payload arrives.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxPacketLength, out byte code, out ReadOnlySequence<byte> payload)
    {
        code = 0;
        payload = default;
        if (buffer.Length < LengthFieldSize) return false;

        uint length;
        var first = buffer.FirstSpan;
        if (first.Length >= LengthFieldSize)
        {
            length = BinaryPrimitives.ReadUInt32BigEndian(first);
        }
        else
        {
            Span<byte> tmp = stackalloc byte[LengthFieldSize];
            buffer.Slice(0, LengthFieldSize).CopyTo(tmp);
            length = BinaryPrimitives.ReadUInt32BigEndian(tmp);
        }

        if (length < 1)
            throw new MilterProtocolException($"bad packet length: {length}");
        if (length > (uint)maxPacketLength)
            throw new MilterProtocolException($"unreasonable packet length: {length} > {maxPacketLength}");
        if (buffer.Length < LengthFieldSize + (long)length) return false;

        var packet = buffer.Slice(LengthFieldSize, length);
        code = packet.FirstSpan.Length > 0 ? packet.FirstSpan[0] : packet.Slice(0, 1).ToArray()[0];
        payload = packet.Slice(1);
        buffer = buffer.Slice(packet.End);
        return true;
    }

    /// <summary>As <see cref="TryRead(ref ReadOnlySequence{byte}, int, out byte, out ReadOnlySequence{byte})"/>
    /// but copies the payload into a new array so it outlives the buffer.</summary>
    /// <exception cref="MilterProtocolException">See the other overload.</exception>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, int maxPacketLength, out MilterPacket packet)
    {
        if (!TryRead(ref buffer, maxPacketLength, out var code, out var payload))
        {
            packet = default;
            return false;
        }
        packet = new MilterPacket(code, payload.IsEmpty ? ReadOnlyMemory<byte>.Empty : payload.ToArray());
        return true;
    }
}
