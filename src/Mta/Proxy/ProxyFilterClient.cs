// ProxyFilterClient: one SMTP transaction towards a before-queue content filter (Postfix smtpd_proxy,
// SMTPD_PROXY_README). No pipelining: banner, EHLO, XFORWARD (only announced attributes), MAIL, RCPT...,
// DATA, dot-stuffed content, ".", QUIT. The filter's refusals are returned as they came; every internal
// trouble (connect, banner, EHLO, XFORWARD, an unexpected 2xx/3xx, I/O, timeout) becomes
// "451 4.3.0 Error: queue file write error" with the detail in Failure (Postfix smtpd_proxy.c).
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.Smtp.Client;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Proxy;

/// <summary>Where and how to reach the filter (one listener's smtpd_proxy_* settings).</summary>
/// <param name="EndPoint">TCP (inet:host:port, host:port) or UNIX (unix:/path) endpoint.</param>
/// <param name="Ehlo">smtpd_proxy_ehlo.</param>
/// <param name="Timeout">smtpd_proxy_timeout: connect and every reply.</param>
/// <param name="SpeedAdjust">smtpd_proxy_options = speed_adjust: contact the filter after the whole message.</param>
public sealed record ProxyFilterSettings(EndPoint EndPoint, string Ehlo, TimeSpan Timeout, bool SpeedAdjust)
{
    /// <summary>The settings for <paramref name="options"/>, or null when smtpd_proxy_filter is empty.</summary>
    /// <exception cref="FormatException">an endpoint that is not host:port, inet:host:port or unix:/path.</exception>
    public static ProxyFilterSettings? From(ProxyOptions options)
    {
        var spec = options.Filter.Trim();
        if (spec.Length == 0) return null;
        return new ProxyFilterSettings(ParseEndPoint(spec), options.Ehlo, options.Timeout, options.SpeedAdjust);
    }

    /// <summary>Parses inet:host:port, host:port, [v6]:port or unix:/path (a host name is resolved at connect).</summary>
    /// <exception cref="FormatException">anything else.</exception>
    public static EndPoint ParseEndPoint(string spec)
    {
        if (spec.StartsWith("unix:", StringComparison.OrdinalIgnoreCase)) return new UnixDomainSocketEndPoint(spec[5..]);
        var s = spec.StartsWith("inet:", StringComparison.OrdinalIgnoreCase) ? spec[5..] : spec;
        if (IPEndPoint.TryParse(s, out var ip) && ip.Port > 0 && s.Contains(':')) return ip;
        int colon = s.LastIndexOf(':');
        if (colon > 0 && int.TryParse(s[(colon + 1)..], out int port) && port is > 0 and < 65536)
            return new DnsEndPoint(s[..colon].Trim('[', ']'), port);
        throw new FormatException($"smtpd_proxy_filter: \"{spec}\" is not host:port, inet:host:port or unix:/path");
    }
}

/// <summary>The client facts sent with XFORWARD (Postfix XFORWARD_README).</summary>
public sealed record XforwardFacts(string? Name, IPAddress? Address, int? Port, string? Proto, string? Helo, string? Ident, string Source = "REMOTE")
{
    /// <summary>
    /// The XFORWARD command lines for the attributes the filter announced, in Postfix's order (NAME ADDR PORT
    /// PROTO HELO IDENT SOURCE); values xtext-encoded, <c>[UNAVAILABLE]</c> when unknown, IPv6 addresses
    /// prefixed <c>IPV6:</c>; packed so that each line stays within 512 bytes with CRLF.
    /// </summary>
    public IReadOnlyList<string> Commands(IReadOnlySet<string> announced)
    {
        var attrs = new List<string>();
        void Add(string name, string? value)
        {
            if (!announced.Contains(name)) return;
            attrs.Add(name + "=" + (string.IsNullOrEmpty(value) ? "[UNAVAILABLE]" : Smtp.Envelope.Xtext.Encode(value)));
        }
        Add("NAME", Name);
        Add("ADDR", Address is null ? null : Address.AddressFamily == AddressFamily.InterNetworkV6 && !Address.IsIPv4MappedToIPv6 ? "IPV6:" + Address : (Address.IsIPv4MappedToIPv6 ? Address.MapToIPv4() : Address).ToString());
        Add("PORT", Port?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("PROTO", Proto);
        Add("HELO", Helo);
        Add("IDENT", Ident);
        Add("SOURCE", Source);
        var lines = new List<string>();
        var line = new StringBuilder();
        foreach (var a in attrs)
        {
            if (line.Length > 0 && line.Length + 1 + a.Length + 2 > 512) { lines.Add(line.ToString()); line.Clear(); }
            line.Append(line.Length == 0 ? "XFORWARD " : " ").Append(a);
        }
        if (line.Length > 0) lines.Add(line.ToString());
        return lines;
    }
}

/// <summary>Thrown inside the client for internal trouble; mapped to the 451 4.3.0 mask.</summary>
internal sealed class ProxyFailure(string message) : Exception(message);

/// <summary>One connection to the filter for one mail transaction. Not thread-safe.</summary>
public sealed class ProxyFilterClient : IAsyncDisposable
{
    /// <summary>Postfix's reply for every internal trouble with the filter (details are only logged).</summary>
    public static SmtpReply Masked { get; } = new(451, "4.3.0", "Error: queue file write error");

    private readonly ProxyFilterSettings _settings;
    private Socket? _socket;
    private NetworkStream? _stream;
    private SmtpReplyReader? _reader;
    private bool _inData;

    private ProxyFilterClient(ProxyFilterSettings settings) => _settings = settings;

    /// <summary>What went wrong internally the last time <see cref="Masked"/> was returned (for the log).</summary>
    public string? Failure { get; private set; }

    /// <summary>The filter's EHLO capabilities.</summary>
    public SmtpCapabilities Capabilities { get; private set; } = SmtpCapabilities.None;

    /// <summary>True once the connection is unusable (after a masked failure or a refused MAIL).</summary>
    public bool Broken { get; private set; }

    /// <summary>
    /// Connects, reads the banner, sends EHLO, XFORWARD (if announced) and <paramref name="mailLine"/>.
    /// Returns the client (to continue with RCPT) or null and the reply to give the SMTP client: the filter's
    /// own non-2xx reply to MAIL, or <see cref="Masked"/> (then the third value says why).
    /// </summary>
    public static async Task<(ProxyFilterClient? Client, SmtpReply? Refusal, string? Failure)> OpenAsync(
        ProxyFilterSettings settings, XforwardFacts facts, string mailLine, CancellationToken cancellationToken)
    {
        var c = new ProxyFilterClient(settings);
        try
        {
            using (var cts = Step(settings, cancellationToken))
            {
                var socket = settings.EndPoint is UnixDomainSocketEndPoint
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(SocketType.Stream, ProtocolType.Tcp);
                c._socket = socket;
                try { await socket.ConnectAsync(settings.EndPoint, cts.Token).ConfigureAwait(false); }
                catch (SocketException e) { throw new ProxyFailure($"connect to proxy filter {settings.EndPoint}: {e.Message}"); }
                if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
                c._stream = new NetworkStream(socket, ownsSocket: false);
                c._reader = new SmtpReplyReader(c._stream);
            }
            var banner = await c.ReadAsync(SmtpClientStage.Greeting, cancellationToken).ConfigureAwait(false);
            if (banner.Code != 220) throw new ProxyFailure($"proxy filter banner: {banner}");
            var ehlo = await c.CommandAsync("EHLO " + settings.Ehlo, SmtpClientStage.Hello, cancellationToken).ConfigureAwait(false);
            if (!ehlo.IsPositive) throw new ProxyFailure($"proxy filter EHLO: {ehlo}");
            c.Capabilities = SmtpCapabilities.Parse(ehlo);
            c._reader!.EnhancedStatusCodes = c.Capabilities.Supports(SmtpExtensions.EnhancedStatusCodes);
            if (c.Capabilities.Supports(SmtpExtensions.Xforward))
            {
                foreach (var line in facts.Commands(c.Capabilities.XforwardAttributes))
                {
                    var r = await c.CommandAsync(line, SmtpClientStage.MailFrom, cancellationToken).ConfigureAwait(false);
                    if (r.Code != 250) throw new ProxyFailure($"proxy filter {line}: {r}");
                }
            }
            var mail = await c.CommandAsync(mailLine, SmtpClientStage.MailFrom, cancellationToken).ConfigureAwait(false);
            if (mail.IsPositive) return (c, null, null);
            if (mail.IsIntermediate) throw new ProxyFailure($"proxy filter MAIL: unexpected {mail}");
            await c.DisposeAsync().ConfigureAwait(false);
            return (null, mail, null);
        }
        catch (Exception e) when (e is ProxyFailure or SmtpProtocolException or IOException or SocketException or OperationCanceledException)
        {
            await c.DisposeAsync().ConfigureAwait(false);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
            return (null, Masked, Describe(e, settings));
        }
    }

    /// <summary>Sends one RCPT line. Null = accepted; else the filter's 4xx/5xx, or <see cref="Masked"/>.</summary>
    public Task<SmtpReply?> RcptAsync(string rcptLine, CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            var r = await CommandAsync(rcptLine, SmtpClientStage.RcptTo, cancellationToken).ConfigureAwait(false);
            if (r.IsPositive) return null;
            if (r.IsIntermediate) throw new ProxyFailure($"proxy filter RCPT: unexpected {r}");
            return r;
        }, cancellationToken);

    /// <summary>Sends DATA. Null = 354 received; else the filter's 4xx/5xx, or <see cref="Masked"/>.</summary>
    public Task<SmtpReply?> DataCommandAsync(CancellationToken cancellationToken) =>
        GuardAsync(async () =>
        {
            var r = await CommandAsync("DATA", SmtpClientStage.Data, cancellationToken).ConfigureAwait(false);
            if (r.IsIntermediate) { _inData = true; return null; }
            if (r.IsPositive) throw new ProxyFailure($"proxy filter DATA: unexpected {r}");
            Broken = true;
            return r;
        }, cancellationToken);

    /// <summary>
    /// Sends the content (dot-stuffed) and the final dot, then QUIT. Returns the filter's end-of-data reply
    /// as it came (2xx, 4xx or 5xx), or <see cref="Masked"/>. Sends DATA first when it was not sent yet.
    /// </summary>
    public async Task<SmtpReply> SendMessageAsync(MessageContent content, CancellationToken cancellationToken)
    {
        if (!_inData && await DataCommandAsync(cancellationToken).ConfigureAwait(false) is { } refused) return refused;
        var reply = await GuardAsync(async () =>
        {
            using (var cts = Step(_settings, cancellationToken))
            {
                await using var source = content.OpenRead();
                await WriteStuffedAsync(source, _stream!, cts.Token).ConfigureAwait(false);
            }
            var r = await ReadAsync(SmtpClientStage.EndOfData, cancellationToken).ConfigureAwait(false);
            _inData = false;
            if (r.IsIntermediate) throw new ProxyFailure($"proxy filter end of data: unexpected {r}");
            return r;
        }, cancellationToken).ConfigureAwait(false);
        await QuitAsync().ConfigureAwait(false);
        return reply!;
    }

    /// <summary>Dot-stuffs <paramref name="source"/> (CRLF lines) onto <paramref name="target"/>, ensures a final CRLF and writes ".CRLF".</summary>
    internal static async Task WriteStuffedAsync(Stream source, Stream target, CancellationToken cancellationToken)
    {
        var input = new byte[64 * 1024];
        var output = new byte[2 * input.Length + 8];
        bool atLineStart = true, lastWasCr = false;
        int n;
        while ((n = await source.ReadAsync(input, cancellationToken).ConfigureAwait(false)) > 0)
        {
            int o = 0;
            for (int i = 0; i < n; i++)
            {
                byte b = input[i];
                if (atLineStart && b == (byte)'.') output[o++] = (byte)'.';
                if (b == (byte)'\n' && !lastWasCr) output[o++] = (byte)'\r';   // never let a bare LF through
                output[o++] = b;
                atLineStart = b == (byte)'\n';
                lastWasCr = b == (byte)'\r';
            }
            await target.WriteAsync(output.AsMemory(0, o), cancellationToken).ConfigureAwait(false);
        }
        var end = atLineStart ? ".\r\n"u8.ToArray() : lastWasCr ? "\n.\r\n"u8.ToArray() : "\r\n.\r\n"u8.ToArray();
        await target.WriteAsync(end, cancellationToken).ConfigureAwait(false);
        await target.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<SmtpReply?> GuardAsync(Func<Task<SmtpReply?>> step, CancellationToken cancellationToken)
    {
        if (Broken || _stream is null) { Failure ??= "proxy filter connection is not usable"; return Masked; }
        try { return await step().ConfigureAwait(false); }
        catch (Exception e) when (e is ProxyFailure or SmtpProtocolException or IOException or SocketException or OperationCanceledException)
        {
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested) throw;
            Broken = true;
            Failure = Describe(e, _settings);
            return Masked;
        }
    }

    private static string Describe(Exception e, ProxyFilterSettings settings) => e switch
    {
        OperationCanceledException => $"timeout after {settings.Timeout.TotalSeconds}s talking to proxy filter {settings.EndPoint}",
        _ => e.Message,
    };

    private static CancellationTokenSource Step(ProxyFilterSettings settings, CancellationToken outer)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        cts.CancelAfter(settings.Timeout);
        return cts;
    }

    private async Task<SmtpReply> ReadAsync(SmtpClientStage stage, CancellationToken cancellationToken)
    {
        using var cts = Step(_settings, cancellationToken);
        return await _reader!.ReadReplyAsync(stage, cts.Token).ConfigureAwait(false);
    }

    private async Task<SmtpReply> CommandAsync(string line, SmtpClientStage stage, CancellationToken cancellationToken)
    {
        using (var cts = Step(_settings, cancellationToken))
        {
            await _stream!.WriteAsync(Encoding.UTF8.GetBytes(line + "\r\n"), cts.Token).ConfigureAwait(false);
        }
        return await ReadAsync(stage, cancellationToken).ConfigureAwait(false);
    }

    private async Task QuitAsync()
    {
        if (_stream is null || Broken) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(Math.Min(5, _settings.Timeout.TotalSeconds)));
            await _stream.WriteAsync("QUIT\r\n"u8.ToArray(), cts.Token).ConfigureAwait(false);
            await _reader!.ReadReplyAsync(SmtpClientStage.Quit, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or OperationCanceledException) { }
        Broken = true;
    }

    /// <summary>Ends the transaction early: QUIT when not inside DATA (the filter forgets the transaction), then close.</summary>
    public async Task AbortAsync()
    {
        if (!_inData) await QuitAsync().ConfigureAwait(false);
        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the connection (an unfinished transaction is abandoned: the filter sees the connection drop).</summary>
    public async ValueTask DisposeAsync()
    {
        Broken = true;
        if (_stream != null) await _stream.DisposeAsync().ConfigureAwait(false);
        _socket?.Dispose();
        _stream = null;
        _socket = null;
    }
}
