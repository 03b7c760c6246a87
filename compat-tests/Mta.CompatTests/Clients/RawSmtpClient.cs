// RawSmtpClient: owns a byte-exact SMTP client for the tests that need input no real client would
// send (bare LF, <LF>.<CR><LF>, over-long lines, pipelined plaintext after STARTTLS, BDAT chunks
// split inside a CRLF) or timing no tool gives (an idle session, several connections held open, a
// client bound to another loopback source address). It sends exactly the bytes it is given, reads
// replies as RFC 5321 4.2 reply line groups (ddd- ... ddd SP), and records a transcript ("C:" sent,
// "S:" received, with control characters shown as <CR>, <LF>) that it writes to the test output as
// it goes. Every read has a deadline (default 30 s) so a server that never answers fails the test
// instead of hanging it. StartTlsAsync wraps the connection in an SslStream (any certificate is
// accepted: the MTA's is self-signed) and refuses to do so while unread plaintext is buffered.
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

namespace Mta.CompatTests.Clients;

/// <summary>One reply line group.</summary>
/// <param name="Code">The three-digit code.</param>
/// <param name="Lines">The lines without CRLF ("250-8BITMIME", "250 SMTPUTF8").</param>
/// <param name="Elapsed">Time from the client's connect to the last line of this reply.</param>
public sealed record RawReply(int Code, IReadOnlyList<string> Lines, TimeSpan Elapsed)
{
    /// <summary>The enhanced status code (RFC 3463) after the reply code of the last line, or null.</summary>
    public string? Enhanced
    {
        get
        {
            var text = Lines[^1].Length > 4 ? Lines[^1][4..] : "";
            var first = text.Split(' ')[0];
            var parts = first.Split('.');
            return parts.Length == 3 && parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit)) ? first : null;
        }
    }

    /// <summary>All lines joined with LF.</summary>
    public string Text => string.Join('\n', Lines);

    /// <summary>The text after the code of the last line ("2.0.0 Ok: delivered as X").</summary>
    public string LastText => Lines[^1].Length > 4 ? Lines[^1][4..] : "";

    /// <inheritdoc />
    public override string ToString() => Text;
}

/// <summary>A raw SMTP client connection.</summary>
public sealed class RawSmtpClient : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
    private readonly Socket _socket;
    private readonly Action<string> _log;
    private readonly Stopwatch _clock;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly List<string> _transcript = [];
    private Stream _stream;
    private int _start;
    private int _end;

    private RawSmtpClient(Socket socket, Action<string> log, string name, Stopwatch clock)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _log = log;
        Name = name;
        _clock = clock;
    }

    /// <summary>"client(127.0.0.3:40123->127.0.0.2:25)", used in the transcript.</summary>
    public string Name { get; }

    /// <summary>Time since the connection was opened.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Bytes received but not yet consumed as a reply.</summary>
    public int BufferedBytes => _end - _start;

    /// <summary>True after <see cref="StartTlsAsync"/> succeeded.</summary>
    public bool IsTls => _stream is SslStream;

    /// <summary>The transcript so far.</summary>
    public string Transcript => string.Join('\n', _transcript);

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/>, from <paramref name="localAddress"/> when given
    /// (any loopback address answers on Linux). Throws <see cref="SocketException"/> when refused.
    /// </summary>
    public static async Task<RawSmtpClient> ConnectAsync(string host, int port, Action<string> log, string? localAddress = null,
        TimeSpan? timeout = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (localAddress is not null)
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
            }
            using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
            var clock = Stopwatch.StartNew();
            await socket.ConnectAsync(IPAddress.Parse(host), port, cts.Token);
            var name = $"client({socket.LocalEndPoint}->{socket.RemoteEndPoint})";
            var client = new RawSmtpClient(socket, log, name, clock);
            client.Log("connected");
            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="data"/> (Latin-1, one byte per char) in one write, exactly as given.</summary>
    public Task SendAsync(string data) => SendAsync(Encoding.Latin1.GetBytes(data));

    /// <summary>Sends <paramref name="data"/> in one write.</summary>
    public async Task SendAsync(byte[] data)
    {
        var shown = Printable(Encoding.Latin1.GetString(data));
        Log("C: " + (shown.Length <= 800 ? shown : $"{shown[..400]} ...({data.Length} bytes)... {shown[^300..]}"));
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(data, cts.Token);
        await _stream.FlushAsync(cts.Token);
    }

    /// <summary>Sends "<paramref name="line"/>\r\n" and reads one reply.</summary>
    public async Task<RawReply> CommandAsync(string line, TimeSpan? timeout = null)
    {
        await SendAsync(line + "\r\n");
        return await ReadReplyAsync(timeout);
    }

    /// <summary>Reads one complete reply (all lines of a multi-line reply); throws when none arrives in time or the peer closes.</summary>
    public async Task<RawReply> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var lines = new List<string>();
        while (true)
        {
            var line = await ReadLineAsync(cts.Token);
            if (line is null)
            {
                throw new IOException($"{Name}: connection closed while waiting for a reply{(lines.Count > 0 ? " (after " + string.Join(" | ", lines) + ")" : "")}\n{Transcript}");
            }
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code) ||
                (line.Length > 3 && line[3] is not (' ' or '-')))
            {
                throw new InvalidDataException($"{Name}: not an SMTP reply line: {Printable(line)}\n{Transcript}");
            }
            lines.Add(line);
            if (line.Length == 3 || line[3] == ' ')
            {
                var reply = new RawReply(code, lines, _clock.Elapsed);
                Log("S: " + string.Join(" | ", lines));
                return reply;
            }
        }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the peer to close the connection (EOF or reset) without
    /// sending anything more. Returns true when it closed; false when it stayed open; throws when bytes arrived.
    /// </summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        if (BufferedBytes > 0)
        {
            throw new InvalidDataException($"{Name}: unread bytes while waiting for close: {Printable(Encoding.Latin1.GetString(_buffer, _start, BufferedBytes))}");
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            var n = await _stream.ReadAsync(_buffer.AsMemory(0, _buffer.Length), cts.Token);
            if (n == 0)
            {
                Log("closed by peer");
                return true;
            }
            _start = 0;
            _end = n;
            throw new InvalidDataException($"{Name}: expected the peer to close, but it sent: {Printable(Encoding.Latin1.GetString(_buffer, 0, n))}");
        }
        catch (OperationCanceledException)
        {
            Log($"still open after {timeout.TotalSeconds}s");
            return false;
        }
        catch (IOException e) when (e.InnerException is SocketException)
        {
            Log("reset by peer: " + e.InnerException.Message);
            return true;
        }
    }

    /// <summary>
    /// Checks that nothing more arrives within <paramref name="quiet"/> (the connection stays open and silent).
    /// Returns the unexpected bytes, or null when it stayed silent.
    /// </summary>
    public async Task<string?> UnexpectedInputAsync(TimeSpan quiet)
    {
        if (BufferedBytes > 0)
        {
            return Encoding.Latin1.GetString(_buffer, _start, BufferedBytes);
        }
        using var cts = new CancellationTokenSource(quiet);
        try
        {
            var n = await _stream.ReadAsync(_buffer.AsMemory(0, _buffer.Length), cts.Token);
            _start = 0;
            _end = n;
            var text = n == 0 ? "<EOF>" : Encoding.Latin1.GetString(_buffer, 0, n);
            Log("S (unexpected): " + Printable(text));
            return text;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// TLS handshake on the connection (after the server's 220 to STARTTLS), accepting any certificate.
    /// Throws when plaintext bytes are still buffered: they would have come before the handshake.
    /// </summary>
    public async Task StartTlsAsync(string targetHost = "localhost")
    {
        if (BufferedBytes > 0)
        {
            throw new InvalidDataException($"{Name}: plaintext after the 220 to STARTTLS: {Printable(Encoding.Latin1.GetString(_buffer, _start, BufferedBytes))}");
        }
        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = targetHost }, cts.Token);
        _stream = ssl;
        Log($"TLS handshake done: {ssl.SslProtocol} {ssl.NegotiatedCipherSuite}");
    }

    private async Task<string?> ReadLineAsync(CancellationToken token)
    {
        while (true)
        {
            var nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer, _start, nl - _start).TrimEnd('\r');
                _start = nl + 1;
                return line;
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length)
            {
                throw new InvalidDataException($"{Name}: reply line longer than {_buffer.Length} bytes");
            }
            int n;
            try
            {
                n = await _stream.ReadAsync(_buffer.AsMemory(_end), token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name}: no complete reply in time; partial input: {Printable(Encoding.Latin1.GetString(_buffer, _start, _end - _start))}\n{Transcript}");
            }
            catch (IOException e) when (e.InnerException is SocketException)
            {
                Log("reset by peer: " + e.InnerException.Message);
                n = 0;
            }
            if (n == 0)
            {
                if (_end > _start)
                {
                    var partial = Encoding.Latin1.GetString(_buffer, _start, _end - _start);
                    _start = _end;
                    Log("S (no line end before EOF): " + Printable(partial));
                }
                return null;
            }
            _end += n;
        }
    }

    private void Log(string line)
    {
        var entry = $"{_clock.Elapsed.TotalSeconds,7:F3} {Name} {line}";
        _transcript.Add(entry);
        _log(entry);
    }

    /// <summary>Shows CR, LF, TAB and other control bytes as &lt;CR&gt; etc. and shortens runs of one character.</summary>
    public static string Printable(string text)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var run = 1;
            while (i + run < text.Length && text[i + run] == text[i])
            {
                run++;
            }
            if (run > 16)
            {
                sb.Append(Show(text[i])).Append($"<x{run}>");
                i += run - 1;
                continue;
            }
            sb.Append(Show(text[i]));
        }
        return sb.ToString();
    }

    private static string Show(char c) => c switch
    {
        '\r' => "<CR>",
        '\n' => "<LF>",
        '\t' => "<TAB>",
        < ' ' or (> '~' and < '\u00a0') => $"<{(int)c:X2}>",
        _ => c.ToString(),
    };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _stream.DisposeAsync();
        }
        catch (IOException)
        {
        }
        _socket.Dispose();
    }
}
