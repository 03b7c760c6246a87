// SmtpListenerService: binds smtpd_listen, accepts connections without a thread per connection,
// enforces smtpd_session_limit and smtpd_client_connection_count_limit, runs one SmtpServerSession per
// connection, and on stop lets sessions in flight finish within smtpd_shutdown_timeout.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Pipeline;
using Mta.Smtp.Server;

namespace Mta.Server;

/// <summary>The SMTP listener(s) of `mta serve`.</summary>
internal sealed class SmtpListenerService : IHostedService
{
    private readonly SmtpdOptions _smtpd;
    private readonly IReadOnlyList<string> _listen;   // this service's addresses (one smtpd_listen entry)
    private readonly IdentityOptions _identity;
    private readonly SmtpServerOptions _sessionOptions;
    private readonly Func<SmtpSessionContext, ISmtpSessionHandler> _handlerFactory;
    private readonly NetworkList _myNetworks;
    private readonly X509Certificate2? _certificate;
    private readonly ILogger _log;
    private readonly List<Socket> _listeners = [];
    private readonly ConcurrentDictionary<Task, byte> _sessions = new();
    private readonly ConcurrentDictionary<IPAddress, int> _perClient = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly CancellationTokenSource _hardStop = new();
    private int _active;

    public SmtpListenerService(SmtpdOptions smtpd, IdentityOptions identity, SmtpServerOptions sessionOptions,
        Func<SmtpSessionContext, ISmtpSessionHandler> handlerFactory, X509Certificate2? certificate, ILoggerFactory logs,
        IReadOnlyList<string>? listen = null)
    {
        _listen = listen ?? smtpd.Listen;
        _smtpd = smtpd;
        _identity = identity;
        _sessionOptions = sessionOptions;
        _handlerFactory = handlerFactory;
        _certificate = certificate;
        _myNetworks = NetworkList.Parse(smtpd.MyNetworks);
        _log = logs.CreateLogger("smtpd");
    }

    /// <summary>The bound endpoints (useful when a port 0 was configured).</summary>
    public IReadOnlyList<EndPoint> BoundEndPoints => _listeners.Select(l => l.LocalEndPoint!).ToList();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var spec in _listen)
        {
            var ep = ParseEndPoint(spec);
            var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (ep.AddressFamily == AddressFamily.InterNetworkV6) socket.DualMode = ep.Address.Equals(IPAddress.IPv6Any);
            socket.Bind(ep);
            socket.Listen(512);
            _listeners.Add(socket);
            _log.LogInformation("listening on {EndPoint}", socket.LocalEndPoint);
            _ = AcceptLoopAsync(socket);
        }
        return Task.CompletedTask;
    }

    /// <summary>Parses <c>host:port</c>, <c>[v6]:port</c> or <c>port</c> (meaning 127.0.0.1).</summary>
    /// <exception cref="FormatException">not an IP endpoint.</exception>
    internal static IPEndPoint ParseEndPoint(string spec)
    {
        if (int.TryParse(spec, out int bare)) return new IPEndPoint(IPAddress.Loopback, bare);
        if (spec.Contains(':') && IPEndPoint.TryParse(spec, out var ep)) return ep;
        throw new FormatException($"smtpd_listen: \"{spec}\" is not an address:port");
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        while (!_shutdown.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptAsync(_shutdown.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) { _log.LogWarning("accept: {Error}", e.Message); continue; }
            var task = HandleAsync(client);
            _sessions.TryAdd(task, 0);
            _ = task.ContinueWith(t => _sessions.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket socket)
    {
        var remote = socket.RemoteEndPoint as IPEndPoint;
        var address = remote?.Address is { IsIPv4MappedToIPv6: true } m ? m.MapToIPv4() : remote?.Address ?? IPAddress.None;
        int active = Interlocked.Increment(ref _active);
        int perClient = _perClient.AddOrUpdate(address, 1, (_, n) => n + 1);
        try
        {
            if (active > _smtpd.SessionLimit)
            {
                _log.LogWarning("refusing connection from {Address}: smtpd_session_limit ({Limit}) reached", address, _smtpd.SessionLimit);
                await RefuseAsync(socket, $"421 4.3.2 {_identity.MyHostname} Error: too many sessions, try again later\r\n").ConfigureAwait(false);
                return;
            }
            if (_smtpd.ClientConnectionCountLimit > 0 && perClient > _smtpd.ClientConnectionCountLimit && !_myNetworks.Contains(address))
            {
                _log.LogWarning("warning: Connection concurrency limit exceeded: {Count} from [{Address}] for service smtpd", perClient, address);
                await RefuseAsync(socket, $"421 4.7.0 {_identity.MyHostname} Error: too many connections from {address}\r\n").ConfigureAwait(false);
                return;
            }
            await using var transport = new SocketSmtpTransport(socket, _certificate);
            var context = new SmtpSessionContext(socket.RemoteEndPoint, socket.LocalEndPoint);
            var session = new SmtpServerSession(transport, _handlerFactory(context), _sessionOptions, context, TimeProvider.System, _shutdown.Token, _hardStop.Token);
            await session.RunAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _log.LogError(e, "session with {Address} failed", address);
        }
        finally
        {
            Interlocked.Decrement(ref _active);
            _perClient.AddOrUpdate(address, 0, (_, n) => n - 1);
            if (_perClient.TryGetValue(address, out var left) && left <= 0) _perClient.TryRemove(new KeyValuePair<IPAddress, int>(address, left));
        }
    }

    private static async Task RefuseAsync(Socket socket, string reply)
    {
        using (socket)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.SendAsync(Encoding.ASCII.GetBytes(reply), SocketFlags.None, cts.Token).ConfigureAwait(false);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _shutdown.Cancel();
        foreach (var l in _listeners) l.Dispose();
        var all = Task.WhenAll(_sessions.Keys);
        var grace = Task.Delay(_smtpd.ShutdownTimeout, CancellationToken.None);
        if (await Task.WhenAny(all, grace).ConfigureAwait(false) != all)
        {
            _log.LogWarning("shutdown: {Count} session(s) still running after smtpd_shutdown_timeout; closing them", _sessions.Count);
            _hardStop.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        }
    }
}
