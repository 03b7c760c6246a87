// CommandRunner: owns running a short-lived external program (swaks, smtp-source, postfix start/stop,
// chown) to completion under a hard time limit, capturing stdout and stderr interleaved as lines
// arrive. A program still running at its deadline is killed with its whole process tree and the
// caller gets a TimeoutException carrying the partial output, so no test ever hangs on a client.
using System.Diagnostics;
using System.Text;

namespace Mta.CompatTests.Infrastructure;

/// <summary>Result of one finished command.</summary>
/// <param name="ExitCode">The process exit code.</param>
/// <param name="Output">stdout and stderr, interleaved in arrival order.</param>
/// <param name="Elapsed">Wall-clock time from start to exit.</param>
/// <param name="Lines">Each output line with the time (since start) it was read.</param>
/// <param name="StartedUtc">Wall-clock time the program was started.</param>
public sealed record CommandResult(int ExitCode, string Output, TimeSpan Elapsed, IReadOnlyList<(TimeSpan At, string Line)> Lines,
    DateTime StartedUtc)
{
    /// <summary>Wall-clock time the program had exited.</summary>
    public DateTime FinishedUtc => StartedUtc + Elapsed;
}

/// <summary>Runs an external program to completion with a deadline.</summary>
public static class CommandRunner
{
    /// <summary>
    /// The start info every test process uses: stdout, stderr and stdin redirected, no shell, arguments passed
    /// one by one (no quoting), <paramref name="environment"/> added to the inherited environment.
    /// </summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>; kills it at <paramref name="timeout"/>.</summary>
    public static async Task<CommandResult> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = CommandRunner.StartInfo(file, args, environment);
        var lines = new List<(TimeSpan, string)>();
        var text = new StringBuilder();
        var gate = new Lock();
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = psi };
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }
            lock (gate)
            {
                lines.Add((clock.Elapsed, e.Data));
                text.AppendLine(e.Data);
            }
        }
        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {file}");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }
            string partial;
            lock (gate)
            {
                partial = text.ToString();
            }
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} still running after {timeout.TotalSeconds}s; output so far:\n{partial}");
        }
        // WaitForExitAsync also waits for the redirected streams to reach EOF.
        var elapsed = clock.Elapsed;
        lock (gate)
        {
            return new CommandResult(process.ExitCode, text.ToString(), elapsed, lines.ToArray(), started);
        }
    }
}
