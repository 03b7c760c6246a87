// ChildProcess: owns one long-running daemon the tests start in the foreground (smtp-sink, dovecot -F,
// our MTA). It captures stdout and stderr with timestamps into a log that is printed when a test
// fails, and guarantees the process is gone afterwards: StopAsync sends SIGTERM, waits, then kills
// the whole process tree with SIGKILL. KillHard is the crash simulation (kill -9 of the main process).
using System.Diagnostics;
using System.Text;

namespace Mta.CompatTests.Infrastructure;

/// <summary>A daemon started by a test, with captured output.</summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly Lock _gate = new();
    private readonly string _name;

    private ChildProcess(string name, Process process)
    {
        _name = name;
        _process = process;
    }

    /// <summary>Process id of the started program.</summary>
    public int Pid => _process.Id;

    /// <summary>True once the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code; throws while the process runs.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Adds a line of the test's own (e.g. "SIGTERM sent") to the log, in time order with the output.</summary>
    public void Note(string line) => Append("rig", line);

    /// <summary>Everything the process wrote so far, each line stamped with the wall-clock time.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="file"/> with <paramref name="args"/>; stdin is closed immediately.</summary>
    public static ChildProcess Start(string name, string file, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = CommandRunner.StartInfo(file, args, environment);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.Append("out", e.Data);
        process.ErrorDataReceived += (_, e) => child.Append("err", e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {file}");
        }
        child.Append("rig", $"started pid {process.Id}: {file} {string.Join(' ', psi.ArgumentList)}");
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void Append(string stream, string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _log.Append(DateTime.Now.ToString("HH:mm:ss.fff")).Append(' ').Append(stream).Append(": ").AppendLine(line);
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the process to exit; true when it did.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, wait up to <paramref name="grace"/>, then SIGKILL to the whole tree. Returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            Unix.Signal(_process.Id, Unix.SigTerm);
            if (!await WaitForExitAsync(grace))
            {
                Append("rig", $"{_name} ignored SIGTERM for {grace.TotalSeconds}s; killing the process tree");
                KillTree();
                await WaitForExitAsync(TimeSpan.FromSeconds(10));
            }
        }
        var code = _process.HasExited ? _process.ExitCode : -1;
        Append("rig", $"exited with code {code}");
        return code;
    }

    /// <summary>kill -9 of the main process only (a crash), then waits for it to be reaped.</summary>
    public async Task KillHardAsync()
    {
        Append("rig", "kill -9");
        Unix.Signal(_process.Id, Unix.SigKill);
        if (!await WaitForExitAsync(TimeSpan.FromSeconds(10)))
        {
            throw new TimeoutException($"{_name} (pid {_process.Id}) still alive 10 s after SIGKILL");
        }
    }

    private void KillTree()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}
