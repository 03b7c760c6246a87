// TagList: the tag=value list syntax shared by DKIM-Signature header fields and key records (RFC 6376 3.2):
// tags separated by ';', whitespace (FWS) allowed around names and values, a trailing ';' allowed,
// a duplicated tag makes the whole list invalid, tag names are case-sensitive.
namespace Mta.Dkim;

/// <summary>A parsed tag=value list, tags in the order written.</summary>
internal sealed class TagList
{
    private readonly Dictionary<string, string> _values;

    private TagList(List<string> order, Dictionary<string, string> values)
    {
        Order = order;
        _values = values;
    }

    /// <summary>Tag names in the order written.</summary>
    public IReadOnlyList<string> Order { get; }

    /// <summary>The value of <paramref name="tag"/> with surrounding whitespace removed, or null.</summary>
    public string? this[string tag] => _values.TryGetValue(tag, out var v) ? v : null;

    /// <summary>Parses <paramref name="text"/>; on error returns null and a reason.</summary>
    public static TagList? TryParse(string text, out string? error)
    {
        var order = new List<string>();
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(';'))
        {
            if (string.IsNullOrWhiteSpace(part))
                continue;
            int eq = part.IndexOf('=');
            if (eq < 0)
            {
                error = $"tag without '=': '{part.Trim()}'";
                return null;
            }
            var name = part[..eq].Trim(' ', '\t', '\r', '\n');
            if (name.Length == 0 || !char.IsAsciiLetter(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                error = $"invalid tag name '{name}'";
                return null;
            }
            if (values.ContainsKey(name))
            {
                error = $"duplicate tag '{name}'";
                return null;
            }
            values[name] = part[(eq + 1)..].Trim(' ', '\t', '\r', '\n');
            order.Add(name);
        }
        error = null;
        return new TagList(order, values);
    }

    /// <summary>Removes all folding whitespace from a value (base64 tags b=, bh=, p= may be folded).</summary>
    public static string StripWhitespace(string value) =>
        string.Concat(value.Where(c => c is not (' ' or '\t' or '\r' or '\n')));
}
