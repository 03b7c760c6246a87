// ListenerComposition: one SmtpListenerService per smtpd_listen entry. An entry with its own overrides
// ({ 127.0.0.1:10026, smtpd_proxy_filter=, smtpd_milters= }, like a master.cf service's -o lines) gets its
// own configuration — the same file and -o overrides reloaded with the entry's overrides last — and so
// its own smtpd limits, restrictions, milters and proxy filter; the queue, runner, router, dispatcher and
// pre-queue pipeline stay shared (docs/proxy-filter.md).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mta.Authentication;
using Mta.Configuration;
using Mta.Milters;
using Mta.Pipeline;
using Mta.Proxy;
using Mta.Queue;
using Mta.Restrictions;
using Mta.Routing;
using Mta.Smtp.Server;

namespace Mta.Server;

/// <summary>The per-listener settings, resolved (and validated) when the host is built.</summary>
internal sealed record ListenerPlan(ListenerSpec Spec, MtaConfiguration Config, bool Shared, IdentityOptions Identity, SmtpdOptions Smtpd,
    MilterOptions MilterOptions, IReadOnlyList<MilterSpec> Milters, ProxyOptions Proxy, ProxyFilterSettings? ProxyFilter)
{
    /// <summary>
    /// One plan per smtpd_listen entry; entries without overrides share <paramref name="config"/>.
    /// </summary>
    /// <exception cref="ConfigException">a listener override names an unknown parameter or a bad value.</exception>
    /// <exception cref="FormatException">a bad group, milter or proxy filter endpoint.</exception>
    public static IReadOnlyList<ListenerPlan> For(MtaConfiguration config)
    {
        var plans = new List<ListenerPlan>();
        foreach (var entry in config.Get<SmtpdOptions>().Listen)
        {
            var spec = ListenerSpec.Parse(entry);
            foreach (var o in spec.Overrides)
                if (o.StartsWith("smtpd_listen=", StringComparison.Ordinal))
                    throw new FormatException($"smtpd_listen: \"{entry}\": smtpd_listen cannot be overridden per listener");
            MtaConfiguration c = spec.Overrides.Count == 0 ? config
                : config.WithOverrides?.Invoke(spec.Overrides) ?? throw new FormatException($"smtpd_listen: \"{entry}\": listener overrides need a configuration loaded by ConfigLoader");
            var milterOptions = c.Get<MilterOptions>();
            var proxy = c.Get<ProxyOptions>();
            var smtpd = c.Get<SmtpdOptions>();
            if (!new[] { "none", "may", "encrypt" }.Contains(smtpd.TlsSecurityLevel))
                throw new FormatException($"smtpd_listen: \"{entry}\": smtpd_tls_security_level = {smtpd.TlsSecurityLevel}: expected none, may or encrypt");
            NetworkList.Parse(proxy.AuthorizedXforwardHosts);
            NetworkList.Parse(proxy.AuthorizedXclientHosts);
            plans.Add(new ListenerPlan(spec, c, spec.Overrides.Count == 0, c.Get<IdentityOptions>(), smtpd, milterOptions,
                MilterSpec.ParseAll(milterOptions), proxy, ProxyFilterSettings.From(proxy)));
        }
        return plans;
    }

    /// <summary>The listener service for this plan; shared services come from <paramref name="sp"/>.</summary>
    public SmtpListenerService Create(IServiceProvider sp, string spoolDirectory, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var logs = sp.GetRequiredService<ILoggerFactory>();
        var sessionLog = logs.CreateLogger("smtpd");
        var milterLog = logs.CreateLogger("milter");
        var time = sp.GetRequiredService<TimeProvider>();
        var router = sp.GetRequiredService<Router>();
        RelayPolicy relay;
        if (Shared) relay = sp.GetRequiredService<RelayPolicy>();
        else
        {
            var restrictions = Config.Get<RestrictionOptions>();
            relay = new RelayPolicy(Smtpd, new LocalDomains(Identity, Smtpd), restrictions,
                new PolicyServiceRegistry(restrictions.ToPolicySettings(Smtpd.SmtpUtf8Enable), time), sessionLog, time);
        }
        var sessionOptions = Shared ? sp.GetRequiredService<SmtpServerOptions>() : MtaServer.SessionOptions(Identity, Smtpd, spoolDirectory);
        var xforwardHosts = NetworkList.Parse(Proxy.AuthorizedXforwardHosts);
        var xclientHosts = NetworkList.Parse(Proxy.AuthorizedXclientHosts);
        if (ProxyFilter != null)
            sessionLog.LogInformation("{Listen}: smtpd_proxy_filter = {Filter}{Mode}", Spec.Address, ProxyFilter.EndPoint, ProxyFilter.SpeedAdjust ? " (speed_adjust)" : "");
        return new SmtpListenerService(Smtpd, Identity, sessionOptions,
            _ => new MtaSessionHandler(Identity, relay, sp.GetRequiredService<PrequeuePipeline>(), sp.GetRequiredService<QueueIdGenerator>(), time, sessionLog,
                Milters.Count > 0 ? new MilterChain(Milters, MilterOptions, milterLog, time) : null, router)
            {
                MilterOptions = MilterOptions,
                Authentication = sp.GetRequiredService<MessageAuthentication>(),
                ProxyFilter = ProxyFilter,
                XforwardHosts = xforwardHosts,
                XclientHosts = xclientHosts,
            },
            certificate, logs, [Spec.Address]);
    }
}
