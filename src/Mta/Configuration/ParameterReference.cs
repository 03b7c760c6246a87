// ParameterReference: generates docs/configuration.md from the parameter catalog, the way Postfix
// generates postconf(5) from its parameter table; a test fails when the checked-in file differs.
using System.Text;

namespace Mta.Configuration;

/// <summary>Markdown reference of every parameter (docs/configuration.md).</summary>
public static class ParameterReference
{
    /// <summary>
    /// The complete text of docs/configuration.md for <paramref name="catalog"/>: a short syntax section and
    /// a table (parameter, type, default, description) sorted by name. Line ends are LF; deterministic.
    /// </summary>
    public static string ToMarkdown(ParameterCatalog catalog)
    {
        var sb = new StringBuilder();
        sb.Append("""
            # Configuration reference

            <!-- Generated from the parameter catalog (src/Mta/Configuration/Options.cs); do not edit by hand.
                 Regenerate: ./mta config --markdown > docs/configuration.md
                 (or: MTA_REGENERATE_DOCS=1 dotnet test tests/Mta.Tests --filter FullyQualifiedName~ReferenceDocs) -->

            The MTA reads a Postfix-style `main.cf` (postconf(5)) given with `-c FILE`; without one it runs the
            embedded profile (`mydestination = *`: every recipient is delivered locally into Maildirs).

            - `name = value`, one per line; a line that starts with white space continues the previous one;
              blank lines and lines whose first non-blank character is `#` are ignored; a later setting wins.
            - `$name` and `${name}` expand to another parameter's value when it is read; `${name?text}` gives
              `text` when `name` is non-empty, `${name:text}` when it is empty, `${name?{a}:{b}}` one or the other;
              `$$` is a literal `$`. Circular references are errors.
            - `-o name=value` on the command line overrides the file.
            - Unknown parameter names are errors (Postfix only warns), reported as `FILE:LINE`.
            - Types: *integer* is decimal digits only (no sign, no k/M suffix; sizes are bytes); *yes/no* also takes true/false; *time* is a
              number with an optional unit `s`, `m`, `h`, `d`, `w`; *list* is separated by commas and/or white
              space, and text inside `{ }` is never split (`inline:{ a=b, c=d }` is one element).
            - `default_myhostname` (this machine's FQDN) and `default_mydomain` (`myhostname` minus its first
              label) are computed and may be referenced but not set.

            `mta config -d` prints the defaults below, `mta config -n` the settings that were made, and
            `mta config [NAME...]` the effective, expanded values.

            | Parameter | Type | Default | Description |
            |---|---|---|---|

            """);
        foreach (ParameterDefinition d in catalog.Parameters)
        {
            sb.Append("| `").Append(d.Name).Append("` | ")
              .Append(ParameterValues.TypeName(d.PropertyType, d.DefaultTimeUnit)).Append(" | ")
              .Append(d.DefaultText.Length == 0 ? "(empty)" : Code(d.DefaultText)).Append(" | ")
              .Append(Cell(d.Description)).Append(" |\n");
        }
        return sb.ToString().ReplaceLineEndings("\n");
    }

    private static string Cell(string text) => text.Replace("|", "\\|");

    private static string Code(string text) => text.Contains('`') ? $"`` {Cell(text)} ``" : $"`{Cell(text)}`";
}
