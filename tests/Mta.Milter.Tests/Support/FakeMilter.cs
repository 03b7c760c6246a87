// FakeMilter: an in-memory scripted milter peer for MilterClient tests. Two Pipes form the connection;
// the test reads the client's packets, asserts on them and writes replies. ClientWaits counts the client's blocking
// reads so a test can tell when the client is waiting (deterministic fake-time timeouts).
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Mta.Milter;
using Mta.Milter.Protocol;

namespace Mta.Milter.Tests.Support;

public sealed class FakeMilter
{
    private readonly Pipe _toMilter;
    private readonly Pipe _toClient;
    private readonly ObservedReader _clientInput;

    public FakeMilter(long pauseWriterThreshold = 0)
    {
        _toMilter = new Pipe(new PipeOptions(pauseWriterThreshold: pauseWriterThreshold, resumeWriterThreshold: pauseWriterThreshold / 2, useSynchronizationContext: false));
        _toClient = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        _clientInput = new ObservedReader(_toClient.Reader);
        ClientTransport = new Duplex(_clientInput, _toMilter.Writer);
    }

    public IDuplexPipe ClientTransport { get; }
    /// <summary>How many times the client has blocked in ReadAsync waiting for a reply.</summary>
    public int ClientWaits => _clientInput.Waits;

    /// <summary>Waits (real time, bounded) until the client blocks in ReadAsync for the (<paramref name="waits"/>+1)-th time.</summary>
    public async Task WaitForClientWaitAsync(int waits)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (_clientInput.Waits <= waits)
        {
            if (DateTime.UtcNow > until) throw new TimeoutException("client never started reading");
            await Task.Delay(1);
        }
    }

    /// <summary>Reads the next packet the client sent (bounded by 10 s real time).</summary>
    public async Task<MilterPacket> ReadAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var reader = _toMilter.Reader;
        while (true)
        {
            var result = await reader.ReadAsync(cts.Token);
            var buffer = result.Buffer;
            if (MilterPacketReader.TryRead(ref buffer, int.MaxValue, out MilterPacket packet))
            {
                reader.AdvanceTo(buffer.Start);
                return packet;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted) throw new EndOfStreamException("client closed the connection");
        }
    }

    /// <summary>Reads a packet and checks its code (and payload if given).</summary>
    public async Task<MilterPacket> ExpectAsync(char code, byte[]? payload = null)
    {
        var p = await ReadAsync();
        Assert.Equal(code, (char)p.Code);
        if (payload is not null) Assert.Equal(payload, p.Payload.ToArray());
        return p;
    }

    /// <summary>All complete packets already written by the client, without waiting.</summary>
    public List<MilterPacket> Drain()
    {
        var list = new List<MilterPacket>();
        var reader = _toMilter.Reader;
        if (!reader.TryRead(out var result)) return list;
        var buffer = result.Buffer;
        while (MilterPacketReader.TryRead(ref buffer, int.MaxValue, out MilterPacket p)) list.Add(p);
        reader.AdvanceTo(buffer.Start, buffer.End);
        return list;
    }

    /// <summary>True when the client completed (closed) its output.</summary>
    public bool ClientClosed()
    {
        if (!_toMilter.Reader.TryRead(out var result)) return false;
        bool done = result.IsCompleted && result.Buffer.IsEmpty;
        _toMilter.Reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return done;
    }

    public async Task SendAsync(char code, params byte[] payload) => await SendRawAsync(Packet(code, payload));

    public async Task SendRawAsync(byte[] bytes)
    {
        await _toClient.Writer.WriteAsync(bytes);
    }

    public void CloseFromMilter() => _toClient.Writer.Complete();

    /// <summary>Answers the client's OPTNEG.</summary>
    public async Task<MilterPacket> NegotiateAsync(uint version, uint actions, uint protocol, byte[]? macroLists = null)
    {
        var o = await ExpectAsync('O');
        var payload = new List<byte>();
        payload.AddRange(U32(version));
        payload.AddRange(U32(actions));
        payload.AddRange(U32(protocol));
        if (macroLists is not null) payload.AddRange(macroLists);
        await SendAsync('O', [.. payload]);
        return o;
    }

    /// <summary>Creates a client over a fresh fake milter and negotiates.</summary>
    public static async Task<(MilterClient Client, FakeMilter Milter)> StartAsync(uint version = 6, uint actions = 0x1FF,
        uint protocol = 0, MilterClientOptions? options = null, byte[]? macroLists = null, long pauseWriterThreshold = 0)
    {
        var milter = new FakeMilter(pauseWriterThreshold);
        var client = new MilterClient(options ?? new MilterClientOptions { TimeProvider = new FakeTimeProvider() });
        var connect = client.ConnectAsync(milter.ClientTransport);
        await milter.NegotiateAsync(version, actions, protocol, macroLists);
        await connect;
        return (client, milter);
    }

    public static byte[] Packet(char code, params byte[] payload)
    {
        var b = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(b, (uint)(payload.Length + 1));
        b[4] = (byte)code;
        payload.CopyTo(b, 5);
        return b;
    }

    public static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    /// <summary>NUL-terminated strings concatenated.</summary>
    public static byte[] Z(params string[] strings)
    {
        var list = new List<byte>();
        foreach (var s in strings)
        {
            list.AddRange(Encoding.UTF8.GetBytes(s));
            list.Add(0);
        }
        return [.. list];
    }

    public static byte[] Cat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    private sealed class ObservedReader(PipeReader inner) : PipeReader
    {
        private int _waits;
        public int Waits => Volatile.Read(ref _waits);
        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);
        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);
        public override void CancelPendingRead() => inner.CancelPendingRead();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var t = inner.ReadAsync(cancellationToken);
            if (!t.IsCompleted) Interlocked.Increment(ref _waits);
            return t;
        }
        public override bool TryRead(out ReadResult result) => inner.TryRead(out result);
    }
}
