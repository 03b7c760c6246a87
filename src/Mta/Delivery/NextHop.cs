// NextHop: where a recipient goes, as routing decided (Postfix's transport:nexthop).
// Postfix transport(5) syntax: smtp:[host]:port (no MX lookup), smtp:host (MX lookup), lmtp:unix:/path.
namespace Mta.Delivery;

/// <summary>The delivery transport of a next hop.</summary>
public enum TransportKind
{
    /// <summary>SMTP (RFC 5321) to a host or the MX hosts of a domain.</summary>
    Smtp,
    /// <summary>LMTP (RFC 2033) over TCP or a UNIX socket.</summary>
    Lmtp,
    /// <summary>Local Maildir delivery.</summary>
    Local,
    /// <summary>Postfix's error transport: every recipient bounces with the given text.</summary>
    Error,
    /// <summary>Postfix's discard transport: accepted and dropped (benchmarks, sinks).</summary>
    Discard,
}

/// <summary>
/// A routing decision. Recipients with equal next hops are delivered in one transaction.
/// </summary>
/// <param name="Transport">the transport.</param>
/// <param name="Host">host name, IP literal or domain ("" for Local; the text for Error).</param>
/// <param name="Port">TCP port (25 for smtp, 24 for lmtp by default; 0 for a UNIX socket).</param>
/// <param name="SuppressMx">true when the host was written in brackets: connect to its A/AAAA, no MX lookup.</param>
/// <param name="UnixSocketPath">path of a UNIX socket (lmtp:unix:/path), else null.</param>
public sealed record NextHop(TransportKind Transport, string Host, int Port, bool SuppressMx, string? UnixSocketPath = null)
{
    /// <summary>Local Maildir delivery.</summary>
    public static NextHop Local { get; } = new(TransportKind.Local, "", 0, true);

    /// <summary>Postfix transport(5) form, e.g. <c>smtp:[10.0.0.1]:2525</c> or <c>lmtp:unix:/run/lmtp</c>.</summary>
    public override string ToString() => Transport switch
    {
        TransportKind.Local => "local",
        TransportKind.Discard => "discard:" + Host,
        TransportKind.Error => "error:" + Host,
        _ when UnixSocketPath != null => $"{Transport.ToString().ToLowerInvariant()}:unix:{UnixSocketPath}",
        _ => $"{Transport.ToString().ToLowerInvariant()}:{(SuppressMx ? "[" + Host + "]" : Host)}:{Port}",
    };
}
