// Framing of inbound packets: whole, one byte at a time, split across segments, bad lengths.
using System.Buffers;
using Mta.Milter.Protocol;
using Mta.Milter.Tests.Support;

namespace Mta.Milter.Tests.Protocol;

public class PacketReaderTests
{
    private static readonly byte[] Two = FakeMilter.Cat(
        [0, 0, 0, 1, (byte)'c'],
        [0, 0, 0, 6, (byte)'h', (byte)'X', 0, (byte)'y', (byte)'z', 0]);

    [Fact]
    public void Reads_consecutive_packets()
    {
        var seq = new ReadOnlySequence<byte>(Two);
        Assert.True(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket a));
        Assert.Equal((byte)'c', a.Code);
        Assert.True(a.Payload.IsEmpty);
        Assert.True(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket b));
        Assert.Equal((byte)'h', b.Code);
        Assert.Equal(new byte[] { (byte)'X', 0, (byte)'y', (byte)'z', 0 }, b.Payload.ToArray());
        Assert.True(seq.IsEmpty);
        Assert.False(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket _));
    }

    [Fact]
    public void Every_prefix_needs_more_data_and_never_throws()
    {
        for (int n = 0; n < 5; n++)
        {
            var seq = new ReadOnlySequence<byte>(Two, 0, n);
            Assert.False(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket _));
            Assert.Equal(n, seq.Length);
        }
        for (int n = 5 + 0; n < Two.Length; n++)
        {
            var seq = new ReadOnlySequence<byte>(Two, 5, n - 5);
            Assert.False(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket _));
        }
    }

    [Fact]
    public void One_segment_per_byte()
    {
        var seq = Segmented(Two, 1);
        Assert.True(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket a));
        Assert.Equal((byte)'c', a.Code);
        Assert.True(MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket b));
        Assert.Equal(5, b.Payload.Length);
    }

    [Fact]
    public async Task Client_reads_reply_fed_one_byte_at_a_time()
    {
        var (client, milter) = await FakeMilter.StartAsync();
        var t = client.ConnectEventAsync("h", MilterAddressFamily.Inet, 1, "1.2.3.4");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C');
        var reply = FakeMilter.Packet('y', FakeMilter.Z("550 5.7.1 no"));
        foreach (var b in reply)
        {
            Assert.False(t.IsCompleted);
            await milter.SendRawAsync([b]);
            await Task.Yield();
        }
        var r = await t;
        Assert.Equal(MilterAction.ReplyCode, r.Action);
        Assert.Equal("550 5.7.1 no", r.ReplyText);
    }

    [Fact]
    public void Zero_length_is_an_error()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0, 0 });
        var ex = Assert.Throws<MilterProtocolException>(() => MilterPacketReader.TryRead(ref seq, 1000, out MilterPacket _));
        Assert.Contains("bad packet length", ex.Message);
    }

    [Fact]
    public void Oversize_length_fails_before_the_payload_arrives()
    {
        var seq = new ReadOnlySequence<byte>(new byte[] { 0, 0, 0x10, 0x01 });
        var ex = Assert.Throws<MilterProtocolException>(() => MilterPacketReader.TryRead(ref seq, 4096, out MilterPacket _));
        Assert.Contains("unreasonable packet length", ex.Message);
        var huge = new ReadOnlySequence<byte>(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF });
        Assert.Throws<MilterProtocolException>(() => MilterPacketReader.TryRead(ref huge, int.MaxValue, out MilterPacket _));
    }

    [Fact]
    public void Length_equal_to_limit_is_accepted()
    {
        var bytes = FakeMilter.Packet('b', new byte[99]);
        var seq = new ReadOnlySequence<byte>(bytes);
        Assert.True(MilterPacketReader.TryRead(ref seq, 100, out MilterPacket p));
        Assert.Equal(99, p.Payload.Length);
    }

    internal static ReadOnlySequence<byte> Segmented(byte[] data, int size)
    {
        Segment? first = null, last = null;
        for (int i = 0; i < data.Length; i += size)
        {
            var mem = data.AsMemory(i, Math.Min(size, data.Length - i));
            if (first is null) first = last = new Segment(mem, 0);
            else last = last!.Append(mem);
        }
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long index)
        {
            Memory = memory;
            RunningIndex = index;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var s = new Segment(memory, RunningIndex + Memory.Length);
            Next = s;
            return s;
        }
    }
}
