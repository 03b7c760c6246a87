// RelayPolicy: evaluates smtpd_relay_restrictions and smtpd_recipient_restrictions at RCPT TO with
// Postfix's semantics (first permit/reject/defer wins; end of list = permit). Never an open relay:
// with the default list a client outside mynetworks may only send to our own domains.
// Postfix postconf(5) smtpd_relay_restrictions, mynetworks, relay_domains; SMTPD_ACCESS_README.
using System.Net;
using Mta.Configuration;
using Mta.Server;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Pipeline;

/// <summary>Relay control and the built-in recipient restrictions.</summary>
public sealed class RelayPolicy
{
    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        "permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination", "defer_unauth_destination",
        "permit", "reject", "defer", "permit_auth_destination",
    };

    private readonly string[] _relayRestrictions;
    private readonly string[] _recipientRestrictions;
    private readonly NetworkList _myNetworks;
    private readonly LocalDomains _domains;

    /// <exception cref="FormatException">an unknown restriction name or a bad mynetworks entry.</exception>
    public RelayPolicy(SmtpdOptions smtpd, LocalDomains domains)
    {
        _relayRestrictions = Validate("smtpd_relay_restrictions", smtpd.RelayRestrictions);
        _recipientRestrictions = Validate("smtpd_recipient_restrictions", smtpd.RecipientRestrictions);
        _myNetworks = NetworkList.Parse(smtpd.MyNetworks);
        _domains = domains;
    }

    private static string[] Validate(string parameter, IReadOnlyList<string> list)
    {
        foreach (var r in list)
            if (!Known.Contains(r)) throw new FormatException($"{parameter}: unknown restriction \"{r}\" (supported: {string.Join(", ", Known.Order())})");
        return [.. list];
    }

    /// <summary>True when the client address is in mynetworks.</summary>
    public bool IsTrustedClient(IPAddress? client) => _myNetworks.Contains(client);

    /// <summary>Returns null to accept <paramref name="recipient"/> from <paramref name="client"/>, else the refusal.</summary>
    public SmtpReply? CheckRecipient(IPAddress? client, SmtpPath recipient)
    {
        foreach (var list in new[] { _relayRestrictions, _recipientRestrictions })
        {
            var r = Evaluate(list, client, recipient);
            if (r.Decided) { if (r.Reply != null) return r.Reply; }
        }
        return null;
    }

    private (bool Decided, SmtpReply? Reply) Evaluate(string[] list, IPAddress? client, SmtpPath rcpt)
    {
        foreach (var restriction in list)
        {
            switch (restriction.ToLowerInvariant())
            {
                case "permit": return (true, null);
                case "reject": return (true, new SmtpReply(554, "5.7.1", $"{rcpt}: Recipient address rejected: Access denied"));
                case "defer": return (true, new SmtpReply(450, "4.7.1", $"{rcpt}: Recipient address rejected: Try again later"));
                case "permit_mynetworks":
                    if (_myNetworks.Contains(client)) return (true, null);
                    break;
                case "permit_sasl_authenticated":
                    break; // no SASL yet: never matches
                case "permit_auth_destination":
                    if (_domains.IsAuthorizedDestination(rcpt)) return (true, null);
                    break;
                case "reject_unauth_destination":
                    if (!_domains.IsAuthorizedDestination(rcpt)) return (true, new SmtpReply(554, "5.7.1", $"{rcpt}: Relay access denied"));
                    break;
                case "defer_unauth_destination":
                    if (!_domains.IsAuthorizedDestination(rcpt)) return (true, new SmtpReply(454, "4.7.1", $"{rcpt}: Relay access denied"));
                    break;
            }
        }
        return (false, null);
    }
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
