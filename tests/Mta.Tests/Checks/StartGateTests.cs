// The `mta serve` start gate (SecurityChecks.RunAtStartAsync): enforce refuses to start on a failure
// and logs it as Critical; warn starts and logs it as Error; off runs no lookup; the embedded
// default logs the development mode first. Every result is logged as its `mta check` line.
using Microsoft.Extensions.Logging;
using Mta.Checks;
using Mta.Configuration;

namespace Mta.Tests.Checks;

public sealed class StartGateTests : IDisposable
{
    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Text)> Entries { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }

    private readonly TempDir _dir = new();
    private readonly ListLogger _log = new();
    private readonly FakeResolver _dns = new();

    public void Dispose() => _dir.Dispose();

    private MtaConfiguration Config(params string[] overrides)
    {
        var catalog = ParameterCatalog.Default;
        var leaf = TestPki.SelfSigned(["mx.mybusiness.de"], DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(60));
        var (cert, key) = TestPki.Write(_dir.Path, leaf.Key, leaf.Certificate);
        return ConfigLoader.Load([new MainCfEntry("mydestination", "$myhostname, mybusiness.de", "main.cf", 1),
            new MainCfEntry("smtpd_tls_cert_file", cert, "main.cf", 2), new MainCfEntry("smtpd_tls_key_file", key, "main.cf", 3)],
            overrides, catalog, () => "mx.mybusiness.de");
    }

    [Fact]
    public async Task Enforce_refuses_to_start_on_a_failure()
    {
        // auto + a config file naming a real domain = enforce; the empty fake DNS makes MX, SRV, TLSA fail
        bool start = await SecurityChecks.RunAtStartAsync(Config(), isEmbeddedDefault: false, _log, resolver: _dns);
        Assert.False(start);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Critical && e.Text.StartsWith("security check failure: mx mybusiness.de: no MX record", StringComparison.Ordinal));
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Information && e.Text == "security check ok: tls-key: the private key matches the certificate");
        Assert.Equal(LogLevel.Critical, _log.Entries[^1].Level);
        Assert.StartsWith("refusing to start: ", _log.Entries[^1].Text);
    }

    [Fact]
    public async Task Warn_logs_failures_and_starts()
    {
        bool start = await SecurityChecks.RunAtStartAsync(Config("smtpd_security_checks=warn"), false, _log, resolver: _dns);
        Assert.True(start);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Error && e.Text.StartsWith("security check failure: ", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Entries, e => e.Level == LogLevel.Critical);
        Assert.StartsWith("starting despite ", _log.Entries[^1].Text);
    }

    [Fact]
    public async Task Off_runs_nothing()
    {
        Assert.True(await SecurityChecks.RunAtStartAsync(Config("smtpd_security_checks=off"), false, _log, resolver: _dns));
        Assert.Empty(_dns.Queries);
        Assert.Equal("security checks are off (smtpd_security_checks = off)", Assert.Single(_log.Entries).Text);
    }

    [Fact]
    public async Task Embedded_default_is_the_logged_development_mode_and_only_warns()
    {
        Assert.True(await SecurityChecks.RunAtStartAsync(Config(), isEmbeddedDefault: true, _log, resolver: _dns));
        Assert.Equal((LogLevel.Warning, "development mode: no configuration file; self-signed certificate and DKIM key under data_directory; security checks: warn"),
            _log.Entries[0]);
    }

    [Fact]
    public async Task Bad_mode_is_a_configuration_error()
    {
        var e = await Assert.ThrowsAsync<ConfigException>(() => SecurityChecks.RunAtStartAsync(Config("smtpd_security_checks=strict"), false, _log, resolver: _dns));
        Assert.Equal("-o smtpd_security_checks=strict: smtpd_security_checks: bad value \"strict\": expected enforce, warn, off or auto", e.Message);
    }
}
