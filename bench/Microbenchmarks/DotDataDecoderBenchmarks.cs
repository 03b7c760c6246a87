// DotDataDecoder over a whole DATA body as smtp-source sends it (78-byte lines, some dot-stuffed),
// 4 KiB and 50 KiB as in the load runs, in one segment and in 4 KiB segments (what the socket reader
// hands over), into an in-memory MessageSpool.
using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mta.Smtp.Content;
using Mta.Smtp.Server;

namespace Mta.Microbenchmarks;

[MemoryDiagnoser]
[BenchmarkCategory("DATA reader")]
public class DotDataDecoderBenchmarks
{
    private ReadOnlySequence<byte> _whole;
    private ReadOnlySequence<byte> _segmented;

    [Params(4096, 51200)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder();
        sb.Append("From: <sender@bench.test>\r\nTo: <recipient@bench.test>\r\nSubject: bench\r\n\r\n");
        int n = 0;
        while (sb.Length < BodyBytes)
        {
            // Every 16th line starts with a dot, so the unstuffing path is exercised.
            sb.Append(n++ % 16 == 0 ? ".." : "").Append(new string('x', 76)).Append("\r\n");
        }
        sb.Append(".\r\n");
        var bytes = Encoding.ASCII.GetBytes(sb.ToString());
        _whole = new ReadOnlySequence<byte>(bytes);
        _segmented = Segments.Of(bytes, 4096);
    }

    [Benchmark(Baseline = true)]
    public long OneSegment() => Decode(_whole);

    [Benchmark]
    public long FourKiBSegments() => Decode(_segmented);

    private long Decode(ReadOnlySequence<byte> input)
    {
        using var spool = new MessageSpool(1 << 20, Path.GetTempPath());
        var decoder = new DotDataDecoder(spool, 10_240_000);
        var reader = new SequenceReader<byte>(input);
        if (!decoder.Decode(ref reader)) throw new InvalidOperationException("end of data not found");
        return decoder.ContentLength;
    }

    private sealed class Segments : ReadOnlySequenceSegment<byte>
    {
        private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Of(byte[] bytes, int size)
        {
            Segments? first = null, last = null;
            for (int off = 0; off < bytes.Length; off += size)
            {
                var s = new Segments(bytes.AsMemory(off, Math.Min(size, bytes.Length - off)), off);
                if (last == null) first = s; else last.Next = s;
                last = s;
            }
            return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
        }
    }
}
