// ListenerSpec: one smtpd_listen entry, either "host:port" or a group with per-listener parameter
// overrides, the main.cf counterpart of a master.cf service with -o name=value lines:
//   smtpd_listen = 0.0.0.0:25, { 127.0.0.1:10026, smtpd_proxy_filter=, smtpd_milters=,
//                                smtpd_recipient_restrictions=permit_mynetworks,reject }
namespace Mta.Proxy;

/// <summary>A listener address and the <c>name=value</c> overrides that apply to its sessions only.</summary>
/// <param name="Address">host:port, [v6]:port or port.</param>
/// <param name="Overrides">name=value strings applied after the global -o overrides, in order.</param>
public sealed record ListenerSpec(string Address, IReadOnlyList<string> Overrides)
{
    /// <summary>
    /// Parses one entry. In a group the first element is the address; then come <c>name=value</c>
    /// overrides separated by commas. A value may itself contain commas: an element without '=' continues
    /// the previous value (so <c>smtpd_recipient_restrictions=permit_mynetworks,reject</c> stays whole), and
    /// text inside nested <c>{ }</c> is never split.
    /// </summary>
    /// <exception cref="FormatException">missing '}', empty group, or an element before the first override that is not one.</exception>
    public static ListenerSpec Parse(string entry)
    {
        var text = entry.Trim();
        if (!text.StartsWith('{')) return new ListenerSpec(text, []);
        if (!text.EndsWith('}')) throw new FormatException($"smtpd_listen: missing '}}' in \"{entry}\"");
        var parts = SplitTopLevel(text[1..^1]);
        if (parts.Count == 0 || parts[0].Contains('=')) throw new FormatException($"smtpd_listen: \"{entry}\" must start with the listen address");
        var overrides = new List<string>();
        foreach (var p in parts.Skip(1))
        {
            int eq = p.IndexOf('=');
            bool isOverride = eq > 0 && Configuration.MainCfParser.IsValidName(p[..eq].Trim());
            if (isOverride) overrides.Add(p[..eq].Trim() + "=" + p[(eq + 1)..].Trim());
            else if (overrides.Count > 0) overrides[^1] += ", " + p;
            else throw new FormatException($"smtpd_listen: \"{p}\" is not name=value in \"{entry}\"");
        }
        return new ListenerSpec(parts[0], overrides);
    }

    private static List<string> SplitTopLevel(string s)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= s.Length; i++)
        {
            if (i < s.Length && s[i] == '{') depth++;
            else if (i < s.Length && s[i] == '}') depth--;
            else if (i == s.Length || (s[i] == ',' && depth == 0))
            {
                var part = s[start..i].Trim();
                if (part.Length > 0) parts.Add(part);
                start = i + 1;
            }
        }
        return parts;
    }

    /// <summary>A one-line description for logs.</summary>
    public override string ToString() => Overrides.Count == 0 ? Address : $"{Address} ({string.Join(" ", Overrides.Select(o => "-o " + o))})";
}
