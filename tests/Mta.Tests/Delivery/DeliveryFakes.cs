// Test doubles for delivery: a scripted SMTP/LMTP peer that accepts several connections (TCP on a chosen
// loopback address, or a UNIX socket), a fake IDnsLookup, and helpers to build envelopes and content.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.Delivery;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;

namespace Mta.Tests.Delivery;

public sealed class Peer(Stream stream)
{
    private readonly List<byte> _pending = [];
    private readonly byte[] _buf = new byte[8192];
    public Stream Stream { get; set; } = stream;
    public List<string> Lines { get; } = [];

    public async Task SendAsync(string text)
    {
        await Stream.WriteAsync(Encoding.UTF8.GetBytes(text.Replace("\r\n", "\n").Replace("\n", "\r\n")));
        await Stream.FlushAsync();
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
                Lines.Add(line);
                return line;
            }
            int n = await Stream.ReadAsync(_buf);
            if (n == 0) return null;
            _pending.AddRange(_buf.AsSpan(0, n).ToArray());
        }
    }

    public async Task<string> ReadDataAsync()
    {
        while (true)
        {
            var s = Encoding.UTF8.GetString(_pending.ToArray());
            if (s.StartsWith(".\r\n", StringComparison.Ordinal)) { _pending.RemoveRange(0, 3); return ""; }   // empty message
            int end = s.IndexOf("\r\n.\r\n", StringComparison.Ordinal);
            if (end >= 0) { _pending.RemoveRange(0, end + 5); return s[..(end + 2)]; }
            int n = await Stream.ReadAsync(_buf);
            if (n == 0) throw new EndOfStreamException();
            _pending.AddRange(_buf.AsSpan(0, n).ToArray());
        }
    }

    /// <summary>A permissive SMTP server: answers EHLO with <paramref name="ehlo"/> keywords, every RCPT via <paramref name="rcpt"/>, and the final reply(ies).</summary>
    public async Task ServeAsync(string ehlo = "PIPELINING", Func<string, string>? rcpt = null, Func<IReadOnlyList<string>, string>? final = null, bool lmtp = false)
    {
        await SendAsync("220 fake ESMTP\r\n");
        var accepted = new List<string>();
        while (await ReadLineAsync() is { } line)
        {
            var verb = line.Split(' ')[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO" or "LHLO":
                    await SendAsync("250-fake\r\n" + string.Concat(ehlo.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(k => "250-" + k.Trim() + "\r\n")) + "250 ENHANCEDSTATUSCODES\r\n");
                    break;
                case "MAIL": accepted.Clear(); await SendAsync("250 2.1.0 Ok\r\n"); break;
                case "RCPT":
                {
                    var addr = line[(line.IndexOf('<') + 1)..line.IndexOf('>')];
                    var r = rcpt?.Invoke(addr) ?? "250 2.1.5 Ok";
                    if (r.StartsWith('2')) accepted.Add(addr);
                    await SendAsync(r + "\r\n");
                    break;
                }
                case "DATA":
                    await SendAsync("354 go\r\n");
                    Data.Add(await ReadDataAsync());
                    await SendAsync((final?.Invoke(accepted) ?? (lmtp ? string.Join("\r\n", accepted.Select(a => $"250 2.0.0 <{a}> saved")) : "250 2.0.0 Ok: queued as FAKE1")) + "\r\n");
                    break;
                case "QUIT": await SendAsync("221 2.0.0 Bye\r\n"); return;
                case "RSET" or "NOOP": await SendAsync("250 2.0.0 Ok\r\n"); break;
                default: await SendAsync("502 5.5.2 Error: command not recognized\r\n"); break;
            }
        }
    }

    public List<string> Data { get; } = [];
}

/// <summary>Accepts any number of connections; connection i runs script(i, peer).</summary>
public sealed class ScriptedServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _sessions = [];
    private readonly Task _acceptLoop;
    public List<Peer> Peers { get; } = [];

    public ScriptedServer(Func<int, Peer, Task> script, IPAddress? address = null, int port = 0, string? unixPath = null)
    {
        if (unixPath != null)
        {
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(unixPath));
        }
        else
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(address ?? IPAddress.Loopback, port));
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        }
        _listener.Listen(16);
        _acceptLoop = AcceptAsync(script);
    }

    public int Port { get; }
    public int Connections { get; private set; }

    private async Task AcceptAsync(Func<int, Peer, Task> script)
    {
        try
        {
            while (true)
            {
                var s = await _listener.AcceptAsync(_stop.Token);
                var peer = new Peer(new NetworkStream(s, true));
                int index = Connections++;
                lock (Peers) Peers.Add(peer);
                _sessions.Add(Task.Run(async () =>
                {
                    try { await script(index, peer); }
                    catch (Exception) { }
                    finally { await peer.Stream.DisposeAsync(); }
                }));
            }
        }
        catch (Exception) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        await _acceptLoop;
        try { await Task.WhenAll(_sessions).WaitAsync(TimeSpan.FromSeconds(5)); } catch { }
    }
}

public sealed class FakeDns : IDnsLookup
{
    public Dictionary<string, DnsLookupResult<MxHost>> Mx { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, DnsLookupResult<IPAddress>> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public List<string> Calls { get; } = [];

    public FakeDns WithMx(string domain, params (int Pref, string Host)[] mx)
    {
        Mx[domain] = new(DnsLookupStatus.Found, mx.Select(m => new MxHost(m.Pref, m.Host)).ToArray());
        return this;
    }

    public FakeDns WithHost(string host, params string[] ips)
    {
        Hosts[host] = new(DnsLookupStatus.Found, ips.Select(IPAddress.Parse).ToArray());
        return this;
    }

    public Task<DnsLookupResult<MxHost>> LookupMxAsync(string domain, CancellationToken cancellationToken)
    {
        lock (Calls) Calls.Add("MX " + domain);
        return Task.FromResult(Mx.TryGetValue(domain, out var r) ? r : new DnsLookupResult<MxHost>(DnsLookupStatus.NotFound, []));
    }

    public Task<DnsLookupResult<IPAddress>> LookupAddressesAsync(string host, CancellationToken cancellationToken)
    {
        lock (Calls) Calls.Add("A " + host);
        return Task.FromResult(Hosts.TryGetValue(host, out var r) ? r : new DnsLookupResult<IPAddress>(DnsLookupStatus.NotFound, []));
    }
}

public static class Msg
{
    public static EnvelopeRecipient R(string addr)
    {
        int at = addr.LastIndexOf('@');
        return new EnvelopeRecipient(at < 0 ? new SmtpPath(addr, "") : new SmtpPath(addr[..at], addr[(at + 1)..]));
    }

    public static MessageEnvelope Envelope(params EnvelopeRecipient[] rcpts) => new()
    {
        QueueId = "4FQX1Z2K3M",
        Sender = new SmtpPath("alice", "example.org"),
        Recipients = rcpts,
        ArrivalTime = DateTimeOffset.UtcNow,
    };

    public static MessageContent Content(string text = "Subject: test\r\n\r\nbody\r\n")
    {
        var spool = new MessageSpool(1 << 20, Path.GetTempPath());
        spool.Write(Encoding.UTF8.GetBytes(text));
        return new MessageContent(Encoding.ASCII.GetBytes("Received: by test\r\n"), spool);
    }

    public static DeliveryRequest Request(NextHop hop, params string[] rcpts)
    {
        var r = rcpts.Select(R).ToArray();
        return new DeliveryRequest(Envelope(r), hop, r, Content());
    }
}
