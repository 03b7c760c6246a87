// MtaServer: composes `mta serve` — configuration, logging in Postfix's shape, the durable queue and its
// runner, routing and delivery agents, the pre-queue pipeline and the SMTP listeners — on the .NET
// generic host (SIGTERM = graceful stop: listeners close, sessions in flight finish, the runner stops).
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mta.Authentication;
using Mta.Bounce;
using Mta.Checks;
using Mta.Dkim;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Logging;
using Mta.Milters;
using Mta.Pipeline;
using Mta.Queue;
using Mta.Restrictions;
using Mta.Routing;
using Mta.Smtp.Server;

namespace Mta.Server;

/// <summary>Builds and runs the server process.</summary>
public static class MtaServer
{
    /// <summary>
    /// Builds the host for <paramref name="config"/> and the input of the start-up security checks (with the
    /// generated development certificate and DKIM key in the embedded default). Throws for invalid settings.
    /// </summary>
    /// <param name="config">the loaded configuration.</param>
    /// <param name="embeddedDefault">true when no configuration file was given (development mode).</param>
    /// <exception cref="FormatException">a setting that binds but cannot be used (bad network, listen address, restriction).</exception>
    public static (IHost Host, SecurityCheckInput Checks) Build(MtaConfiguration config, bool embeddedDefault)
    {
        var identity = config.Get<IdentityOptions>();
        var smtpd = config.Get<SmtpdOptions>();
        var delivery = config.Get<DeliveryOptions>();
        var queue = config.Get<QueueOptions>();
        var queueBackend = config.Get<Mta.Queue.S3.S3QueueOptions>();
        if (smtpd.LineLengthLimit < 512) throw new FormatException($"line_length_limit = {smtpd.LineLengthLimit}: must be at least 512 (RFC 5321 4.5.3.1.4)");
        if (!new[] { "none", "may", "encrypt" }.Contains(smtpd.TlsSecurityLevel)) throw new FormatException($"smtpd_tls_security_level = {smtpd.TlsSecurityLevel}: expected none, may or encrypt");
        if (!new[] { "none", "may", "encrypt" }.Contains(delivery.TlsSecurityLevel)) throw new FormatException($"smtp_tls_security_level = {delivery.TlsSecurityLevel}: expected none, may or encrypt");
        var dataDirectory = Path.GetFullPath(identity.DataDirectory);
        var spoolDirectory = Path.Combine(dataDirectory, "tmp");
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(spoolDirectory);
        else Directory.CreateDirectory(spoolDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var dkim = config.Get<DkimOptions>();
        if (embeddedDefault && dkim.SigningKeys.Count == 0)
            dkim = DevelopmentDkimKey(dkim, identity, dataDirectory);
        var dkimSigner = MessageAuthentication.CreateSigner(dkim, TimeProvider.System);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        var logging = config.Get<LoggingOptions>();
        if (logging.FlushIntervalMs is < 0 or > 10_000) throw new FormatException($"maillog_flush_interval_ms = {logging.FlushIntervalMs}: must be 0..10000 (milliseconds)");
        if (logging.BufferLimit < 1) throw new FormatException($"maillog_buffer_limit = {logging.BufferLimit}: must be at least 1 (bytes)");
        if (delivery.ChunkingSizeLimit is < 0 or > Mta.Smtp.Client.SmtpClientOptions.MaxChunkingSizeLimit)
            throw new FormatException($"smtp_chunking_size_limit = {delivery.ChunkingSizeLimit}: must be 0..{Mta.Smtp.Client.SmtpClientOptions.MaxChunkingSizeLimit} (bytes)");
        // Created by the container so that disposing the host (ServeCommand) disposes it: the last lines are written.
        builder.Services.AddSingleton<ILoggerProvider>(_ => new PostfixLoggerProvider(Console.OpenStandardOutput(), TimeSpan.FromMilliseconds(logging.FlushIntervalMs), logging.BufferLimit));
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = smtpd.ShutdownTimeout + TimeSpan.FromSeconds(10));
        builder.Services.AddMtaConfiguration(config);
        var s = builder.Services;
        s.AddSingleton(identity).AddSingleton(smtpd).AddSingleton(delivery).AddSingleton(queue);
        s.AddSingleton(TimeProvider.System);
        s.AddSingleton(sp => new QueueIdGenerator(sp.GetRequiredService<TimeProvider>()));
        Mta.Queue.S3.S3QueueComposition.AddQueueBackend(s, queueBackend, queue);
        s.AddSingleton(sp => new DsnBuilder(identity, sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton(sp => new Bouncer(sp.GetRequiredService<IQueueStore>(), sp.GetRequiredService<DsnBuilder>(), sp.GetRequiredService<QueueIdGenerator>(),
            identity, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Bouncer>>(), spoolDirectory));
        s.AddSingleton(_ => new Router(identity, delivery));
        s.AddSingleton(sp => DeliveryComposition.CreateDispatcher(sp, identity, delivery));
        s.AddSingleton(sp =>
        {
            var dispatcher = sp.GetRequiredService<DeliveryDispatcher>();
            var runner = new QueueRunner(sp.GetRequiredKeyedService<IQueueStore>(Mta.Queue.S3.S3QueueComposition.RunnerStoreKey), queue,
                (env, rcpts, content, ct) => dispatcher.DeliverAsync(env, rcpts, content, ct),
                sp.GetRequiredService<Bouncer>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<QueueRunner>>(), spoolDirectory);
            sp.GetRequiredService<Bouncer>().DsnQueued += _ => runner.Wake();
            return runner;
        });
        s.AddSingleton(_ => new LocalDomains(identity, smtpd));
        var restrictions = config.Get<RestrictionOptions>();
        s.AddSingleton(sp => new PolicyServiceRegistry(restrictions.ToPolicySettings(smtpd.SmtpUtf8Enable), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton(sp => new RelayPolicy(smtpd, sp.GetRequiredService<LocalDomains>(), restrictions, sp.GetRequiredService<PolicyServiceRegistry>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("smtpd"), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton(sp => new PrequeuePipeline(delivery, queue, sp.GetRequiredService<DeliveryDispatcher>(), sp.GetRequiredService<IQueueStore>(),
            sp.GetRequiredService<Bouncer>(), () => sp.GetRequiredService<QueueRunner>().Wake(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>()));
        s.AddSingleton(_ => SessionOptions(identity, smtpd, spoolDirectory));
        s.AddSingleton(sp =>
        {
            if (smtpd.TlsSecurityLevel == "none") return new TlsHolder(null);
            var cert = TlsCertificateProvider.Load(smtpd.TlsCertFile, smtpd.TlsKeyFile, identity.MyHostname, dataDirectory, out bool generated);
            if (generated) sp.GetRequiredService<ILoggerFactory>().CreateLogger("smtpd")
                .LogWarning("no smtpd_tls_cert_file: generated a self-signed certificate for {Host} under {Dir}; it is kept and reused (publish its TLSA 3 1 1 record, see mta check, or set smtpd_tls_cert_file)", identity.MyHostname, Path.Combine(dataDirectory, "tls"));
            return new TlsHolder(cert);
        });
        if (queueBackend.IsS3) s.AddHostedService(sp => Mta.Queue.S3.S3QueueComposition.CreateS3Service(sp, queueBackend, sp.GetRequiredService<QueueRunner>()));
        else s.AddHostedService(sp => new QueueRunnerService(sp.GetRequiredService<QueueRunner>(), sp.GetRequiredService<LocalQueueStore>(), sp.GetRequiredService<ILogger<QueueRunner>>()));
        // One listener per smtpd_listen entry, each with its own overrides (ListenerComposition.cs); not
        // AddHostedService, which would keep only one registration of the same type.
        foreach (var plan in ListenerPlan.For(config))
            s.AddSingleton<IHostedService>(sp => plan.Create(sp, spoolDirectory, sp.GetRequiredService<TlsHolder>().Certificate));
        s.AddSingleton(sp => new MessageAuthentication(dkim, dkimSigner,
            dkim.Verify ? new DkimVerifier(new DnsDkimKeyLocator(new DnsClient.LookupClient(DnsClientLookup.CreateLookupClient(delivery.DnsResolver).NameServers.ToArray()))) { MaxSignatures = dkim.VerifyMaxSignatures } : null,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("cleanup")));
        var host = builder.Build();
        // Resolve what can fail on bad settings now, so `mta serve` stops at start with a clear message.
        host.Services.GetRequiredService<RelayPolicy>();
        host.Services.GetRequiredService<Router>();
        host.Services.GetRequiredService<TlsHolder>();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("master");
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.ApplicationStopping.Register(() => log.LogInformation("terminating: closing listeners, letting sessions in flight finish (smtpd_shutdown_timeout={Timeout}s)", smtpd.ShutdownTimeout.TotalSeconds));
        lifetime.ApplicationStopped.Register(() => log.LogInformation("daemon stopped"));
        log.LogInformation("daemon started -- data_directory={Dir}, queue_directory={Queue}", dataDirectory, Mta.Queue.S3.S3QueueComposition.Describe(queueBackend, queue));
        if (identity.MyDestination.Contains("*"))
            log.LogInformation("mydestination = *: every recipient is delivered locally into a Maildir under {Maildirs}", Path.GetFullPath(delivery.MaildirBase));
        var checks = SecurityChecks.InputFrom(config, _ => DkimKeySource.FromParameter(dkim.SigningKeys));
        return (host, checks);
    }

    /// <summary>
    /// Development mode: a DKIM key for $mydomain under data_directory/dkim (Ed25519, selector "mta"), made once
    /// and reused, so the embedded default exercises signing and `mta check` like production.
    /// </summary>
    private static DkimOptions DevelopmentDkimKey(DkimOptions dkim, IdentityOptions identity, string dataDirectory)
    {
        var dir = Path.Combine(dataDirectory, "dkim");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, DkimKeyGenerator.FileName(identity.MyDomain, "mta", DkimKeyAlgorithm.Ed25519));
        if (!File.Exists(path)) DkimKeyGenerator.GenerateToFile(identity.MyDomain, "mta", DkimKeyAlgorithm.Ed25519, path);
        return new DkimOptions { SigningKeys = [$"{identity.MyDomain}:mta:{path}"], Verify = dkim.Verify, AuthservId = dkim.AuthservId, VerifyMaxSignatures = dkim.VerifyMaxSignatures };
    }

    /// <summary>Maps main.cf parameters onto the protocol library's session settings.</summary>
    public static SmtpServerOptions SessionOptions(IdentityOptions identity, SmtpdOptions smtpd, string spoolDirectory) => new()
    {
        HostName = identity.MyHostname,
        Banner = smtpd.Banner,
        LineLengthLimit = smtpd.LineLengthLimit,
        MessageSizeLimit = smtpd.MessageSizeLimit,
        RecipientLimit = smtpd.RecipientLimit,
        CommandTimeout = smtpd.Timeout,
        SessionTimeout = smtpd.SessionTimeout,
        SoftErrorLimit = smtpd.SoftErrorLimit,
        HardErrorLimit = smtpd.HardErrorLimit,
        ErrorSleepTime = smtpd.ErrorSleepTime,
        SpoolMemoryLimit = smtpd.SpoolMemoryLimit,
        SpoolDirectory = spoolDirectory,
        OfferStartTls = smtpd.TlsSecurityLevel != "none",
        RequireTls = smtpd.TlsSecurityLevel == "encrypt",
        SmtpUtf8 = smtpd.SmtpUtf8Enable,
        DiscardEhloKeywords = new HashSet<string>(smtpd.DiscardEhloKeywords.Select(k => k.ToUpperInvariant())),
    };

    internal sealed record TlsHolder(X509Certificate2? Certificate);
}

/// <summary>Runs the queue runner for the life of the host, after crash recovery of the queue directory.</summary>
internal sealed class QueueRunnerService(QueueRunner runner, LocalQueueStore store, ILogger<QueueRunner> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var report = await store.RecoverAsync(stoppingToken).ConfigureAwait(false);
        if (report.Messages > 0) log.LogInformation("queue: {Count} message(s) in the queue at start", report.Messages);
        await runner.RunAsync(stoppingToken).ConfigureAwait(false);
    }
}
