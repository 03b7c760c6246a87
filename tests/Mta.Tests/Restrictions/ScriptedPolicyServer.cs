// ScriptedPolicyServer: an in-process policy delegation server on 127.0.0.1:0. Each request is parsed into
// its attributes (kept in order for the tests) and answered by a script: an action, a raw reply, or silence.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mta.Tests.Restrictions;

/// <summary>A policy server whose answer per request is computed by a delegate.</summary>
internal sealed class ScriptedPolicyServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<IReadOnlyDictionary<string, string>, string?> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly Task _loop;

    /// <param name="answer">Given the request attributes, the raw reply bytes to write (e.g. "action=DUNNO\n\n"), or null to say nothing.</param>
    public ScriptedPolicyServer(Func<IReadOnlyDictionary<string, string>, string?> answer)
    {
        _answer = answer;
        _listener.Start();
        _loop = AcceptLoop();
    }

    /// <summary>A server that answers "action=ACTION" computed from the request.</summary>
    public static ScriptedPolicyServer Actions(Func<IReadOnlyDictionary<string, string>, string> action) =>
        new(req => $"action={action(req)}\n\n");

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string Service => $"inet:127.0.0.1:{Port}";
    /// <summary>Every request, attributes in wire order.</summary>
    public ConcurrentQueue<List<KeyValuePair<string, string>>> Requests { get; } = new();
    public IReadOnlyDictionary<string, string> Last => Requests.Last().ToDictionary(k => k.Key, k => k.Value);

    private async Task AcceptLoop()
    {
        while (true)
        {
            TcpClient c;
            try { c = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            _clients.Add(c);
            _ = Serve(c);
        }
    }

    private async Task Serve(TcpClient client)
    {
        try
        {
            using var reader = new StreamReader(client.GetStream(), Encoding.UTF8);
            var stream = client.GetStream();
            var attrs = new List<KeyValuePair<string, string>>();
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                if (line.Length > 0)
                {
                    int eq = line.IndexOf('=');
                    attrs.Add(new(line[..eq], line[(eq + 1)..]));
                    continue;
                }
                Requests.Enqueue(attrs);
                var reply = _answer(attrs.ToDictionary(k => k.Key, k => k.Value));
                attrs = [];
                if (reply != null) await stream.WriteAsync(Encoding.UTF8.GetBytes(reply), _stop.Token);
            }
        }
        catch (Exception)
        {
            // the client went away
        }
        finally
        {
            client.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        foreach (var c in _clients) c.Dispose();
        try { await _loop; } catch (Exception) { }
        _stop.Dispose();
    }
}
