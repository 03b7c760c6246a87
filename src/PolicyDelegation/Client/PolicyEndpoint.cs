// PolicyEndpoint: where a policy service lives: inet:host:port, unix:/path, or a program spawned per
// connection (what Postfix does with a spawn(8) service in master.cf, e.g. for policyd-spf).
// Follows Postfix SMTPD_POLICY_README ("check_policy_service inet:host:port / unix:pathname") and spawn(8).
namespace Mta.PolicyDelegation;

/// <summary>Kind of <see cref="PolicyEndpoint"/>.</summary>
public enum PolicyEndpointKind
{
    /// <summary>TCP: <c>inet:host:port</c>; host may be a name, an IPv4 address or a bracketed IPv6 address.</summary>
    Inet,
    /// <summary>UNIX-domain stream socket: <c>unix:/path</c>.</summary>
    Unix,
    /// <summary>A program started per connection, spoken to over its stdin/stdout: <c>spawn:/path/to/program</c>.</summary>
    Spawn,
}

/// <summary>A policy service address.</summary>
public sealed record PolicyEndpoint
{
    /// <summary>The transport.</summary>
    public required PolicyEndpointKind Kind { get; init; }

    /// <summary>Inet: host name or address (IPv6 without brackets). Unix: socket path. Spawn: program path.</summary>
    public required string Address { get; init; }

    /// <summary>Inet: TCP port (1-65535); 0 otherwise.</summary>
    public int Port { get; init; }

    /// <summary>Spawn: program arguments (only settable through the API; <c>spawn:</c> text carries none).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The endpoint as text, as written in configuration (used in diagnostics).</summary>
    public override string ToString() => Kind switch
    {
        PolicyEndpointKind.Inet => Address.Contains(':') ? $"inet:[{Address}]:{Port}" : $"inet:{Address}:{Port}",
        PolicyEndpointKind.Unix => $"unix:{Address}",
        _ => Arguments.Count == 0 ? $"spawn:{Address}" : $"spawn:{Address} {string.Join(' ', Arguments)}",
    };

    /// <summary>TCP endpoint.</summary>
    public static PolicyEndpoint Inet(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new() { Kind = PolicyEndpointKind.Inet, Address = host, Port = port };
    }

    /// <summary>UNIX-domain socket endpoint.</summary>
    public static PolicyEndpoint Unix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new() { Kind = PolicyEndpointKind.Unix, Address = path };
    }

    /// <summary>Program spawned per connection (one process per connection, like Postfix spawn(8)).</summary>
    public static PolicyEndpoint Spawn(string program, params string[] arguments)
    {
        ArgumentException.ThrowIfNullOrEmpty(program);
        return new() { Kind = PolicyEndpointKind.Spawn, Address = program, Arguments = arguments };
    }

    /// <summary>
    /// Parses <c>inet:host:port</c>, <c>inet:[v6addr]:port</c>, <c>unix:/path</c> or <c>spawn:/path</c>.
    /// </summary>
    /// <exception cref="FormatException">Unknown type, missing port, bad port, or empty address; the message says which.</exception>
    public static PolicyEndpoint Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.IndexOf(':');
        if (colon <= 0) throw new FormatException($"policy service \"{text}\": expected inet:host:port, unix:/path or spawn:/path");
        string type = text[..colon];
        string rest = text[(colon + 1)..];
        switch (type)
        {
            case "inet":
            {
                int portColon = rest.LastIndexOf(':');
                if (portColon <= 0) throw new FormatException($"policy service \"{text}\": missing host or port");
                string host = rest[..portColon];
                string portText = rest[(portColon + 1)..];
                if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
                if (host.Length == 0) throw new FormatException($"policy service \"{text}\": empty host");
                if (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port)
                    || port < 1 || port > 65535)
                    throw new FormatException($"policy service \"{text}\": bad port \"{portText}\"");
                return Inet(host, port);
            }
            case "unix":
                if (rest.Length == 0) throw new FormatException($"policy service \"{text}\": empty path");
                return Unix(rest);
            case "spawn":
                if (rest.Length == 0) throw new FormatException($"policy service \"{text}\": empty program");
                return Spawn(rest);
            default:
                throw new FormatException($"policy service \"{text}\": unknown endpoint type \"{type}\"");
        }
    }
}
