// ParameterExpander: `$name` expansion of main.cf values at read time, per postconf(5) "Syntax":
// $name, ${name}, $(name); ${name?value} (value when name is non-empty), ${name:value} (value when
// name is empty), the Postfix 3 form ${name?{then}:{else}}; `$$` is a literal '$'.
using System.Text;

namespace Mta.Configuration;

/// <summary>Expands parameter references in text; referenced values are resolved (and themselves
/// expanded) by a caller-supplied function, which is where recursion and loop detection live.</summary>
internal static class ParameterExpander
{
    /// <summary>
    /// Expands <paramref name="text"/>. <paramref name="resolve"/> returns the expanded value of a
    /// name, or null when the name is not a parameter.
    /// </summary>
    /// <exception cref="FormatException">Bad syntax or an unknown name; the message has no source prefix.</exception>
    public static string Expand(string text, Func<string, string?> resolve)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '$')
            {
                sb.Append(c);
                i++;
                continue;
            }
            if (i + 1 >= text.Length)
                throw new FormatException("'$' at end of value (write $$ for a literal '$')");
            char n = text[i + 1];
            if (n == '$')
            {
                sb.Append('$');
                i += 2;
            }
            else if (n == '{' || n == '(')
            {
                char close = n == '{' ? '}' : ')';
                int end = FindClose(text, i + 1, n, close);
                if (end < 0)
                    throw new FormatException($"missing '{close}' in \"{text[i..]}\"");
                sb.Append(ExpandBraced(text[(i + 2)..end], resolve));
                i = end + 1;
            }
            else if (MainCfParser.IsNameChar(n))
            {
                int j = i + 1;
                while (j < text.Length && MainCfParser.IsNameChar(text[j])) j++;
                sb.Append(Lookup(text[(i + 1)..j], resolve));
                i = j;
            }
            else
            {
                throw new FormatException($"bad '$' syntax at \"{text[i..]}\" (write $$ for a literal '$')");
            }
        }
        return sb.ToString();
    }

    private static string Lookup(string name, Func<string, string?> resolve) =>
        resolve(name) ?? throw new FormatException($"reference to unknown parameter ${name}");

    // inner: the text between ${ and } (or $( and )).
    private static string ExpandBraced(string inner, Func<string, string?> resolve)
    {
        int j = 0;
        while (j < inner.Length && MainCfParser.IsNameChar(inner[j])) j++;
        string name = inner[..j];
        if (name.Length == 0)
            throw new FormatException($"missing parameter name in \"${{{inner}}}\"");
        if (j == inner.Length) return Lookup(name, resolve);

        char op = inner[j];
        string rest = inner[(j + 1)..];
        bool nonEmpty = Lookup(name, resolve).Length > 0;
        if (op == '?' && rest.StartsWith('{'))
        {
            // ${name?{then}:{else}} (the ":{else}" part is optional)
            int thenEnd = FindClose(rest, 0, '{', '}');
            if (thenEnd < 0) throw new FormatException($"missing '}}' in \"${{{inner}}}\"");
            string thenText = rest[1..thenEnd];
            string after = rest[(thenEnd + 1)..].TrimStart();
            string? elseText = null;
            if (after.Length > 0)
            {
                if (!after.StartsWith(':')) throw new FormatException($"expected ':{{...}}' after '?{{...}}' in \"${{{inner}}}\"");
                after = after[1..].TrimStart();
                int elseEnd = after.StartsWith('{') ? FindClose(after, 0, '{', '}') : -1;
                if (elseEnd != after.Length - 1) throw new FormatException($"expected ':{{...}}' after '?{{...}}' in \"${{{inner}}}\"");
                elseText = after[1..elseEnd];
            }
            return nonEmpty ? Expand(thenText, resolve) : elseText is null ? "" : Expand(elseText, resolve);
        }
        return op switch
        {
            '?' => nonEmpty ? Expand(rest, resolve) : "",
            ':' => nonEmpty ? "" : Expand(rest, resolve),
            _ => throw new FormatException($"bad operator '{op}' in \"${{{inner}}}\" (expected '?' or ':')"),
        };
    }

    // Index of the bracket that closes text[openIndex], counting nesting; -1 when missing.
    private static int FindClose(string text, int openIndex, char open, char close)
    {
        int depth = 0;
        for (int k = openIndex; k < text.Length; k++)
        {
            if (text[k] == open) depth++;
            else if (text[k] == close && --depth == 0) return k;
        }
        return -1;
    }
}
