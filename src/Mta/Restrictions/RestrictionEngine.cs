// RestrictionEngine: the parsed smtpd_*_restrictions lists and what they need (mynetworks, our domains, the
// shared policy clients, reply codes), shared by all sessions; RestrictionSession holds per-session state.
// Follows Postfix SMTPD_ACCESS_README, postconf(5) smtpd_*_restrictions and smtpd_delay_reject,
// smtpd_check.c generic_checks (restriction names, first permit/reject ends a list, end of list = DUNNO).
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Pipeline;
using Mta.PolicyDelegation;
using Mta.Server;

namespace Mta.Restrictions;

/// <summary>Built-in restriction names the engine evaluates.</summary>
public enum RestrictionKind
{
    /// <summary><c>permit_mynetworks</c>: permit when the client address is in mynetworks.</summary>
    PermitMynetworks,
    /// <summary><c>permit_sasl_authenticated</c>: never matches (no AUTH yet).</summary>
    PermitSaslAuthenticated,
    /// <summary><c>reject_unauth_destination</c>: relay_domains_reject_code-style 554 5.7.1 "Relay access denied" unless the recipient is ours.</summary>
    RejectUnauthDestination,
    /// <summary><c>defer_unauth_destination</c>: 454 4.7.1 "Relay access denied" unless the recipient is ours.</summary>
    DeferUnauthDestination,
    /// <summary><c>permit_auth_destination</c>: permit when the recipient is ours.</summary>
    PermitAuthDestination,
    /// <summary><c>permit</c>.</summary>
    Permit,
    /// <summary><c>reject</c>: 554 5.7.1 "Access denied".</summary>
    Reject,
    /// <summary><c>defer</c>: 450 4.7.1 "Try again later".</summary>
    Defer,
    /// <summary><c>defer_if_permit</c>: 450 4.7.1 later if the request is permitted.</summary>
    DeferIfPermit,
    /// <summary><c>defer_if_reject</c>: 450 4.7.1 instead of a later 5xx reject.</summary>
    DeferIfReject,
    /// <summary><c>check_policy_service</c> with its service argument.</summary>
    CheckPolicyService,
}

/// <summary>One entry of a restriction list.</summary>
/// <param name="Kind">What it does.</param>
/// <param name="Name">The name as written.</param>
/// <param name="Service">For check_policy_service: the service argument text.</param>
/// <param name="Client">For check_policy_service: the shared client.</param>
public sealed record Restriction(RestrictionKind Kind, string Name, string? Service = null, PolicyClient? Client = null);

/// <summary>The restriction lists of the server and the facts they are evaluated against. Thread-safe, immutable.</summary>
public sealed class RestrictionEngine
{
    private static readonly Dictionary<string, RestrictionKind> Names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["permit_mynetworks"] = RestrictionKind.PermitMynetworks,
        ["permit_sasl_authenticated"] = RestrictionKind.PermitSaslAuthenticated,
        ["reject_unauth_destination"] = RestrictionKind.RejectUnauthDestination,
        ["defer_unauth_destination"] = RestrictionKind.DeferUnauthDestination,
        ["permit_auth_destination"] = RestrictionKind.PermitAuthDestination,
        ["permit"] = RestrictionKind.Permit,
        ["reject"] = RestrictionKind.Reject,
        ["defer"] = RestrictionKind.Defer,
        ["defer_if_permit"] = RestrictionKind.DeferIfPermit,
        ["defer_if_reject"] = RestrictionKind.DeferIfReject,
        ["check_policy_service"] = RestrictionKind.CheckPolicyService,
    };

    /// <summary>Builds the engine; parses every list and creates (lazily connecting) policy clients.</summary>
    /// <param name="smtpd">mynetworks, smtpd_relay_restrictions, smtpd_recipient_restrictions, smtputf8_enable.</param>
    /// <param name="options">the other lists, smtpd_delay_reject, access map codes, policy client defaults.</param>
    /// <param name="domains">which recipients are ours (mydestination, relay_domains).</param>
    /// <param name="services">shared policy clients; a private registry is made when null.</param>
    /// <param name="log">the smtpd log.</param>
    /// <param name="time">clock (instance attribute).</param>
    /// <exception cref="FormatException">An unknown restriction, a check_policy_service without a valid service, a bad mynetworks entry or policy setting.</exception>
    public RestrictionEngine(SmtpdOptions smtpd, RestrictionOptions? options, LocalDomains domains, PolicyServiceRegistry? services = null,
        ILogger? log = null, TimeProvider? time = null)
    {
        Options = options ?? new RestrictionOptions();
        Services = services ?? new PolicyServiceRegistry(Options.ToPolicySettings(smtpd.SmtpUtf8Enable), time);
        MyNetworks = NetworkList.Parse(smtpd.MyNetworks);
        Domains = domains;
        Log = log ?? NullLogger.Instance;
        Time = time ?? TimeProvider.System;
        ReplyOptions = new AccessReplyOptions
        {
            MapRejectCode = Options.AccessMapRejectCode,
            MapDeferCode = Options.AccessMapDeferCode,
            Utf8Enabled = smtpd.SmtpUtf8Enable,
        };
        Client = Parse("smtpd_client_restrictions", Options.ClientRestrictions);
        Helo = Parse("smtpd_helo_restrictions", Options.HeloRestrictions);
        Sender = Parse("smtpd_sender_restrictions", Options.SenderRestrictions);
        Relay = Parse("smtpd_relay_restrictions", smtpd.RelayRestrictions);
        Recipient = Parse("smtpd_recipient_restrictions", smtpd.RecipientRestrictions);
        Data = Parse("smtpd_data_restrictions", Options.DataRestrictions);
        EndOfData = Parse("smtpd_end_of_data_restrictions", Options.EndOfDataRestrictions);
    }

    /// <summary>The settings.</summary>
    public RestrictionOptions Options { get; }
    /// <summary>The shared policy clients.</summary>
    public PolicyServiceRegistry Services { get; }
    /// <summary>mynetworks.</summary>
    public NetworkList MyNetworks { get; }
    /// <summary>Our domains.</summary>
    public LocalDomains Domains { get; }
    internal ILogger Log { get; }
    internal TimeProvider Time { get; }
    internal AccessReplyOptions ReplyOptions { get; }

    /// <summary>smtpd_client_restrictions.</summary>
    public IReadOnlyList<Restriction> Client { get; }
    /// <summary>smtpd_helo_restrictions.</summary>
    public IReadOnlyList<Restriction> Helo { get; }
    /// <summary>smtpd_sender_restrictions.</summary>
    public IReadOnlyList<Restriction> Sender { get; }
    /// <summary>smtpd_relay_restrictions.</summary>
    public IReadOnlyList<Restriction> Relay { get; }
    /// <summary>smtpd_recipient_restrictions.</summary>
    public IReadOnlyList<Restriction> Recipient { get; }
    /// <summary>smtpd_data_restrictions.</summary>
    public IReadOnlyList<Restriction> Data { get; }
    /// <summary>smtpd_end_of_data_restrictions.</summary>
    public IReadOnlyList<Restriction> EndOfData { get; }

    /// <summary>Per-session evaluation state.</summary>
    /// <param name="mailVersion">sent as mail_version (empty when null).</param>
    public RestrictionSession NewSession(string? mailVersion = null) => new(this, mailVersion ?? "");

    /// <summary>
    /// Parses a restriction list (items as split by main.cf list syntax: names, and the service argument after
    /// check_policy_service, which may be a <c>{ ... }</c> group).
    /// </summary>
    /// <exception cref="FormatException">Unknown name, or check_policy_service without a valid argument; the message names <paramref name="parameter"/>.</exception>
    public IReadOnlyList<Restriction> Parse(string parameter, IReadOnlyList<string> items)
    {
        var list = new List<Restriction>();
        for (int i = 0; i < items.Count; i++)
        {
            string name = items[i];
            if (!Names.TryGetValue(name, out var kind))
                throw new FormatException($"{parameter}: unknown restriction \"{name}\" (supported: {string.Join(", ", Names.Keys.Order())})");
            if (kind != RestrictionKind.CheckPolicyService)
            {
                list.Add(new Restriction(kind, name));
                continue;
            }
            if (i + 1 >= items.Count) throw new FormatException($"{parameter}: check_policy_service needs a service (inet:host:port, unix:/path or spawn:/program)");
            string service = items[++i];
            try
            {
                list.Add(new Restriction(kind, name, service, Services.Get(service)));
            }
            catch (FormatException e)
            {
                throw new FormatException($"{parameter}: check_policy_service {service}: {e.Message}", e);
            }
        }
        return list;
    }
}
