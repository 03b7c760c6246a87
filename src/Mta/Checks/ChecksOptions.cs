// ChecksOptions: the main.cf parameters of the start-up security checks (issue 5): the mode of
// `mta serve` (smtpd_security_checks), which domains are checked, the host's public addresses for
// "the MX points at this host", the certificate expiry warning and the DNS timeout. The DNS server
// is the existing dns_resolver (DeliveryOptions). Authentication/DkimOptions holds dkim_signing_keys
// until the DKIM option class declares it (same name and format).
using Mta.Configuration;

namespace Mta.Checks;

/// <summary>How <c>mta serve</c> treats the security checks.</summary>
public enum SecurityCheckMode
{
    /// <summary>Do not run the checks at start.</summary>
    Off,
    /// <summary>Run them, log each warning and failure, start anyway.</summary>
    Warn,
    /// <summary>Run them and refuse to start on any failure (the production default).</summary>
    Enforce,
}

/// <summary>Parameters of the start-up security checks.</summary>
public sealed class ChecksOptions
{
    /// <summary>The <c>auto</c> value of <c>smtpd_security_checks</c>.</summary>
    public const string Auto = "auto";

    [Parameter("smtpd_security_checks", Auto, "Start-up security checks of mta serve: enforce (refuse to start on a failure), warn (log and start), off, or auto (enforce when a config file names a real domain, else warn).")]
    public string SecurityChecks { get; set; } = "";

    [Parameter("security_check_domains", "$mydestination, $relay_domains", "Domains whose MX, TLSA and SRV records are checked; '*', localhost names, lookup tables and $myhostname itself are skipped.")]
    public IReadOnlyList<string> Domains { get; set; } = [];

    [Parameter("security_check_host_addresses", "", "Public IP addresses of this host: an MX target resolving to one of them counts as this host (besides a target named $myhostname).")]
    public IReadOnlyList<string> HostAddresses { get; set; } = [];

    [Parameter("security_check_cert_expiry_warning", "14d", "A TLS certificate that expires within this time is a warning.", DefaultTimeUnit = 'd')]
    public TimeSpan CertExpiryWarning { get; set; }

    [Parameter("security_check_dns_timeout", "5s", "Time limit of each DNS query of the security checks (two tries per server).")]
    public TimeSpan DnsTimeout { get; set; }

    /// <summary>
    /// Parses <paramref name="configured"/> (<see cref="SecurityChecks"/>) and resolves <c>auto</c>: <see cref="SecurityCheckMode.Enforce"/>
    /// when the configuration came from a file (not the embedded default) and <paramref name="domains"/> holds at least
    /// one real domain (<see cref="IsRealDomain"/>); otherwise <see cref="SecurityCheckMode.Warn"/>. An explicit
    /// <c>enforce</c>, <c>warn</c> or <c>off</c> always wins, in the embedded default too. Pure; case-insensitive.
    /// </summary>
    /// <param name="configured">The value of <c>smtpd_security_checks</c>: enforce, warn, off, auto (or empty, same as auto).</param>
    /// <param name="isEmbeddedDefault">True when no config file was given (<c>mta serve</c> without <c>-c</c>).</param>
    /// <param name="domains">The domains the configuration names: the checked domains, DKIM signing domains,
    /// <c>myhostname</c>; entries that are not domain names ('*', tables) are ignored.</param>
    /// <exception cref="FormatException">Another value: the message names the parameter and the accepted values.</exception>
    public static SecurityCheckMode EffectiveMode(string configured, bool isEmbeddedDefault, IEnumerable<string> domains)
    {
        switch (configured.Trim().ToLowerInvariant())
        {
            case "enforce": return SecurityCheckMode.Enforce;
            case "warn": return SecurityCheckMode.Warn;
            case "off": return SecurityCheckMode.Off;
            case "" or Auto:
                return !isEmbeddedDefault && domains.Any(IsRealDomain) ? SecurityCheckMode.Enforce : SecurityCheckMode.Warn;
            default:
                throw new FormatException($"smtpd_security_checks: bad value \"{configured}\": expected enforce, warn, off or auto");
        }
    }

    /// <summary>
    /// True for a DNS name that can exist on the public internet: at least two labels, and not a special-use or
    /// reserved name: <c>localhost</c> and <c>.localhost</c>, <c>.test</c>, <c>.example</c>, <c>.invalid</c> (RFC 6761 6,
    /// RFC 2606 2), <c>example.com/net/org</c> (RFC 2606 3), <c>.local</c> (RFC 6762), <c>.home.arpa</c> (RFC 8375),
    /// <c>.localdomain</c> (the conventional unqualified-host suffix). '*' and lookup tables (<c>hash:/x</c>) are not domains.
    /// </summary>
    public static bool IsRealDomain(string name)
    {
        string d = name.Trim().TrimEnd('.').ToLowerInvariant();
        if (d.Length == 0 || !d.Contains('.') || d.IndexOfAny([':', '/', '*', ' ', '[', '{']) >= 0) return false;
        string[] reservedSuffixes = ["localhost", "test", "example", "invalid", "local", "home.arpa", "localdomain",
            "example.com", "example.net", "example.org"];
        return !reservedSuffixes.Any(s => d == s || d.EndsWith("." + s, StringComparison.Ordinal));
    }

    /// <summary>
    /// <paramref name="configured"/> (<see cref="Domains"/>) reduced to the domains to check: lower case, no trailing dot,
    /// de-duplicated in order; without '*', lookup tables (anything with ':' or '/'), <c>localhost</c>,
    /// <c>localhost.*</c> and <paramref name="myHostname"/> itself (the host's own name is reached through its address
    /// records, the implicit MX of RFC 5321 5.1, and has no mailboxes to submit or read).
    /// </summary>
    public static IReadOnlyList<string> DomainsToCheck(IEnumerable<string> configured, string myHostname)
    {
        string me = myHostname.Trim().TrimEnd('.').ToLowerInvariant();
        var result = new List<string>();
        foreach (string raw in configured)
        {
            string d = raw.Trim().TrimEnd('.').ToLowerInvariant();
            if (d.Length == 0 || d == "*" || d.IndexOfAny([':', '/']) >= 0) continue;
            if (d == "localhost" || d.StartsWith("localhost.", StringComparison.Ordinal) || d == me) continue;
            if (!result.Contains(d)) result.Add(d);
        }
        return result;
    }
}
