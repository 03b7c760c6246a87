// DkimSigningPolicy: which domains we sign for and with which keys, built from the `dkim_signing_keys`
// parameter (a Postfix-style list of DOMAIN:SELECTOR:/path/to/key.pem entries), and the choice of the
// signing domain for a message: the From: domain when it is ours, else the envelope sender's domain when
// it is ours, else none (RFC 6376 3.5 d=; RFC 7489 3.1 alignment is why From comes first).
namespace Mta.Dkim;

/// <summary>One configured key: sign mail of <see cref="Domain"/> with selector <see cref="Selector"/> and the key in <see cref="KeyFile"/>.</summary>
/// <param name="Domain">Signing domain (<c>d=</c>), normalised to lower-case A-label form without trailing dot.</param>
/// <param name="Selector">Selector (<c>s=</c>).</param>
/// <param name="KeyFile">Absolute path of the PEM private key.</param>
public sealed record DkimSigningKeySpec(string Domain, string Selector, string KeyFile);

/// <summary>A loaded key for a domain and selector.</summary>
/// <param name="Domain">Signing domain (normalised).</param>
/// <param name="Selector">Selector.</param>
/// <param name="Key">The private key; its algorithm decides <c>a=</c>.</param>
public sealed record DkimSigningIdentity(string Domain, string Selector, DkimKey Key);

/// <summary>
/// The set of signing identities, at most one RSA and one Ed25519 key per domain (RFC 8463 6: sign with both so
/// that verifiers that know only RSA still see a valid signature). Immutable; safe to share.
/// </summary>
public sealed class DkimSigningPolicy
{
    /// <summary>Name of the configuration parameter whose value <see cref="ParseKeySpecs"/> reads.</summary>
    public const string ParameterName = "dkim_signing_keys";

    private readonly Dictionary<string, IReadOnlyList<DkimSigningIdentity>> _byDomain;

    /// <summary>Builds a policy from already-loaded identities.</summary>
    /// <exception cref="ArgumentException">
    /// A domain or selector is invalid; the same domain and selector appear twice; or a domain has two keys of one algorithm.
    /// </exception>
    public DkimSigningPolicy(IEnumerable<DkimSigningIdentity> identities)
    {
        ArgumentNullException.ThrowIfNull(identities);
        var map = new Dictionary<string, List<DkimSigningIdentity>>(StringComparer.Ordinal);
        foreach (var id in identities)
        {
            var domain = DkimNames.NormalizeDomain(id.Domain) ?? throw new ArgumentException($"'{id.Domain}' is not a valid domain name", nameof(identities));
            DkimNames.ValidateSelector(id.Selector, nameof(identities));
            if (!map.TryGetValue(domain, out var list))
                map[domain] = list = new List<DkimSigningIdentity>();
            if (list.Any(o => o.Selector.Equals(id.Selector, StringComparison.OrdinalIgnoreCase)))
                throw new ArgumentException($"{ParameterName}: {domain}:{id.Selector} is listed twice", nameof(identities));
            if (list.Any(o => o.Key.Algorithm == id.Key.Algorithm))
                throw new ArgumentException($"{ParameterName}: {domain} has two {id.Key.Algorithm.KeyType()} keys; give each domain at most one RSA and one Ed25519 key", nameof(identities));
            list.Add(id with { Domain = domain });
        }
        _byDomain = map.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<DkimSigningIdentity>)kv.Value, StringComparer.Ordinal);
    }

    /// <summary>A policy that signs nothing.</summary>
    public static DkimSigningPolicy Empty { get; } = new([]);

    /// <summary>The domains we sign for (normalised).</summary>
    public IReadOnlyCollection<string> Domains => _byDomain.Keys;

    /// <summary>The identities of <paramref name="domain"/> in configuration order; empty when it is not ours.</summary>
    public IReadOnlyList<DkimSigningIdentity> IdentitiesFor(string domain) =>
        DkimNames.NormalizeDomain(domain) is { } d && _byDomain.TryGetValue(d, out var list) ? list : [];

    /// <summary>
    /// Chooses the signing domain: the first From: mailbox domain that is ours, else the envelope sender's
    /// domain if ours, else null (do not sign). Comparison is case-insensitive on A-labels; subdomains do not match.
    /// </summary>
    /// <param name="fromDomains">Domains of the From: mailboxes in header order (may be empty).</param>
    /// <param name="envelopeSender">MAIL FROM address (<c>local@domain</c>), or null/empty for the null sender.</param>
    public string? ChooseDomain(IEnumerable<string> fromDomains, string? envelopeSender)
    {
        foreach (var d in fromDomains)
        {
            if (DkimNames.NormalizeDomain(d) is { } n && _byDomain.ContainsKey(n))
                return n;
        }
        if (!string.IsNullOrEmpty(envelopeSender))
        {
            int at = envelopeSender.LastIndexOf('@');
            if (at >= 0 && DkimNames.NormalizeDomain(envelopeSender[(at + 1)..].TrimEnd('>')) is { } e && _byDomain.ContainsKey(e))
                return e;
        }
        return null;
    }

    /// <summary>
    /// Parses the value of <c>dkim_signing_keys</c>: entries <c>DOMAIN:SELECTOR:/absolute/path.pem</c> separated by commas
    /// and/or whitespace (Postfix list syntax). Example:
    /// <c>example.org:sel1:/etc/mta/dkim/sel1.example.org.rsa.pem, example.org:sel2:/etc/mta/dkim/sel2.example.org.ed25519.pem</c>.
    /// The path is everything after the second colon. An empty value means no signing.
    /// </summary>
    /// <exception cref="FormatException">An entry lacks a part, has an invalid domain or selector, or a relative path; the message quotes the entry.</exception>
    public static IReadOnlyList<DkimSigningKeySpec> ParseKeySpecs(string? value)
    {
        var specs = new List<DkimSigningKeySpec>();
        if (string.IsNullOrWhiteSpace(value))
            return specs;
        foreach (var entry in value.Split([',', ' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = entry.Split(':', 3);
            if (parts.Length != 3 || parts.Any(p => p.Length == 0))
                throw new FormatException($"{ParameterName}: '{entry}' is not DOMAIN:SELECTOR:/path/to/key.pem");
            var domain = DkimNames.NormalizeDomain(parts[0]) ?? throw new FormatException($"{ParameterName}: '{entry}': '{parts[0]}' is not a valid domain");
            try
            {
                DkimNames.ValidateSelector(parts[1], "selector");
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{ParameterName}: '{entry}': {e.Message.Split(" (Parameter")[0]}");
            }
            if (!Path.IsPathFullyQualified(parts[2]))
                throw new FormatException($"{ParameterName}: '{entry}': the key file must be an absolute path");
            specs.Add(new DkimSigningKeySpec(domain, parts[1], parts[2]));
        }
        return specs;
    }

    /// <summary>Parses <c>dkim_signing_keys</c> (<see cref="ParseKeySpecs"/>) and loads every key file (<see cref="DkimKey.LoadPemFile"/>).</summary>
    /// <exception cref="FormatException">The value is malformed.</exception>
    /// <exception cref="DkimKeyException">A key file cannot be used (the message names it).</exception>
    /// <exception cref="ArgumentException">Duplicate selector or two keys of one algorithm for a domain.</exception>
    public static DkimSigningPolicy Load(string? dkimSigningKeys) => Load(ParseKeySpecs(dkimSigningKeys));

    /// <summary>Loads the key files of <paramref name="specs"/>.</summary>
    /// <exception cref="DkimKeyException">A key file cannot be used.</exception>
    /// <exception cref="ArgumentException">Duplicate selector or two keys of one algorithm for a domain.</exception>
    public static DkimSigningPolicy Load(IEnumerable<DkimSigningKeySpec> specs) =>
        new(specs.Select(s => new DkimSigningIdentity(s.Domain, s.Selector, DkimKey.LoadPemFile(s.KeyFile))));
}
