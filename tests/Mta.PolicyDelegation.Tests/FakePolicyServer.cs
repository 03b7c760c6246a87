// FakePolicyServer: an in-process TCP policy server on 127.0.0.1:0 whose behaviour per request is scripted
// (answer, hang, close, CRLF answer, junk), counting connections and requests for the client tests.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mta.PolicyDelegation.Tests;

/// <summary>What the fake server does with one request.</summary>
internal abstract record ServerAction
{
    /// <summary>Write these bytes (UTF-8) and keep the connection.</summary>
    public sealed record Send(string Text) : ServerAction;
    /// <summary>Write these raw bytes and keep the connection.</summary>
    public sealed record SendBytes(byte[] Bytes) : ServerAction;
    /// <summary>Write the text one byte per write, with a short pause between bytes.</summary>
    public sealed record Trickle(string Text) : ServerAction;
    /// <summary>Write these bytes then close.</summary>
    public sealed record SendAndClose(string Text) : ServerAction;
    /// <summary>Say nothing, keep the connection open.</summary>
    public sealed record Hang : ServerAction;
    /// <summary>Close without answering.</summary>
    public sealed record Close : ServerAction;

    public static ServerAction Answer(string action) => new Send($"action={action}\n\n");
}

internal sealed class FakePolicyServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Func<int, string, ServerAction> _behaviour;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<TcpClient> _clients = [];
    private readonly Task _acceptLoop;
    private int _connections;
    private int _requests;

    /// <param name="behaviour">Called with the 0-based request number (over all connections) and the request text.</param>
    public FakePolicyServer(Func<int, string, ServerAction> behaviour)
    {
        _behaviour = behaviour;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoop();
    }

    public static FakePolicyServer Always(ServerAction action) => new((_, _) => action);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public PolicyEndpoint Endpoint => PolicyEndpoint.Inet("127.0.0.1", Port);
    public int Connections => Volatile.Read(ref _connections);
    public int Requests => Volatile.Read(ref _requests);
    public ConcurrentQueue<string> ReceivedRequests { get; } = new();
    /// <summary>Connections the client closed (the server saw EOF).</summary>
    public int ClosedByClient => Volatile.Read(ref _closedByClient);
    private int _closedByClient;

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _connections);
            _clients.Add(client);
            _ = Serve(client);
        }
    }

    private async Task Serve(TcpClient client)
    {
        var stream = client.GetStream();
        var pending = new StringBuilder();
        var buf = new byte[4096];
        try
        {
            while (true)
            {
                int n = await stream.ReadAsync(buf, _stop.Token);
                if (n == 0) { Interlocked.Increment(ref _closedByClient); break; }
                pending.Append(Encoding.UTF8.GetString(buf, 0, n));
                int end;
                while ((end = pending.ToString().IndexOf("\n\n", StringComparison.Ordinal)) >= 0)
                {
                    string request = pending.ToString(0, end + 2);
                    pending.Remove(0, end + 2);
                    ReceivedRequests.Enqueue(request);
                    int index = Interlocked.Increment(ref _requests) - 1;
                    switch (_behaviour(index, request))
                    {
                        case ServerAction.Send s:
                            await stream.WriteAsync(Encoding.UTF8.GetBytes(s.Text), _stop.Token);
                            break;
                        case ServerAction.SendBytes b:
                            await stream.WriteAsync(b.Bytes, _stop.Token);
                            break;
                        case ServerAction.Trickle t:
                            foreach (byte x in Encoding.UTF8.GetBytes(t.Text))
                            {
                                await stream.WriteAsync(new[] { x }, _stop.Token);
                                await Task.Delay(2, _stop.Token);
                            }
                            break;
                        case ServerAction.SendAndClose s:
                            await stream.WriteAsync(Encoding.UTF8.GetBytes(s.Text), _stop.Token);
                            client.Close();
                            return;
                        case ServerAction.Hang:
                            break;
                        case ServerAction.Close:
                            client.Close();
                            return;
                    }
                }
            }
        }
        catch (Exception)
        {
            // Test server: the client went away.
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
        try { await _acceptLoop; } catch (Exception) { }
        _stop.Dispose();
    }
}
