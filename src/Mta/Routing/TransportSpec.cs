// TransportSpec: one "transport:nexthop" value as Postfix transport(5) writes it, parsed and validated,
// and its expansion into a NextHop for a recipient domain. Implements transport(5) RESULT FORMAT:
// smtp:[host]:port, smtp:host[:port], smtp:[host], smtp: (empty nexthop = recipient domain),
// lmtp:host:port, lmtp:[host]:port, lmtp:inet:host:port, lmtp:unix:/path, local:, discard:[text],
// error:text, relay: (= smtp); an empty transport field means default_transport.
using System.Globalization;
using System.Net;
using Mta.Delivery;

namespace Mta.Routing;

/// <summary>A parsed <c>transport:nexthop</c> value; <see cref="Transport"/> "" means "the default transport".</summary>
/// <param name="Transport">lower-case transport name: smtp, relay, lmtp, local, discard, error, or "".</param>
/// <param name="NextHop">the nexthop text as written; "" means "the recipient domain" (smtp/lmtp).</param>
public sealed record TransportSpec(string Transport, string NextHop)
{
    /// <summary>Default SMTP port (RFC 5321 4.5.4.2).</summary>
    public const int SmtpPort = 25;
    /// <summary>Default LMTP port (RFC 2033 has none; Postfix and Dovecot use 24).</summary>
    public const int LmtpPort = 24;

    /// <summary>Parses <c>transport:nexthop</c>; a value without ':' is a transport name with empty nexthop.</summary>
    /// <exception cref="FormatException">unknown transport, or a nexthop that cannot be a destination.</exception>
    public static TransportSpec Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        value = value.Trim();
        int colon = value.IndexOf(':');
        string transport = (colon < 0 ? value : value[..colon]).Trim().ToLowerInvariant();
        string nexthop = colon < 0 ? "" : value[(colon + 1)..].Trim();
        if (transport is not ("" or "smtp" or "relay" or "lmtp" or "local" or "discard" or "error"))
            throw new FormatException($"unknown transport \"{transport}\" in \"{value}\" (supported: smtp, relay, lmtp, local, discard, error)");
        var spec = new TransportSpec(transport, nexthop);
        if (transport is "smtp" or "relay" or "lmtp" && nexthop.Length > 0) spec.ToNextHop("example.invalid"); // validate syntax now
        return spec;
    }

    /// <summary>
    /// The next hop for a recipient in <paramref name="recipientDomain"/> (lower-case, may be an address
    /// literal such as <c>[192.0.2.1]</c>). Must not be called on a spec with empty <see cref="Transport"/>.
    /// </summary>
    /// <exception cref="FormatException">the nexthop (or the recipient domain standing in for it) is malformed.</exception>
    public NextHop ToNextHop(string recipientDomain)
    {
        switch (Transport)
        {
            case "local": return Delivery.NextHop.Local;
            case "discard": return new NextHop(TransportKind.Discard, NextHop, 0, true);
            case "error": return new NextHop(TransportKind.Error, NextHop, 0, true);
            case "smtp" or "relay":
            {
                var (host, port, bracketed) = ParseHostPort(NextHop.Length > 0 ? NextHop : recipientDomain, SmtpPort);
                return new NextHop(TransportKind.Smtp, host, port, bracketed || IPAddress.TryParse(host, out _));
            }
            case "lmtp":
            {
                string dest = NextHop.Length > 0 ? NextHop : recipientDomain;
                if (dest.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
                {
                    string path = dest[5..];
                    if (path.Length == 0) throw new FormatException("lmtp:unix: needs a socket path");
                    return new NextHop(TransportKind.Lmtp, "", 0, true, path);
                }
                if (dest.StartsWith("inet:", StringComparison.OrdinalIgnoreCase)) dest = dest[5..];
                var (host, port, _) = ParseHostPort(dest, LmtpPort);
                return new NextHop(TransportKind.Lmtp, host, port, true);   // LMTP never uses MX records
            }
            default: throw new InvalidOperationException("an empty transport must be replaced by default_transport first");
        }
    }

    /// <summary>Parses <c>[host]:port</c>, <c>[host]</c>, <c>host:port</c> or <c>host</c>; strips an <c>IPv6:</c> tag inside brackets.</summary>
    /// <exception cref="FormatException">empty host, unbalanced bracket, bad port.</exception>
    public static (string Host, int Port, bool Bracketed) ParseHostPort(string text, int defaultPort)
    {
        text = text.Trim();
        string host, rest;
        bool bracketed = text.StartsWith('[');
        if (bracketed)
        {
            int close = text.IndexOf(']');
            if (close < 0) throw new FormatException($"missing ']' in \"{text}\"");
            host = text[1..close];
            rest = text[(close + 1)..];
            if (host.StartsWith("ipv6:", StringComparison.OrdinalIgnoreCase)) host = host[5..];
            if (rest.Length > 0 && rest[0] != ':') throw new FormatException($"unexpected text after ']' in \"{text}\"");
        }
        else
        {
            int colon = text.IndexOf(':');
            host = colon < 0 ? text : text[..colon];
            rest = colon < 0 ? "" : text[colon..];
        }
        host = host.TrimEnd('.').ToLowerInvariant();
        if (host.Length == 0) throw new FormatException($"empty host in \"{text}\"");
        if (host.AsSpan().IndexOfAny(" \t,/[]") >= 0 && !bracketed) throw new FormatException($"invalid host \"{host}\"");
        int port = defaultPort;
        if (rest.Length > 0)
        {
            if (!int.TryParse(rest.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
                throw new FormatException($"invalid port in \"{text}\"");
        }
        return (host, port, bracketed);
    }
}
