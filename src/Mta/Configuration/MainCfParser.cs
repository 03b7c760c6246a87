// MainCfParser: reads main.cf text into parameter entries with file and line; it owns only the
// syntax (postconf(5) "Syntax"), not names or values. Logical lines: `name = value`; a line that
// starts with white space continues the previous logical line; blank lines and lines whose first
// non-blank character is '#' are ignored; a later setting of a name overrides an earlier one.
using System.Text;

namespace Mta.Configuration;

/// <summary>One <c>name = value</c> setting from main.cf, with where it was written.</summary>
/// <param name="Name">Parameter name, as written (<c>[A-Za-z0-9_]+</c>).</param>
/// <param name="Value">Raw value: continuation lines joined with one space, outer white space trimmed,
/// no <c>$name</c> expansion.</param>
/// <param name="File">File name as given to the parser.</param>
/// <param name="Line">1-based line where the logical line starts.</param>
public sealed record MainCfEntry(string Name, string Value, string File, int Line)
{
    /// <summary><c>FILE:LINE</c>, the prefix of every error about this entry.</summary>
    public string Source => $"{File}:{Line}";
}

/// <summary>Parser for Postfix main.cf syntax (postconf(5)).</summary>
public static class MainCfParser
{
    /// <summary>
    /// Reads and parses <paramref name="path"/>.
    /// </summary>
    /// <returns>See <see cref="Parse"/>.</returns>
    /// <exception cref="ConfigException"><c>FILE: cannot read: ...</c>, or a syntax error as in <see cref="Parse"/>.</exception>
    public static IReadOnlyList<MainCfEntry> ParseFile(string path)
    {
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException($"{path}: cannot read: {ex.Message}", ex);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// Parses main.cf <paramref name="text"/> (LF or CRLF line ends).
    /// </summary>
    /// <param name="text">The file content.</param>
    /// <param name="file">Name used in <see cref="MainCfEntry.File"/> and in error messages.</param>
    /// <returns>The effective settings, one per name (the last one written wins), in the order of
    /// their winning lines. Names are not checked against the catalog here.</returns>
    /// <exception cref="ConfigException"><c>FILE:LINE: ...</c> for a line without '=', a bad
    /// parameter name, or a continuation line with nothing to continue.</exception>
    public static IReadOnlyList<MainCfEntry> Parse(string text, string file)
    {
        var byName = new Dictionary<string, MainCfEntry>(StringComparer.Ordinal);
        string? name = null;
        var value = new StringBuilder();
        int start = 0;

        void Flush()
        {
            if (name is null) return;
            byName[name] = new MainCfEntry(name, value.ToString(), file, start);
            name = null;
            value.Clear();
        }

        string[] lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNo = i + 1;
            string line = lines[i].TrimEnd(); // also drops the '\r' of CRLF
            string trimmed = line.TrimStart();
            if (trimmed.Length == 0 || trimmed[0] == '#') continue;

            if (char.IsWhiteSpace(line[0]))
            {
                if (name is null)
                    throw new ConfigException($"{file}:{lineNo}: continuation line without a preceding parameter: \"{trimmed}\"");
                if (value.Length > 0) value.Append(' ');
                value.Append(trimmed);
                continue;
            }

            Flush();
            int eq = line.IndexOf('=');
            if (eq < 0)
                throw new ConfigException($"{file}:{lineNo}: missing '=' after parameter name: \"{line}\"");
            string n = line[..eq].Trim();
            if (!IsValidName(n))
                throw new ConfigException($"{file}:{lineNo}: bad parameter name \"{n}\": expected letters, digits and '_'");
            name = n;
            start = lineNo;
            value.Append(line[(eq + 1)..].Trim());
        }
        Flush();
        return [.. byName.Values.OrderBy(e => e.Line)]; // in the order of the winning lines
    }

    /// <summary>True when <paramref name="name"/> is a syntactically valid parameter name:
    /// one or more ASCII letters, digits or '_' (Postfix has names that start with a digit, e.g. 2bounce_notice_recipient).</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length == 0) return false;
        foreach (char c in name)
            if (!IsNameChar(c)) return false;
        return true;
    }

    internal static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
