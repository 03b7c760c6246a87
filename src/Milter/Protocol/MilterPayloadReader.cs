// MilterPayloadReader: field-level decoding of inbound packet payloads (u32, NUL-terminated strings,
// leftover-data check). Error texts follow Postfix milter8.c vmilter8_read_data.
using System.Buffers.Binary;
using System.Text;

namespace Mta.Milter.Protocol;

/// <summary>A cursor over one packet payload. Every malformed field throws <see cref="MilterProtocolException"/>.</summary>
public ref struct MilterPayloadReader
{
    private static readonly UTF8Encoding Utf8 = new(false, false);
    private ReadOnlySpan<byte> _rest;

    /// <summary>Starts at the beginning of <paramref name="payload"/>.</summary>
    public MilterPayloadReader(ReadOnlySpan<byte> payload) => _rest = payload;

    /// <summary>Bytes not yet consumed.</summary>
    public readonly int Remaining => _rest.Length;

    /// <summary>Reads a u32 in network byte order.</summary>
    /// <exception cref="MilterProtocolException">Fewer than 4 bytes left.</exception>
    public uint ReadUInt32()
    {
        if (_rest.Length < 4) throw new MilterProtocolException("input packet too short for network long");
        uint v = BinaryPrimitives.ReadUInt32BigEndian(_rest);
        _rest = _rest[4..];
        return v;
    }

    /// <summary>Reads a NUL-terminated string (UTF-8, invalid bytes replaced).</summary>
    /// <exception cref="MilterProtocolException">Nothing left, or no NUL before the end of the packet.</exception>
    public string ReadString()
    {
        if (_rest.IsEmpty) throw new MilterProtocolException("packet too short for string");
        int nul = _rest.IndexOf((byte)0);
        if (nul < 0) throw new MilterProtocolException("missing string null terminator");
        var s = Utf8.GetString(_rest[..nul]);
        _rest = _rest[(nul + 1)..];
        return s;
    }

    /// <summary>Throws when bytes are left over (Postfix: "left-over data").</summary>
    /// <exception cref="MilterProtocolException">Bytes remain.</exception>
    public readonly void EnsureEnd()
    {
        if (!_rest.IsEmpty) throw new MilterProtocolException($"left-over data {_rest.Length} bytes");
    }
}
