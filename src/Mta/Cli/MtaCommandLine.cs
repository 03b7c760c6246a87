// MtaCommandLine: the `mta` command tree (System.CommandLine): serve, config, queue.
using System.CommandLine;

namespace Mta.Cli;

/// <summary>Builds and runs the command line.</summary>
public static class MtaCommandLine
{
    /// <summary>The root command with every subcommand.</summary>
    public static RootCommand Create() => new("mta: a mail transfer agent that delivers before it answers")
    {
        ServeCommand.Create(),
        ConfigCommand.Create(),
        QueueCommand.Create(),
        CheckCommand.Create(),
        DkimCommand.Create(),
    };

    /// <summary>Parses <paramref name="args"/> and runs the chosen command; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args) => Create().Parse(args).InvokeAsync();
}
