// SecurityChecks: the glue between the configuration and the checks — builds SecurityCheckInput and
// the DNSSEC-aware resolver from main.cf parameters (myhostname, security_check_domains,
// smtpd_tls_cert_file/key_file, dns_resolver, security_check_*, dkim_signing_keys), resolves the
// smtpd_security_checks mode, and runs the checks at `mta serve` start (log, then refuse or go on).
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.Configuration;

namespace Mta.Checks;

/// <summary>Entry points for <c>mta check</c> and <c>mta serve</c>.</summary>
public static class SecurityChecks
{
    /// <summary>The option classes this feature adds to the catalog (<see cref="ParameterCatalog.OptionTypes"/>).</summary>
    public static IReadOnlyList<Type> OptionTypes { get; } = [typeof(ChecksOptions)];

    /// <summary>
    /// The checks' input from <paramref name="config"/>: <c>myhostname</c>; <c>security_check_domains</c> reduced by
    /// <see cref="ChecksOptions.DomainsToCheck"/>; <c>security_check_host_addresses</c>; <c>smtpd_tls_cert_file</c> and
    /// <c>smtpd_tls_key_file</c>; <c>security_check_cert_expiry_warning</c>; the DKIM keys from <paramref name="dkimKeys"/>
    /// (default: <c>dkim_signing_keys</c>).
    /// </summary>
    /// <exception cref="ConfigException">A bad address in security_check_host_addresses or a bad dkim_signing_keys item.</exception>
    public static SecurityCheckInput InputFrom(MtaConfiguration config, Func<MtaConfiguration, IReadOnlyList<DkimKeyToCheck>>? dkimKeys = null)
    {
        var identity = config.Get<IdentityOptions>();
        var smtpd = config.Get<SmtpdOptions>();
        var checks = config.Get<ChecksOptions>();
        var addresses = new List<IPAddress>();
        foreach (string a in checks.HostAddresses)
        {
            if (!IPAddress.TryParse(a.Trim('[', ']'), out var ip))
                throw new ConfigException($"{config.SourceOf("security_check_host_addresses") ?? "default of security_check_host_addresses"}: bad IP address \"{a}\"");
            addresses.Add(ip);
        }
        IReadOnlyList<DkimKeyToCheck> keys;
        try
        {
            keys = dkimKeys is not null ? dkimKeys(config)
                : DkimKeySource.FromParameter(config.Get<Authentication.DkimOptions>().SigningKeys);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{config.SourceOf("dkim_signing_keys") ?? "dkim_signing_keys"}: {e.Message}", e);
        }
        return new SecurityCheckInput
        {
            MyHostname = identity.MyHostname,
            Domains = ChecksOptions.DomainsToCheck(checks.Domains, identity.MyHostname),
            HostAddresses = addresses,
            // The certificate `mta serve` uses: smtpd_tls_cert_file, or the one it generates (and keeps) under
            // data_directory/tls when none is configured, so serve and check judge the same certificate.
            CertificateFile = smtpd.TlsCertFile.Length > 0 || smtpd.TlsSecurityLevel == "none" ? smtpd.TlsCertFile
                : Path.Combine(Path.GetFullPath(identity.DataDirectory), "tls", "cert.pem"),
            KeyFile = smtpd.TlsCertFile.Length > 0 || smtpd.TlsSecurityLevel == "none" ? smtpd.TlsKeyFile
                : Path.Combine(Path.GetFullPath(identity.DataDirectory), "tls", "key.pem"),
            DkimKeys = keys,
            CertificateExpiryWarning = checks.CertExpiryWarning,
        };
    }

    /// <summary>A DNSSEC-aware resolver for <c>dns_resolver</c> with <c>security_check_dns_timeout</c>.</summary>
    /// <exception cref="ConfigException">A malformed dns_resolver item.</exception>
    public static ISecurityDnsResolver ResolverFrom(MtaConfiguration config)
    {
        try
        {
            return DnsClientSecurityResolver.FromParameter(config.Get<DeliveryOptions>().DnsResolver, config.Get<ChecksOptions>().DnsTimeout);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{config.SourceOf("dns_resolver") ?? "dns_resolver"}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The effective mode of <c>smtpd_security_checks</c> (<see cref="ChecksOptions.EffectiveMode"/>) with the domains the
    /// configuration names: the checked domains, the DKIM signing domains and <c>myhostname</c>.
    /// </summary>
    /// <exception cref="ConfigException">A value other than enforce, warn, off, auto.</exception>
    public static SecurityCheckMode ModeFrom(MtaConfiguration config, bool isEmbeddedDefault, SecurityCheckInput input)
    {
        try
        {
            return ChecksOptions.EffectiveMode(config.Get<ChecksOptions>().SecurityChecks, isEmbeddedDefault,
                [.. input.Domains, .. input.DkimKeys.Select(k => k.Domain), input.MyHostname]);
        }
        catch (FormatException e)
        {
            throw new ConfigException($"{config.SourceOf("smtpd_security_checks") ?? "default of smtpd_security_checks"}: {e.Message}", e);
        }
    }

    /// <summary>Runs every check for <paramref name="config"/> against its resolver (the <c>mta check</c> run).</summary>
    /// <exception cref="ConfigException">See <see cref="InputFrom"/> and <see cref="ResolverFrom"/>.</exception>
    public static Task<IReadOnlyList<SecurityCheck>> RunAsync(MtaConfiguration config, CancellationToken cancellationToken = default,
        Func<MtaConfiguration, IReadOnlyList<DkimKeyToCheck>>? dkimKeys = null, TimeProvider? time = null) =>
        new SecurityChecker(ResolverFrom(config), time).RunAsync(InputFrom(config, dkimKeys), cancellationToken);

    /// <summary>
    /// The <c>mta serve</c> start gate. Resolves the mode; <c>off</c> logs one line and returns true. Otherwise runs the checks,
    /// logs each result as its <c>mta check</c> line (ok: Information, warning: Warning, failure: Error in warn mode and
    /// Critical in enforce mode), and returns false (do not start) when the mode is enforce and a check failed.
    /// With <paramref name="isEmbeddedDefault"/> it first logs that this is the development mode.
    /// </summary>
    /// <param name="config">The loaded configuration.</param>
    /// <param name="isEmbeddedDefault">True for <c>mta serve</c> without a config file.</param>
    /// <param name="logger">Where the lines go.</param>
    /// <param name="input">The checks' input; null: <see cref="InputFrom"/>(<paramref name="config"/>). Pass one to substitute
    /// the development mode's generated certificate and key, or another DKIM key provider
    /// (<c>SecurityChecks.InputFrom(config, provider) with { CertificateFile = ..., KeyFile = ... }</c>).</param>
    /// <param name="resolver">The DNS lookups; null: <see cref="ResolverFrom"/>(<paramref name="config"/>).</param>
    /// <param name="cancellationToken">Cancels the DNS lookups.</param>
    /// <returns>True to start, false to refuse.</returns>
    /// <exception cref="ConfigException">See <see cref="InputFrom"/>, <see cref="ResolverFrom"/>, <see cref="ModeFrom"/>.</exception>
    public static async Task<bool> RunAtStartAsync(MtaConfiguration config, bool isEmbeddedDefault, ILogger logger,
        SecurityCheckInput? input = null, ISecurityDnsResolver? resolver = null, CancellationToken cancellationToken = default)
    {
        input ??= InputFrom(config);
        SecurityCheckMode mode = ModeFrom(config, isEmbeddedDefault, input);
        if (isEmbeddedDefault)
            logger.LogWarning("development mode: no configuration file; self-signed certificate and DKIM key under data_directory; security checks: {Mode}", mode.ToString().ToLowerInvariant());
        if (mode == SecurityCheckMode.Off)
        {
            logger.LogWarning("security checks are off (smtpd_security_checks = off)");
            return true;
        }
        IReadOnlyList<SecurityCheck> results = await new SecurityChecker(resolver ?? ResolverFrom(config)).RunAsync(input, cancellationToken).ConfigureAwait(false);
        foreach (SecurityCheck r in results)
        {
            LogLevel level = r.Status switch
            {
                CheckStatus.Ok => LogLevel.Information,
                CheckStatus.Warning => LogLevel.Warning,
                // development mode: the failures are expected (no public DNS for a loopback test server); warn only
                _ => mode == SecurityCheckMode.Enforce ? LogLevel.Critical : isEmbeddedDefault ? LogLevel.Warning : LogLevel.Error,
            };
            logger.Log(level, "security check {Line}", r.Format());
        }
        int failures = results.Count(r => r.Status == CheckStatus.Failure);
        if (failures > 0 && mode == SecurityCheckMode.Enforce)
        {
            logger.LogCritical("refusing to start: {Failures} security check(s) failed (smtpd_security_checks = enforce; run mta check for the records to publish)", failures);
            return false;
        }
        if (failures > 0)
            logger.LogWarning("starting despite {Failures} failed security check(s) (smtpd_security_checks = warn)", failures);
        return true;
    }
}
