// BrokenMilterPeer: owns a "milter" endpoint that misbehaves, in-process on 127.0.0.1:PORT, for the
// failure-mode tests: Down (a port on which nothing listens: connections are refused), Hang (accepts,
// reads whatever comes, never answers), Garbage (answers the first packet with bytes that are not a
// milter packet: an HTTP status line, whose first four bytes read as a length of ~1.2 GB) and BadReply
// (answers with a well-framed packet of an unknown reply code 'Z'). It counts connections so a test can
// tell that the MTA really tried. Nothing is started for Down.
using System.Net;
using System.Net.Sockets;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>How the broken milter misbehaves.</summary>
public enum BrokenMilterMode
{
    /// <summary>Nothing listens on the port.</summary>
    Down,
    /// <summary>Accepts and never answers.</summary>
    Hang,
    /// <summary>Answers with "HTTP/1.0 400 Bad Request" (not a milter packet).</summary>
    Garbage,
    /// <summary>Answers with a framed packet of unknown code 'Z'.</summary>
    BadReply,
}

/// <summary>A misbehaving milter endpoint.</summary>
public sealed class BrokenMilterPeer : IPeer
{
    private readonly TcpListener? _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];
    private readonly Lock _gate = new();
    private readonly List<string> _log = [];
    private Task? _acceptLoop;
    private int _connections;

    private BrokenMilterPeer(BrokenMilterMode mode, int port)
    {
        Mode = mode;
        Port = port;
        if (mode != BrokenMilterMode.Down)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
        }
    }

    /// <summary>The misbehaviour.</summary>
    public BrokenMilterMode Mode { get; }

    /// <summary>Port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The smtpd_milters entry.</summary>
    public string Endpoint => $"inet:127.0.0.1:{Port}";

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <inheritdoc />
    public string Name => $"broken milter ({Mode}) 127.0.0.1:{Port}";

    /// <summary>Starts listening (unless Down).</summary>
    public static BrokenMilterPeer Start(BrokenMilterMode mode)
    {
        var peer = new BrokenMilterPeer(mode, PortAllocator.Next());
        if (peer._listener is not null)
        {
            peer._listener.Start();
            peer._acceptLoop = peer.AcceptLoopAsync();
        }
        return peer;
    }

    private void Log(string line)
    {
        lock (_gate)
        {
            _log.Add($"{DateTime.Now:HH:mm:ss.fff} {line}");
        }
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener!.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                lock (_gate)
                {
                    _clients.Add(client);
                }
                Log($"accepted connection {Connections}");
                _ = ServeAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        var buffer = new byte[65536];
        try
        {
            var stream = client.GetStream();
            var answered = false;
            while (!_stop.IsCancellationRequested)
            {
                var n = await stream.ReadAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    Log("peer closed");
                    return;
                }
                Log($"read {n} bytes, first packet code '{(n > 4 ? (char)buffer[4] : '?')}'");
                if (answered)
                {
                    continue;
                }
                answered = true;
                switch (Mode)
                {
                    case BrokenMilterMode.Garbage:
                        await stream.WriteAsync("HTTP/1.0 400 Bad Request\r\n\r\n"u8.ToArray(), _stop.Token);
                        Log("sent garbage");
                        break;
                    case BrokenMilterMode.BadReply:
                        await stream.WriteAsync(new byte[] { 0, 0, 0, 1, (byte)'Z' }, _stop.Token);
                        Log("sent reply code Z");
                        break;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
        }
    }

    /// <inheritdoc />
    public string DescribeLogs()
    {
        lock (_gate)
        {
            return $"{Connections} connection(s)\n" + string.Join('\n', _log);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener?.Stop();
        lock (_gate)
        {
            foreach (var c in _clients)
            {
                c.Dispose();
            }
        }
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }
        _stop.Dispose();
    }
}
