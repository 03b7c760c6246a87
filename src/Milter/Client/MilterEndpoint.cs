// MilterEndpoint: the "transport:endpoint" string of a milter as Postfix accepts it in smtpd_milters:
// inet:host:port, inet:[ipv6]:port, unix:/path (also local:/path). Postfix milter8.c milter8_connect
// splits at the first ':'; inet endpoints are host:port with an optional [bracketed] host.
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Mta.Milter;

/// <summary>Where a milter listens.</summary>
public sealed record MilterEndpoint
{
    private MilterEndpoint(string text, string? host, int port, string? path)
    {
        Text = text;
        Host = host;
        Port = port;
        Path = path;
    }

    /// <summary>The endpoint as configured.</summary>
    public string Text { get; }
    /// <summary>For inet: the host name or address literal (without brackets); null for unix.</summary>
    public string? Host { get; }
    /// <summary>For inet: the TCP port 1..65535; 0 for unix.</summary>
    public int Port { get; }
    /// <summary>For unix: the socket path; null for inet.</summary>
    public string? Path { get; }
    /// <summary>True for a unix-domain socket.</summary>
    public bool IsUnix => Path is not null;

    /// <summary>The socket address to connect to: an <see cref="IPEndPoint"/>, <see cref="DnsEndPoint"/> or
    /// <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint ToEndPoint() =>
        Path is not null ? new UnixDomainSocketEndPoint(Path)
        : IPAddress.TryParse(Host, out var ip) ? new IPEndPoint(ip, Port)
        : new DnsEndPoint(Host!, Port);

    /// <summary>Parses <c>inet:host:port</c>, <c>inet:[ipv6]:port</c>, <c>unix:/path</c> or <c>local:/path</c>.</summary>
    /// <exception cref="FormatException">Not one of those forms (message names the problem).</exception>
    public static MilterEndpoint Parse(string text)
    {
        if (TryParse(text, out var ep, out var error)) return ep;
        throw new FormatException(error);
    }

    /// <summary>Non-throwing <see cref="Parse"/>; <paramref name="error"/> explains a failure.</summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MilterEndpoint? endpoint, out string error)
    {
        endpoint = null;
        error = "";
        int colon = text.IndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            error = $"Milter service needs transport:endpoint instead of \"{text}\"";
            return false;
        }
        string transport = text[..colon], rest = text[(colon + 1)..];
        switch (transport)
        {
            case "unix":
            case "local":
                endpoint = new MilterEndpoint(text, null, 0, rest);
                return true;
            case "inet":
                string host, port;
                if (rest.StartsWith('['))
                {
                    int close = rest.IndexOf(']');
                    if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
                    {
                        error = $"bad inet endpoint \"{rest}\": expected [address]:port";
                        return false;
                    }
                    host = rest[1..close];
                    port = rest[(close + 2)..];
                }
                else
                {
                    int last = rest.LastIndexOf(':');
                    if (last <= 0 || rest.IndexOf(':') != last)
                    {
                        error = $"bad inet endpoint \"{rest}\": expected host:port (IPv6 addresses in brackets)";
                        return false;
                    }
                    host = rest[..last];
                    port = rest[(last + 1)..];
                }
                if (host.Length == 0 || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p is < 1 or > 65535)
                {
                    error = $"bad inet endpoint \"{rest}\": host must be non-empty and port 1..65535";
                    return false;
                }
                endpoint = new MilterEndpoint(text, host, p, null);
                return true;
            default:
                error = $"invalid transport name: {transport} in Milter service: {text}";
                return false;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => Text;
}
