// MtaCheck: runs `mta check -c FILE` the way an operator does — `dotnet mta.dll check -c FILE` from
// this project's output directory — and returns its exit code and lines. Until the root command
// registers `check` (MtaCommandLine), the same CheckCommand is invoked in-process instead, so the
// tests exercise the real command against the real resolver either way.
using System.CommandLine;
using Mta.Cli;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Dns;

/// <summary>One <c>mta check</c> run.</summary>
/// <param name="ExitCode">0 without failures, 1 with.</param>
/// <param name="Lines">Standard output lines (one per check).</param>
/// <param name="Error">Standard error.</param>
/// <param name="How">The command line, or "in-process".</param>
public sealed record MtaCheckResult(int ExitCode, IReadOnlyList<string> Lines, string Error, string How)
{
    /// <summary>The lines starting with <c>failure: </c>.</summary>
    public IReadOnlyList<string> Failures => [.. Lines.Where(l => l.StartsWith("failure: ", StringComparison.Ordinal))];

    /// <summary>The lines starting with <c>warning: </c>.</summary>
    public IReadOnlyList<string> Warnings => [.. Lines.Where(l => l.StartsWith("warning: ", StringComparison.Ordinal))];

    /// <summary>Everything, for the test output.</summary>
    public override string ToString() => $"--- mta check ({How}) exit {ExitCode}\n{string.Join('\n', Lines)}\n{Error}";
}

/// <summary>Runs <c>mta check</c>.</summary>
public static class MtaCheck
{
    private static readonly bool Registered = MtaCommandLine.Create().Subcommands.Any(c => c.Name == "check");

    /// <summary>Writes <paramref name="parameters"/> as main.cf into <paramref name="dir"/> and runs <c>mta check -c</c> on it (60 s limit).</summary>
    public static async Task<MtaCheckResult> RunAsync(string dir, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        string cf = Path.Combine(dir, "main.cf");
        await File.WriteAllTextAsync(cf, "# compat-tests: mta check\n" + string.Concat(parameters.Select(p => $"{p.Key} = {p.Value}\n")));
        if (Registered)
        {
            string mtaDll = Path.Combine(AppContext.BaseDirectory, "mta.dll");
            string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
            var result = await CommandRunner.RunAsync(dotnet, [mtaDll, "check", "-c", cf], TimeSpan.FromSeconds(60));
            var lines = result.Output.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            // stdout and stderr are interleaved by CommandRunner; error lines start with "mta: "
            return new MtaCheckResult(result.ExitCode, [.. lines.Where(l => !l.StartsWith("mta: ", StringComparison.Ordinal))],
                string.Join('\n', lines.Where(l => l.StartsWith("mta: ", StringComparison.Ordinal))), $"dotnet mta.dll check -c {cf}");
        }
        var root = new RootCommand("mta") { CheckCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await root.Parse(["check", "-c", cf]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error })
            .WaitAsync(TimeSpan.FromSeconds(60));
        return new MtaCheckResult(exit, output.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries),
            error.ToString(), $"in-process check -c {cf}");
    }
}
