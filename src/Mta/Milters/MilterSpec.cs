// MilterSpec: one smtpd_milters entry — the endpoint and its per-milter overrides, Postfix 3.0+ syntax
// "{ inet:host:port, default_action=accept, protocol=6, command_timeout=10s, ... }" (MILTER_README).
using Mta.Configuration;
using Mta.Milter;

namespace Mta.Milters;

/// <summary>What to do when a milter breaks (milter_default_action).</summary>
public enum MilterDefaultAction
{
    /// <summary>Go on without this milter for the rest of the session.</summary>
    Accept,
    /// <summary>Refuse with 550 5.5.0.</summary>
    Reject,
    /// <summary>Refuse with 451 4.7.1.</summary>
    TempFail,
    /// <summary>Accept and put the message on hold.</summary>
    Quarantine,
    /// <summary>421 and close the SMTP session.</summary>
    Shutdown,
}

/// <summary>One configured milter.</summary>
public sealed record MilterSpec(MilterEndpoint Endpoint, MilterDefaultAction DefaultAction, int Protocol,
    TimeSpan ConnectTimeout, TimeSpan CommandTimeout, TimeSpan ContentTimeout)
{
    /// <summary>Parses every smtpd_milters entry with the global defaults.</summary>
    /// <exception cref="FormatException">bad endpoint, unknown override, bad value.</exception>
    public static IReadOnlyList<MilterSpec> ParseAll(MilterOptions options) =>
        options.SmtpdMilters.Select(e => Parse(e, options)).ToList();

    /// <summary>Parses one entry, e.g. <c>inet:127.0.0.1:11332</c> or <c>{ unix:/run/m.sock, default_action=accept }</c>.</summary>
    /// <exception cref="FormatException">bad endpoint, unknown override, bad value.</exception>
    public static MilterSpec Parse(string entry, MilterOptions defaults)
    {
        var text = entry.Trim();
        var parts = new List<string>();
        if (text.StartsWith('{'))
        {
            if (!text.EndsWith('}')) throw new FormatException($"smtpd_milters: missing '}}' in \"{entry}\"");
            parts.AddRange(text[1..^1].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
        }
        else parts.Add(text);
        if (parts.Count == 0) throw new FormatException($"smtpd_milters: empty entry \"{entry}\"");
        if (!MilterEndpoint.TryParse(parts[0], out var endpoint, out var error))
            throw new FormatException($"smtpd_milters: \"{parts[0]}\": {error}");
        var spec = new MilterSpec(endpoint, ParseAction(defaults.DefaultAction, "milter_default_action"), defaults.Protocol,
            defaults.ConnectTimeout, defaults.CommandTimeout, defaults.ContentTimeout);
        foreach (var p in parts.Skip(1))
        {
            int eq = p.IndexOf('=');
            if (eq <= 0) throw new FormatException($"smtpd_milters: \"{p}\" is not name=value in \"{entry}\"");
            var name = p[..eq].Trim();
            var value = p[(eq + 1)..].Trim();
            spec = name switch
            {
                "default_action" => spec with { DefaultAction = ParseAction(value, "default_action") },
                "protocol" => spec with { Protocol = ParseProtocol(value) },
                "connect_timeout" => spec with { ConnectTimeout = Time(value, name) },
                "command_timeout" => spec with { CommandTimeout = Time(value, name) },
                "content_timeout" => spec with { ContentTimeout = Time(value, name) },
                _ => throw new FormatException($"smtpd_milters: unknown milter setting \"{name}\" in \"{entry}\""),
            };
        }
        if (spec.Protocol is not (2 or 3 or 4 or 6)) throw new FormatException($"milter protocol {spec.Protocol}: expected 2, 3, 4 or 6");
        return spec;
    }

    private static int ParseProtocol(string v) =>
        int.TryParse(v, out int p) ? p : throw new FormatException($"smtpd_milters: protocol \"{v}\" is not a number");

    private static TimeSpan Time(string v, string name) =>
        ParameterValues.TryParseTime(v, 's') ?? throw new FormatException($"smtpd_milters: {name} \"{v}\" is not a time value");

    /// <summary>Parses accept, reject, tempfail, quarantine, shutdown (case-insensitive).</summary>
    /// <exception cref="FormatException">anything else.</exception>
    public static MilterDefaultAction ParseAction(string v, string what) => v.Trim().ToLowerInvariant() switch
    {
        "accept" => MilterDefaultAction.Accept,
        "reject" => MilterDefaultAction.Reject,
        "tempfail" => MilterDefaultAction.TempFail,
        "quarantine" => MilterDefaultAction.Quarantine,
        "shutdown" => MilterDefaultAction.Shutdown,
        _ => throw new FormatException($"{what} = {v}: expected accept, reject, tempfail, quarantine or shutdown"),
    };
}
