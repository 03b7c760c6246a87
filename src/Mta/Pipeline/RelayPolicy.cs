// RelayPolicy: evaluates smtpd_relay_restrictions and smtpd_recipient_restrictions at RCPT TO (through the
// restriction engine in Mta.Restrictions) with
// Postfix's semantics (first permit/reject/defer wins; end of list = permit). Never an open relay:
// with the default list a client outside mynetworks may only send to our own domains.
// Postfix postconf(5) smtpd_relay_restrictions, mynetworks, relay_domains; SMTPD_ACCESS_README.
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Restrictions;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Pipeline;

/// <summary>
/// Relay control and the built-in recipient restrictions; a facade over <see cref="RestrictionEngine"/>, which
/// evaluates all smtpd_*_restrictions lists (Mta.Restrictions).
/// </summary>
public sealed class RelayPolicy
{
    /// <exception cref="FormatException">an unknown restriction name, a bad policy service or a bad mynetworks entry.</exception>
    public RelayPolicy(SmtpdOptions smtpd, LocalDomains domains, RestrictionOptions? restrictions = null, PolicyServiceRegistry? services = null,
        ILogger? log = null, TimeProvider? time = null)
    {
        Engine = new RestrictionEngine(smtpd, restrictions, domains, services, log, time);
    }

    /// <summary>The restriction engine (all lists, shared policy clients).</summary>
    public RestrictionEngine Engine { get; }

    /// <summary>True when the client address is in mynetworks.</summary>
    public bool IsTrustedClient(IPAddress? client) => Engine.MyNetworks.Contains(client);
}

/// <summary>Which domains are ours: mydestination (local delivery) and relay_domains (we relay to them).</summary>
public sealed class LocalDomains
{
    private readonly HashSet<string> _local;
    private readonly HashSet<string> _relay;
    private readonly bool _all;

    public LocalDomains(IdentityOptions identity, SmtpdOptions smtpd)
    {
        _local = new HashSet<string>(identity.MyDestination.Select(d => d.TrimEnd('.').ToLowerInvariant()), StringComparer.Ordinal);
        _all = _local.Contains("*");
        _relay = new HashSet<string>(smtpd.RelayDomains.Select(d => d.TrimEnd('.').ToLowerInvariant()), StringComparer.Ordinal);
    }

    /// <summary>True when the recipient is delivered locally (mydestination; bare postmaster).</summary>
    public bool IsLocal(SmtpPath rcpt) => _all || rcpt.Domain.Length == 0 || _local.Contains(rcpt.DomainLower.TrimEnd('.'));

    /// <summary>True when an untrusted client may send to this recipient (Postfix "authorized destination").</summary>
    public bool IsAuthorizedDestination(SmtpPath rcpt)
    {
        if (IsLocal(rcpt)) return true;
        var d = rcpt.DomainLower.TrimEnd('.');
        if (_relay.Contains(d)) return true;
        foreach (var r in _relay)
            if (r.StartsWith('.') && d.EndsWith(r, StringComparison.Ordinal)) return true;
        return false;
    }
}
