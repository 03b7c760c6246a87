// Router: decides each recipient's next hop, in the order Postfix's trivial-rewrite/qmgr do for the
// cases we support: mydestination (postconf(5); '*' = every domain; "localhost" and a bare "postmaster"
// are always local) -> local; transport_maps (transport(5) lookup order: full address, domain, then
// ".parent" domains, then "*"); relayhost (postconf(5), [host]:port suppresses MX); else
// default_transport with the recipient domain as next hop.
using Mta.Configuration;
using Mta.Delivery;
using Mta.Smtp.Envelope;

namespace Mta.Routing;

/// <summary>Maps a recipient to its next hop. Implementations do not throw for any recipient.</summary>
public interface IRouter
{
    /// <summary>The next hop for <paramref name="recipient"/>.</summary>
    NextHop Route(SmtpPath recipient);
}

/// <summary>
/// The configured router. All tables are loaded and validated by the constructor; <see cref="Route"/>
/// does no I/O. A recipient whose domain cannot be a destination (a malformed address literal) gets an
/// Error next hop (<c>5.1.2</c>).
/// </summary>
public sealed class Router : IRouter
{
    private readonly HashSet<string> _localDomains;
    private readonly bool _allLocal;
    private readonly IReadOnlyList<TransportTable> _tables;
    private readonly TransportSpec? _relayHost;
    private readonly TransportSpec _defaultTransport;

    /// <summary>Builds the router from the option objects.</summary>
    /// <param name="identity">mydestination.</param>
    /// <param name="delivery">transport_maps, relayhost, default_transport.</param>
    /// <exception cref="RoutingConfigurationException">a table cannot be loaded (names table and line), or relayhost /
    /// default_transport is malformed.</exception>
    public Router(IdentityOptions identity, DeliveryOptions delivery)
    {
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(delivery);
        _localDomains = new HashSet<string>(StringComparer.Ordinal) { "localhost" };
        foreach (var d in identity.MyDestination)
        {
            var n = Normalize(d);
            if (n == "*") _allLocal = true;
            else if (n.Length > 0) _localDomains.Add(n);
        }
        _tables = JoinInlineItems(delivery.TransportMaps).Select(TransportTable.Load).ToArray();
        try
        {
            _relayHost = string.IsNullOrWhiteSpace(delivery.RelayHost) ? null : new TransportSpec("smtp", delivery.RelayHost.Trim());
            _relayHost?.ToNextHop("example.invalid");
        }
        catch (FormatException e) { throw new RoutingConfigurationException("relayhost", 0, e.Message, e); }
        try
        {
            _defaultTransport = TransportSpec.Parse(string.IsNullOrWhiteSpace(delivery.DefaultTransport) ? "smtp" : delivery.DefaultTransport);
            if (_defaultTransport.Transport.Length == 0) throw new FormatException("empty transport name");
        }
        catch (FormatException e) { throw new RoutingConfigurationException("default_transport", 0, e.Message, e); }
    }

    /// <inheritdoc/>
    public NextHop Route(SmtpPath recipient)
    {
        ArgumentNullException.ThrowIfNull(recipient);
        string domain = Normalize(recipient.Domain);
        if (domain.Length == 0 || _allLocal || _localDomains.Contains(domain)) return NextHop.Local;
        try
        {
            var spec = Lookup(recipient.LocalPart.ToLowerInvariant() + "@" + domain, domain);
            if (spec != null)
                return (spec.Transport.Length == 0 ? _defaultTransport with { NextHop = spec.NextHop.Length > 0 ? spec.NextHop : _defaultTransport.NextHop } : spec).ToNextHop(domain);
            if (_relayHost != null) return _relayHost.ToNextHop(domain);
            return _defaultTransport.ToNextHop(domain);
        }
        catch (FormatException)
        {
            return new NextHop(TransportKind.Error, "5.1.2 Bad destination system address", 0, true);
        }
    }

    private TransportSpec? Lookup(string address, string domain)
    {
        if (_tables.Count == 0) return null;
        foreach (var key in Keys(address, domain))
            foreach (var t in _tables)
                if (t.TryLookup(key, out var spec)) return spec;
        return null;
    }

    /// <summary>transport(5) search order: user@domain, domain, .parent domains (closest first), then *.</summary>
    private static IEnumerable<string> Keys(string address, string domain)
    {
        yield return address;
        yield return domain;
        if (!domain.StartsWith('['))
        {
            for (int dot = domain.IndexOf('.'); dot >= 0; dot = domain.IndexOf('.', dot + 1))
                yield return domain[dot..];
        }
        yield return "*";
    }

    private static string Normalize(string domain) => domain.Trim().TrimEnd('.').ToLowerInvariant();

    /// <summary>
    /// A list-valued parameter split on commas breaks <c>inline:{ a=x, b=y }</c> apart; put such pieces back together.
    /// </summary>
    internal static IEnumerable<string> JoinInlineItems(IEnumerable<string> items)
    {
        string? pending = null;
        foreach (var raw in items)
        {
            var item = raw.Trim();
            if (item.Length == 0) continue;
            pending = pending == null ? item : pending + ", " + item;
            if (pending.Count(c => c == '{') <= pending.Count(c => c == '}'))
            {
                yield return pending;
                pending = null;
            }
        }
        if (pending != null) yield return pending;
    }
}
