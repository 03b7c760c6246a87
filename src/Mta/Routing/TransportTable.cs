// TransportTable: the lookup tables of transport_maps — texthash:/path (Postfix DATABASE_README
// "texthash": a text file of "key value" lines, '#' comments, blank lines ignored, lines starting with
// white space continue the previous line) and inline:{ key=value, { key = value } } (Postfix
// DATABASE_README "inline"). Keys are case-insensitive. Values are validated at load (transport(5)).
namespace Mta.Routing;

/// <summary>A transport_maps table (or another Postfix-style table) could not be loaded.</summary>
public sealed class RoutingConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="table">the table as configured, e.g. <c>texthash:/etc/mta/transport</c>.</param>
    /// <param name="line">1-based line (texthash) or entry (inline) number; 0 when not line-specific.</param>
    /// <param name="message">what is wrong.</param>
    /// <param name="inner">the underlying I/O or format error, if any.</param>
    public RoutingConfigurationException(string table, int line, string message, Exception? inner = null)
        : base(line > 0 ? $"{table}, line {line}: {message}" : $"{table}: {message}", inner)
    {
        Table = table;
        Line = line;
    }

    /// <summary>The table as configured.</summary>
    public string Table { get; }
    /// <summary>1-based line or entry number, 0 when not line-specific.</summary>
    public int Line { get; }
}

/// <summary>One loaded transport table: lower-case key → parsed transport value.</summary>
public sealed class TransportTable
{
    private readonly Dictionary<string, TransportSpec> _entries;

    private TransportTable(string name, Dictionary<string, TransportSpec> entries)
    {
        Name = name;
        _entries = entries;
    }

    /// <summary>The table as configured (type:name).</summary>
    public string Name { get; }

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Looks up a key (case-insensitive).</summary>
    public bool TryLookup(string key, out TransportSpec value) => _entries.TryGetValue(key.ToLowerInvariant(), out value!);

    /// <summary>Loads a table from its <c>type:name</c> form.</summary>
    /// <exception cref="RoutingConfigurationException">unsupported type, unreadable file, or a bad line (names table and line).</exception>
    public static TransportTable Load(string table)
    {
        table = table.Trim();
        if (table.StartsWith("texthash:", StringComparison.OrdinalIgnoreCase)) return LoadTextHash(table, table[9..]);
        if (table.StartsWith("inline:", StringComparison.OrdinalIgnoreCase)) return LoadInline(table, table[7..]);
        throw new RoutingConfigurationException(table, 0, "unsupported table type (supported: texthash:/path, inline:{ key=value, ... })");
    }

    private static TransportTable LoadTextHash(string table, string path)
    {
        string[] lines;
        try { lines = File.ReadAllLines(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RoutingConfigurationException(table, 0, "cannot read: " + e.Message, e);
        }
        var entries = new Dictionary<string, TransportSpec>(StringComparer.Ordinal);
        string? logical = null;
        int logicalLine = 0;
        for (int i = 0; i <= lines.Length; i++)
        {
            string? raw = i < lines.Length ? lines[i] : null;
            bool comment = raw != null && raw.TrimStart().StartsWith('#');
            bool blank = raw != null && raw.Trim().Length == 0;
            if (comment || blank) continue;
            if (raw != null && logical != null && char.IsWhiteSpace(raw[0])) { logical += " " + raw.Trim(); continue; }
            if (logical != null) AddEntry(table, logicalLine, logical, entries);
            if (raw == null) break;
            if (char.IsWhiteSpace(raw[0])) throw new RoutingConfigurationException(table, i + 1, "continuation line without a preceding entry");
            logical = raw.Trim();
            logicalLine = i + 1;
        }
        return new TransportTable(table, entries);
    }

    private static void AddEntry(string table, int line, string text, Dictionary<string, TransportSpec> entries)
    {
        int sp = text.IndexOfAny([' ', '\t']);
        if (sp < 0) throw new RoutingConfigurationException(table, line, $"entry \"{text}\" has no value (expected \"key transport:nexthop\")");
        Add(table, line, text[..sp], text[(sp + 1)..].Trim(), entries);
    }

    private static void Add(string table, int line, string key, string value, Dictionary<string, TransportSpec> entries)
    {
        key = key.Trim().ToLowerInvariant();
        if (key.Length == 0) throw new RoutingConfigurationException(table, line, "empty key");
        TransportSpec spec;
        try { spec = TransportSpec.Parse(value); }
        catch (FormatException e) { throw new RoutingConfigurationException(table, line, $"key \"{key}\": {e.Message}", e); }
        entries.TryAdd(key, spec);   // like postmap: the first of duplicate keys wins
    }

    private static TransportTable LoadInline(string table, string body)
    {
        body = body.Trim();
        if (!body.StartsWith('{') || !body.EndsWith('}'))
            throw new RoutingConfigurationException(table, 0, "inline table must be written inline:{ key=value, ... }");
        var entries = new Dictionary<string, TransportSpec>(StringComparer.Ordinal);
        int entry = 0;
        foreach (var token in SplitTopLevel(table, body[1..^1]))
        {
            entry++;
            var t = token.StartsWith('{') ? token[1..^1].Trim() : token;
            int eq = t.IndexOf('=');
            if (eq <= 0) throw new RoutingConfigurationException(table, entry, $"entry \"{token}\" is not key=value");
            Add(table, entry, t[..eq], t[(eq + 1)..].Trim(), entries);
        }
        return new TransportTable(table, entries);
    }

    /// <summary>Splits on commas and white space outside braces; a braced group is one token.</summary>
    private static List<string> SplitTopLevel(string table, string s)
    {
        var tokens = new List<string>();
        int i = 0;
        while (i < s.Length)
        {
            if (s[i] == ',' || char.IsWhiteSpace(s[i])) { i++; continue; }
            int start = i;
            if (s[i] == '{')
            {
                int close = s.IndexOf('}', i);
                if (close < 0) throw new RoutingConfigurationException(table, tokens.Count + 1, "unbalanced '{'");
                i = close + 1;
            }
            else
            {
                while (i < s.Length && s[i] != ',' && !char.IsWhiteSpace(s[i])) i++;
            }
            tokens.Add(s[start..i]);
        }
        return tokens;
    }
}
