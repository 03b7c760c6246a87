// FakeSmtpServer: an in-process scripted SMTP/LMTP peer on 127.0.0.1:0 for client tests. The test's
// script sends replies (whole, or one byte per write) and asserts every command line the client sends.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mta.Smtp.Tests.Client;

/// <summary>One accepted connection as the script sees it.</summary>
public sealed class FakePeer(Stream stream)
{
    private readonly List<byte> _pending = [];
    private readonly byte[] _buf = new byte[4096];

    /// <summary>Send every reply one byte per write (MailKit's SmtpResponseMode.Char).</summary>
    public bool ByteByByte { get; set; }

    /// <summary>Every line the client sent, in order (without CRLF); DATA content is not included.</summary>
    public List<string> Received { get; } = [];

    public Stream Stream { get; set; } = stream;

    public async Task SendAsync(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n").Replace("\n", "\r\n"));
        if (!ByteByByte) { await Stream.WriteAsync(bytes); await Stream.FlushAsync(); return; }
        foreach (var b in bytes) { await Stream.WriteAsync(new[] { b }); await Stream.FlushAsync(); }
    }

    public async Task<string?> ReadLineAsync()
    {
        while (true)
        {
            int idx = _pending.IndexOf((byte)'\n');
            if (idx >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, idx).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, idx + 1);
                Received.Add(line);
                return line;
            }
            int n = await Stream.ReadAsync(_buf);
            if (n == 0) return null;
            _pending.AddRange(_buf.AsSpan(0, n).ToArray());
        }
    }

    public async Task ExpectAsync(string line) => Assert.Equal(line, await ReadLineAsync());

    /// <summary>Reads exactly <paramref name="count"/> raw bytes (a BDAT chunk).</summary>
    public async Task<byte[]> ReadBytesAsync(int count)
    {
        while (_pending.Count < count)
        {
            int n = await Stream.ReadAsync(_buf);
            if (n == 0) throw new EndOfStreamException("client closed during BDAT");
            _pending.AddRange(_buf.AsSpan(0, n).ToArray());
        }
        var chunk = _pending.GetRange(0, count).ToArray();
        _pending.RemoveRange(0, count);
        return chunk;
    }

    /// <summary>Reads raw DATA content up to and including CRLF.CRLF.</summary>
    public async Task<string> ReadDataAsync()
    {
        while (true)
        {
            var s = Encoding.UTF8.GetString(_pending.ToArray());
            int end = s.StartsWith(".\r\n") ? 0 : s.IndexOf("\r\n.\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                int len = end == 0 && s.StartsWith(".\r\n") ? 3 : end + 5;
                _pending.RemoveRange(0, Encoding.UTF8.GetByteCount(s[..len]));
                return s[..len];
            }
            int n = await Stream.ReadAsync(_buf);
            if (n == 0) throw new EndOfStreamException("client closed during DATA");
            _pending.AddRange(_buf.AsSpan(0, n).ToArray());
        }
    }
}

/// <summary>Listens on 127.0.0.1:0, accepts one connection and runs the script on it.</summary>
public sealed class FakeSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private TcpClient? _accepted;

    public FakeSmtpServer(Func<FakePeer, Task> script)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Completion = RunAsync(script);
    }

    public int Port { get; }
    public Task Completion { get; }
    public FakePeer? Peer { get; private set; }

    private async Task RunAsync(Func<FakePeer, Task> script)
    {
        _accepted = await _listener.AcceptTcpClientAsync();
        Peer = new FakePeer(_accepted.GetStream());
        try { await script(Peer); }
        finally { _accepted.Close(); }
    }

    public async Task<Stream> ConnectAsync()
    {
        var c = new TcpClient();
        await c.ConnectAsync(IPAddress.Loopback, Port);
        return c.GetStream();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _accepted?.Close();
        try { await Completion.WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}
