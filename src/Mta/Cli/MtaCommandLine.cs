// MtaCommandLine: the `mta` command tree (System.CommandLine): serve, config, queue.
namespace Mta.Cli;

/// <summary>Builds and runs the command line.</summary>
public static class MtaCommandLine
{
    /// <summary>Parses <paramref name="args"/> and runs the chosen command; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args)
    {
        Console.Error.WriteLine("mta: not yet wired");
        return Task.FromResult(2);
    }
}
