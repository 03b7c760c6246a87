// ConfigCommand: `mta config`, the postconf(1) of this MTA: -d defaults, -n non-defaults,
// NAME... effective expanded values, --markdown the parameter reference (postconf(5)).
using System.CommandLine;
using Mta.Configuration;

namespace Mta.Cli;

/// <summary>The <c>config</c> command.</summary>
public static class ConfigCommand
{
    /// <summary>
    /// Creates <c>config [-d | -n | --markdown] [-c FILE] [-o name=value]... [NAME...]</c>.
    /// Output lines are <c>name = value</c> on the invocation's Output. Exit codes: 0 success;
    /// 1 for a configuration error, an unknown NAME or conflicting flags, with one line
    /// <c>mta: MESSAGE</c> (e.g. <c>mta: main.cf:3: unknown parameter "foo"</c>) on the invocation's Error.
    /// -d and --markdown do not read the configuration (like <c>postconf -d</c>).
    /// </summary>
    public static Command Create()
    {
        var defaults = new Option<bool>("-d") { Description = "print default values (postconf -d)" };
        var nonDefaults = new Option<bool>("-n") { Description = "print parameters that are set: main.cf, -o, embedded profile (postconf -n)" };
        var markdown = new Option<bool>("--markdown") { Description = "print the parameter reference (docs/configuration.md)" };
        var names = new Argument<string[]>("NAME")
        {
            Description = "parameters to show (default: all)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var command = new Command("config", "Show configuration parameters: effective values, defaults (-d) or settings made (-n).");
        command.Options.Add(defaults);
        command.Options.Add(nonDefaults);
        command.Options.Add(markdown);
        CommonOptions.AddTo(command);
        command.Arguments.Add(names);

        command.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            bool d = parseResult.GetValue(defaults), n = parseResult.GetValue(nonDefaults), md = parseResult.GetValue(markdown);
            string[] selected = parseResult.GetValue(names) ?? [];
            try
            {
                if ((d ? 1 : 0) + (n ? 1 : 0) + (md ? 1 : 0) > 1)
                    return Fail(error, "-d, -n and --markdown exclude each other");
                ParameterCatalog catalog = ParameterCatalog.Default;
                foreach (string name in selected)
                    if (catalog.Find(name) is null && !ParameterCatalog.PseudoParameters.Contains(name))
                        return Fail(error, $"unknown parameter \"{name}\"");

                IEnumerable<string> lines;
                if (md)
                {
                    output.Write(ParameterReference.ToMarkdown(catalog));
                    return 0;
                }
                else if (d)
                {
                    lines = catalog.FormatDefaults();
                    if (selected.Length > 0) lines = lines.Where(l => selected.Contains(NameOf(l)));
                }
                else if (n)
                {
                    lines = CommonOptions.LoadFrom(parseResult).FormatNonDefaults();
                    if (selected.Length > 0) lines = lines.Where(l => selected.Contains(NameOf(l)));
                }
                else
                {
                    lines = CommonOptions.LoadFrom(parseResult).FormatEffective(selected);
                }
                foreach (string line in lines) output.WriteLine(line);
                return 0;
            }
            catch (ConfigException ex)
            {
                return Fail(error, ex.Message);
            }
        });
        return command;
    }

    private static string NameOf(string line) => line[..line.IndexOf(' ')];

    private static int Fail(TextWriter error, string message)
    {
        error.WriteLine($"mta: {message}");
        return 1;
    }
}
