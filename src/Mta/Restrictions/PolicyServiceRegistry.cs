// PolicyServiceRegistry: one PolicyClient per distinct check_policy_service argument text for the whole
// process, so connections are reused across sessions (Postfix keeps one per smtpd process and endpoint);
// and the parser for our "spawn:" endpoint with program arguments.
// Follows Postfix smtpd_check.c policy_client_register (one client per service text) and spawn(8).
using Mta.PolicyDelegation;

namespace Mta.Restrictions;

/// <summary>Shared policy clients, created on first use of a service text and disposed with the host.</summary>
public sealed class PolicyServiceRegistry : IAsyncDisposable
{
    private readonly Dictionary<string, PolicyClient> _clients = new(StringComparer.Ordinal);
    private readonly PolicyServiceSettings _globals;
    private readonly TimeProvider _time;

    /// <param name="globals">main.cf smtpd_policy_service_* values; per-service overrides start from these.</param>
    /// <param name="time">clock for timeouts and connection lifetimes.</param>
    public PolicyServiceRegistry(PolicyServiceSettings? globals = null, TimeProvider? time = null)
    {
        _globals = globals ?? PolicyServiceSettings.Default;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Clients created so far.</summary>
    public int Count { get { lock (_clients) return _clients.Count; } }

    /// <summary>The client for <paramref name="serviceText"/> (same text, same client).</summary>
    /// <exception cref="FormatException">The text is not a valid service (see <see cref="ParseService"/>).</exception>
    public PolicyClient Get(string serviceText)
    {
        lock (_clients)
        {
            if (_clients.TryGetValue(serviceText, out var c)) return c;
            c = new PolicyClient(ParseService(serviceText, _globals), _time);
            _clients.Add(serviceText, c);
            return c;
        }
    }

    /// <summary>
    /// Parses a <c>check_policy_service</c> argument: <c>inet:host:port</c>, <c>unix:/path</c>, <c>spawn:/program</c>,
    /// or <c>{ endpoint, name=value, ... }</c> (<see cref="PolicyServiceSpec.Parse"/>). Our addition for spawned
    /// programs: inside braces, the items after <c>spawn:/program</c> that contain no '=' are the program's
    /// arguments, e.g. <c>{ spawn:/usr/bin/policyd-spf /etc/policyd-spf.conf, timeout=10s }</c>. (Postfix
    /// declares such a program as a spawn(8) service in master.cf and points check_policy_service at its socket.)
    /// </summary>
    /// <exception cref="FormatException">Bad endpoint, option or value.</exception>
    public static PolicyServiceSpec ParseService(string text, PolicyServiceSettings? globals = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (!text.StartsWith('{')) return PolicyServiceSpec.Parse(text, globals);
        if (!text.EndsWith('}')) throw new FormatException($"missing '}}' in \"{text}\"");
        var items = AccessActionParser.SplitList(text[1..^1]);
        if (items.Count == 0 || !items[0].StartsWith("spawn:", StringComparison.Ordinal)) return PolicyServiceSpec.Parse(text, globals);
        int i = 1;
        var args = new List<string>();
        while (i < items.Count && !items[i].Contains('=') && !items[i].StartsWith('{')) args.Add(items[i++]);
        var spec = PolicyServiceSpec.Parse("{ " + string.Join(", ", items.Skip(i).Prepend(items[0])) + " }", globals);
        return spec with { Endpoint = PolicyEndpoint.Spawn(spec.Endpoint.Address, [.. args]) };
    }

    /// <summary>Closes every client's idle connections.</summary>
    public async ValueTask DisposeAsync()
    {
        PolicyClient[] all;
        lock (_clients) { all = [.. _clients.Values]; _clients.Clear(); }
        foreach (var c in all) await c.DisposeAsync().ConfigureAwait(false);
    }
}
