// PolicyConnection: one open connection to a policy service (socket or spawned process) with timed writes,
// timed reads of one reply, and detection of input that arrives while the connection is idle.
// Follows Postfix util/auto_clnt.c (connect with timeout, per-I/O timeout via vstream) and
// util/attr_clnt.c (a stream that is readable before a request is sent is treated as broken).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Mta.PolicyDelegation;

/// <summary>
/// An open connection. Not thread-safe: the pool hands it to one request at a time. After each reply it keeps
/// one read outstanding, so input (EOF or junk) that arrives while idle is seen by <see cref="HasPendingInput"/>
/// on any transport, pipes included.
/// </summary>
internal sealed class PolicyConnection : IAsyncDisposable
{
    private readonly Stream _input;
    private readonly Stream _output;
    private readonly Func<ValueTask> _close;
    private readonly TimeProvider _time;
    private readonly byte[] _buffer = new byte[4096];
    private int _start, _end;
    private Task<int>? _pending;
    private bool _disposed;

    private PolicyConnection(Stream input, Stream output, Func<ValueTask> close, TimeProvider time)
    {
        _input = input;
        _output = output;
        _close = close;
        _time = time;
        CreatedAt = LastUsedAt = time.GetUtcNow();
    }

    /// <summary>When the connection was opened.</summary>
    public DateTimeOffset CreatedAt { get; }

    /// <summary>When the connection last completed a request (or was opened).</summary>
    public DateTimeOffset LastUsedAt { get; set; }

    /// <summary>Successful requests on this connection.</summary>
    public int RequestCount { get; set; }

    /// <summary>True when bytes or EOF (or an error) arrived that no request asked for.</summary>
    public bool HasPendingInput => _end > _start || (_pending?.IsCompleted ?? false);

    /// <summary>Opens a connection to <paramref name="endpoint"/> within <paramref name="timeout"/>.</summary>
    /// <exception cref="IOException">Connect failed or timed out (inner exception has the cause).</exception>
    public static async Task<PolicyConnection> OpenAsync(PolicyEndpoint endpoint, TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        switch (endpoint.Kind)
        {
            case PolicyEndpointKind.Inet:
            case PolicyEndpointKind.Unix:
            {
                Socket socket = endpoint.Kind == PolicyEndpointKind.Unix
                    ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                    : new Socket(SocketType.Stream, ProtocolType.Tcp);
                EndPoint ep = endpoint.Kind == PolicyEndpointKind.Unix
                    ? new UnixDomainSocketEndPoint(endpoint.Address)
                    : IPAddress.TryParse(endpoint.Address, out var ip) ? new IPEndPoint(ip, endpoint.Port) : new DnsEndPoint(endpoint.Address, endpoint.Port);
                using var cts = new CancellationTokenSource(timeout, time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, ct);
                try
                {
                    await socket.ConnectAsync(ep, linked.Token).ConfigureAwait(false);
                    if (endpoint.Kind == PolicyEndpointKind.Inet) socket.NoDelay = true;
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    socket.Dispose();
                    ct.ThrowIfCancellationRequested();
                    throw new IOException(ex is OperationCanceledException ? "connect timed out" : ex.Message, ex);
                }
                var stream = new NetworkStream(socket, ownsSocket: true);
                return new PolicyConnection(stream, stream, () => stream.DisposeAsync(), time);
            }
            case PolicyEndpointKind.Spawn:
            {
                var psi = new ProcessStartInfo(endpoint.Address)
                {
                    UseShellExecute = false,
                    RedirectStandardInput = true,
                    RedirectStandardOutput = true,
                    RedirectStandardError = false,
                };
                foreach (var a in endpoint.Arguments) psi.ArgumentList.Add(a);
                Process process;
                try
                {
                    process = Process.Start(psi) ?? throw new IOException("process did not start");
                }
                catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
                {
                    throw new IOException($"spawn {endpoint.Address}: {ex.Message}", ex);
                }
                var stdin = process.StandardInput.BaseStream;
                var stdout = process.StandardOutput.BaseStream;
                return new PolicyConnection(stdout, stdin, () => CloseProcessAsync(process, stdin, stdout), time);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(endpoint));
        }
    }

    /// <summary>Writes <paramref name="request"/> and flushes within <paramref name="timeout"/>.</summary>
    /// <exception cref="IOException">Write failed or timed out.</exception>
    public async Task WriteAsync(ReadOnlyMemory<byte> request, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await WriteCore(request).WaitAsync(timeout, _time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new IOException("timeout while writing the request", ex);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or NotSupportedException)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    private async Task WriteCore(ReadOnlyMemory<byte> request)
    {
        await _output.WriteAsync(request).ConfigureAwait(false);
        await _output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Reads one reply into <paramref name="reader"/> (already reset). Each read waits at most
    /// <paramref name="timeout"/>, like Postfix's per-I/O stream timeout. On completion any bytes after the
    /// reply stay buffered (and count as pending input); otherwise one read is left outstanding.
    /// </summary>
    /// <exception cref="IOException">Read failed or timed out.</exception>
    public async Task ReadReplyAsync(PolicyReplyReader reader, TimeSpan timeout, CancellationToken ct)
    {
        while (reader.Status == PolicyReplyStatus.NeedMoreData)
        {
            if (_end == _start)
            {
                _pending ??= ReadCore();
                int n;
                try
                {
                    n = await _pending.WaitAsync(timeout, _time, ct).ConfigureAwait(false);
                }
                catch (TimeoutException ex)
                {
                    throw new IOException("timeout while reading the reply", ex);
                }
                catch (Exception ex) when (ex is ObjectDisposedException or NotSupportedException)
                {
                    throw new IOException(ex.Message, ex);
                }
                _pending = null;
                if (n == 0)
                {
                    reader.EndOfInput();
                    return;
                }
                _start = 0;
                _end = n;
            }
            reader.Feed(_buffer.AsSpan(_start, _end - _start), out int used);
            _start += used;
        }
        if (reader.Status == PolicyReplyStatus.Complete && _end == _start)
            _pending = ReadCore();
    }

    private Task<int> ReadCore()
    {
        try
        {
            return _input.ReadAsync(_buffer, 0, _buffer.Length);
        }
        catch (Exception ex)
        {
            return Task.FromException<int>(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        var pending = _pending;
        try
        {
            await _close().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closing a broken connection: nothing to report.
        }
        if (pending is not null)
            _ = pending.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private static async ValueTask CloseProcessAsync(Process process, Stream stdin, Stream stdout)
    {
        try { await stdin.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
        _ = Task.Run(async () =>
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            }
            finally
            {
                try { await stdout.DisposeAsync().ConfigureAwait(false); } catch (IOException) { }
                process.Dispose();
            }
        });
    }
}
