// CommonOptions: the command-line options every command that reads the configuration shares,
// `-c/--config FILE` and repeatable `-o name=value` (postconf(1) -c and -o).
using System.CommandLine;
using Mta.Configuration;

namespace Mta.Cli;

/// <summary>Shared <c>-c/--config</c> and <c>-o</c> options and the loader that reads them.</summary>
public static class CommonOptions
{
    /// <summary><c>-c FILE</c> / <c>--config FILE</c>: the main.cf to read; absent means the embedded profile.</summary>
    public static Option<string?> Config { get; } = new("--config", "-c")
    {
        Description = "main.cf file to read (default: none, use the embedded profile)",
        HelpName = "FILE",
    };

    /// <summary><c>-o name=value</c>, repeatable; overrides main.cf, the last one wins.</summary>
    public static Option<string[]> Overrides { get; } = new("-o")
    {
        Description = "override a parameter (repeatable)",
        HelpName = "name=value",
        Arity = ArgumentArity.ZeroOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    /// <summary>Adds <see cref="Config"/> and <see cref="Overrides"/> to <paramref name="command"/>.</summary>
    public static void AddTo(Command command)
    {
        command.Options.Add(Config);
        command.Options.Add(Overrides);
    }

    /// <summary>
    /// Loads the configuration named by <paramref name="parseResult"/>'s <c>-c</c> and <c>-o</c> values
    /// (<see cref="ConfigLoader.Load(string?, IReadOnlyList{string})"/>).
    /// </summary>
    /// <exception cref="ConfigException">Any configuration error; print it as <c>mta: MESSAGE</c> and exit 1.</exception>
    public static MtaConfiguration LoadFrom(ParseResult parseResult) =>
        ConfigLoader.Load(parseResult.GetValue(Config), parseResult.GetValue(Overrides) ?? []);
}
