// PolicyServiceSettings: the smtpd_policy_service_* parameters of one policy service, with Postfix defaults,
// and the per-service override syntax "{ endpoint, name=value, ... }".
// Follows Postfix postconf(5) / global/mail_params.h (names and defaults), SMTPD_POLICY_README
// ("Policy client/server configuration"), smtpd_check.c policy_client_register, global/attr_override.c,
// global/conv_time.c, util/split_nameval.c.
using System.Globalization;

namespace Mta.PolicyDelegation;

/// <summary>
/// Client behaviour for one policy service. Times are <see cref="TimeSpan"/>s (Postfix: whole seconds, minimum
/// 1s when set through the override syntax).
/// </summary>
public sealed record PolicyServiceSettings
{
    /// <summary>Postfix's defaults.</summary>
    public static PolicyServiceSettings Default { get; } = new();

    /// <summary><c>smtpd_policy_service_timeout</c>: limit for connecting and for each read and write. Default 100s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary><c>smtpd_policy_service_max_idle</c>: close a connection unused this long. Default 300s.</summary>
    public TimeSpan MaxIdle { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary><c>smtpd_policy_service_max_ttl</c>: close a connection this old (checked between requests). Default 1000s.</summary>
    public TimeSpan MaxTtl { get; init; } = TimeSpan.FromSeconds(1000);

    /// <summary><c>smtpd_policy_service_request_limit</c>: requests per connection, 0 = no limit. Default 0.</summary>
    public int RequestLimit { get; init; }

    /// <summary><c>smtpd_policy_service_try_limit</c>: attempts per request before the default action, at least 1. Default 2.</summary>
    public int TryLimit { get; init; } = 2;

    /// <summary><c>smtpd_policy_service_retry_delay</c>: pause between attempts. Default 1s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary><c>smtpd_policy_service_default_action</c>: access(5) result used when every attempt failed.</summary>
    public string DefaultAction { get; init; } = "451 4.3.5 Server configuration problem";

    /// <summary><c>smtpd_policy_service_policy_context</c>: sent as <c>policy_context</c>. Default empty.</summary>
    public string PolicyContext { get; init; } = "";

    /// <summary>
    /// Not a Postfix parameter: connections this client keeps to the service at most, which is also the number
    /// of concurrent requests (Postfix: one connection per smtpd process, default_process_limit = 100). Default 100.
    /// </summary>
    public int MaxConnections { get; init; } = 100;

    /// <summary>Not a Postfix parameter: largest reply accepted, bytes (Postfix has no limit). Default 65536.</summary>
    public int MaxReplyBytes { get; init; } = PolicyReplyReader.DefaultMaxReplyBytes;

    /// <summary>
    /// <c>smtputf8_enable</c>: when true (Postfix default) an action that is not valid UTF-8 is replaced by the
    /// default action.
    /// </summary>
    public bool RequireUtf8Action { get; init; } = true;

    /// <summary>The default action parsed.</summary>
    public AccessAction ParsedDefaultAction => AccessActionParser.Parse(DefaultAction);
}

/// <summary>A <c>check_policy_service</c> argument: endpoint plus effective settings.</summary>
/// <param name="Endpoint">Where the service lives.</param>
/// <param name="Settings">Global settings with this service's overrides applied.</param>
public sealed record PolicyServiceSpec(PolicyEndpoint Endpoint, PolicyServiceSettings Settings)
{
    /// <summary>
    /// Parses a <c>check_policy_service</c> argument: either a bare endpoint (<c>inet:127.0.0.1:10023</c>) or
    /// <c>{ endpoint, name = value, ... }</c> with the override names <c>timeout</c>, <c>max_idle</c>,
    /// <c>max_ttl</c>, <c>retry_delay</c> (time: digits with optional unit s/m/h/d/w, default s, at least 1s),
    /// <c>request_limit</c> (integer ≥ 0), <c>try_limit</c> (integer ≥ 1), <c>default_action</c>,
    /// <c>policy_context</c> (non-empty strings). Items are separated by commas or white space; a value with
    /// separators is written as <c>{ name = value with spaces }</c>.
    /// </summary>
    /// <param name="text">The argument text.</param>
    /// <param name="globals">The main.cf smtpd_policy_service_* settings the overrides start from; Postfix defaults when null.</param>
    /// <exception cref="FormatException">Syntax error, unknown option, or bad value, with Postfix's wording.</exception>
    public static PolicyServiceSpec Parse(string text, PolicyServiceSettings? globals = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var s = globals ?? PolicyServiceSettings.Default;
        if (!text.StartsWith('{')) return new(PolicyEndpoint.Parse(text), s);

        string inner = StripBraces(text);
        var items = AccessActionParser.SplitList(inner);
        if (items.Count == 0) throw new FormatException($"empty policy service: \"{text}\"");
        var endpoint = PolicyEndpoint.Parse(items[0]);
        foreach (string raw in items.Skip(1))
        {
            string item = raw.StartsWith('{') ? StripBraces(raw) : raw;
            var (key, value) = SplitNameValue(item);
            s = key switch
            {
                "timeout" => s with { Timeout = Time(key, value) },
                "max_idle" => s with { MaxIdle = Time(key, value) },
                "max_ttl" => s with { MaxTtl = Time(key, value) },
                "retry_delay" => s with { RetryDelay = Time(key, value) },
                "request_limit" => s with { RequestLimit = Int(key, value, 0) },
                "try_limit" => s with { TryLimit = Int(key, value, 1) },
                "default_action" => s with { DefaultAction = Str(key, value) },
                "policy_context" => s with { PolicyContext = Str(key, value) },
                _ => throw new FormatException($"unknown option: \"{key} = {value}\""),
            };
        }
        return new(endpoint, s);
    }

    /// <summary>
    /// Postfix conv_time: a non-negative decimal number followed by an optional unit (w, d, h, m, s; default
    /// <paramref name="defaultUnit"/>). Only the first character after the digits is looked at, as in Postfix.
    /// </summary>
    public static bool TryParseTime(string value, out TimeSpan result, char defaultUnit = 's')
    {
        result = default;
        int n = 0;
        while (n < value.Length && char.IsAsciiDigit(value[n])) n++;
        if (n == 0 || !int.TryParse(value.AsSpan(0, n), NumberStyles.None, CultureInfo.InvariantCulture, out int number))
            return false;
        char unit = n < value.Length ? value[n] : defaultUnit;
        long seconds = unit switch
        {
            'w' => number * 604800L,
            'd' => number * 86400L,
            'h' => number * 3600L,
            'm' => number * 60L,
            's' => number,
            _ => -1,
        };
        if (seconds < 0 || seconds > int.MaxValue) return false;
        result = TimeSpan.FromSeconds(seconds);
        return true;
    }

    private static string StripBraces(string text)
    {
        int depth = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '{') depth++;
            else if (text[i] == '}' && --depth == 0)
            {
                if (i != text.Length - 1) throw new FormatException($"syntax error after '}}' in \"{text}\"");
                return text[1..i];
            }
        }
        throw new FormatException($"missing '}}' in \"{text}\"");
    }

    private static (string Key, string Value) SplitNameValue(string item)
    {
        int eq = item.IndexOf('=');
        string name = (eq < 0 ? item : item[..eq]).Trim();
        if (name.Length == 0) throw new FormatException($"malformed option: missing attribute name: \"...{item}...\"");
        if (eq < 0 || name.Any(char.IsWhiteSpace))
            throw new FormatException($"malformed option: missing '=' after attribute name: \"...{item}...\"");
        return (name, item[(eq + 1)..].Trim());
    }

    private static TimeSpan Time(string key, string value)
    {
        if (!TryParseTime(value, out var t)) throw new FormatException($"{key}: bad time value or unit: {value}");
        if (t < TimeSpan.FromSeconds(1)) throw new FormatException($"invalid {key} parameter value {value} < 1s");
        return t;
    }

    private static int Int(string key, string value, int min)
    {
        if (!int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
            throw new FormatException($"bad numerical configuration: {key} = {value}");
        if (v < min) throw new FormatException($"invalid {key} parameter value {v} < {min}");
        return v;
    }

    private static string Str(string key, string value)
    {
        if (value.Length == 0) throw new FormatException($"bad string length 0 < 1: {key} = {value}");
        return value;
    }
}
