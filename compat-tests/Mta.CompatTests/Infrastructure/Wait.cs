// Wait: owns every bounded wait of the compat tests: polling a condition with a deadline, and
// waiting until a TCP port on 127.0.0.1 answers with an SMTP/LMTP 220 greeting. A wait that runs
// out throws TimeoutException naming what it waited for, so a test never sleeps longer than needed
// and never hangs.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Mta.CompatTests.Infrastructure;

/// <summary>Bounded waits.</summary>
public static class Wait
{
    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds}s waiting for {what}" +
                    (diagnostics is null ? "" : "\n" + diagnostics()));
            }
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Connects to <paramref name="host"/>:<paramref name="port"/> until the server sends a 220 greeting (then says QUIT);
    /// a test whose milter makes the server refuse every connection passes the refusal codes it expects in
    /// <paramref name="readyCodes"/>. Fails early when <paramref name="isDead"/> reports that the server process exited.
    /// </summary>
    public static async Task<string> ForGreetingAsync(int port, TimeSpan timeout, string what, Func<bool>? isDead = null,
        Func<string>? diagnostics = null, string host = "127.0.0.1", IReadOnlyList<string>? readyCodes = null)
    {
        readyCodes ??= ["220"];
        var clock = Stopwatch.StartNew();
        string last = "no connection yet";
        while (clock.Elapsed < timeout)
        {
            if (isDead?.Invoke() == true)
            {
                throw new InvalidOperationException($"{what} exited before it answered on {host}:{port}" +
                    (diagnostics is null ? "" : "\n" + diagnostics()));
            }
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.ConnectAsync(host, port, cts.Token);
                var stream = client.GetStream();
                var greeting = await ReadLineAsync(stream, cts.Token);
                if (readyCodes.Any(c => greeting.StartsWith(c, StringComparison.Ordinal)))
                {
                    await stream.WriteAsync("QUIT\r\n"u8.ToArray(), cts.Token);
                    return greeting;
                }
                last = "greeting was: " + greeting;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{what} did not greet with 220 on {host}:{port} within {timeout.TotalSeconds}s ({last})" +
            (diagnostics is null ? "" : "\n" + diagnostics()));
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/> until a TCP connection succeeds (then closes it at once),
    /// for servers that speak first only after a request (milters). Fails early when <paramref name="isDead"/>.
    /// </summary>
    public static async Task ForListenerAsync(int port, TimeSpan timeout, string what, Func<bool>? isDead = null,
        Func<string>? diagnostics = null)
    {
        var clock = Stopwatch.StartNew();
        string last = "no connection yet";
        while (clock.Elapsed < timeout)
        {
            if (isDead?.Invoke() == true)
            {
                throw new InvalidOperationException($"{what} exited before it listened on 127.0.0.1:{port}" +
                    (diagnostics is null ? "" : "\n" + diagnostics()));
            }
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync("127.0.0.1", port, cts.Token);
                return;
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{what} did not listen on 127.0.0.1:{port} within {timeout.TotalSeconds}s ({last})" +
            (diagnostics is null ? "" : "\n" + diagnostics()));
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream, CancellationToken token)
    {
        var line = new StringBuilder();
        var buffer = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(buffer, token);
            if (n == 0 || buffer[0] == (byte)'\n')
            {
                return line.ToString().TrimEnd('\r');
            }
            line.Append((char)buffer[0]);
        }
    }
}
