// smtpd_security_checks resolution (explicit values win; auto = enforce for a config file naming a
// real domain, else warn), the real-domain test (RFC 6761 / RFC 2606 / RFC 6762 / RFC 8375 names are
// not real), and which configured domains are checked.
using Mta.Checks;
using Mta.Configuration;

namespace Mta.Tests.Checks;

public class ChecksOptionsTests
{
    [Theory]
    [InlineData("enforce", true, SecurityCheckMode.Enforce)]
    [InlineData("ENFORCE", false, SecurityCheckMode.Enforce)]
    [InlineData("warn", false, SecurityCheckMode.Warn)]
    [InlineData("off", false, SecurityCheckMode.Off)]
    [InlineData("off", true, SecurityCheckMode.Off)]
    public void Explicit_mode_wins(string configured, bool embedded, SecurityCheckMode expected) =>
        Assert.Equal(expected, ChecksOptions.EffectiveMode(configured, embedded, ["example.org"]));

    [Theory]
    [InlineData(false, new[] { "mail.example.net", "example.org" }, SecurityCheckMode.Warn)]        // reserved names only
    [InlineData(false, new[] { "localhost", "*", "mx.lan.localdomain" }, SecurityCheckMode.Warn)]
    [InlineData(false, new[] { "localhost", "mybusiness.de" }, SecurityCheckMode.Enforce)]
    [InlineData(true, new[] { "mybusiness.de" }, SecurityCheckMode.Warn)]                             // embedded default: development
    [InlineData(false, new string[0], SecurityCheckMode.Warn)]
    public void Auto_enforces_only_for_a_config_file_naming_a_real_domain(bool embedded, string[] domains, SecurityCheckMode expected)
    {
        Assert.Equal(expected, ChecksOptions.EffectiveMode("auto", embedded, domains));
        Assert.Equal(expected, ChecksOptions.EffectiveMode("", embedded, domains));
    }

    [Fact]
    public void Bad_mode_names_the_parameter()
    {
        var e = Assert.Throws<FormatException>(() => ChecksOptions.EffectiveMode("strict", false, []));
        Assert.Equal("smtpd_security_checks: bad value \"strict\": expected enforce, warn, off or auto", e.Message);
    }

    [Theory]
    [InlineData("example.de", true)]
    [InlineData("mx.mybusiness.co.uk.", true)]
    [InlineData("de", false)]
    [InlineData("good.test", false)]
    [InlineData("foo.example", false)]
    [InlineData("x.invalid", false)]
    [InlineData("printer.local", false)]
    [InlineData("nas.home.arpa", false)]
    [InlineData("localhost", false)]
    [InlineData("a.localhost", false)]
    [InlineData("host.localdomain", false)]
    [InlineData("www.example.com", false)]
    [InlineData("notexample.com", true)]
    [InlineData("hash:/etc/postfix/domains", false)]
    [InlineData("*", false)]
    public void Real_domain(string name, bool expected) => Assert.Equal(expected, ChecksOptions.IsRealDomain(name));

    [Fact]
    public void Domains_to_check_skip_local_names_tables_and_myhostname()
    {
        Assert.Equal(["example.org", "example.net"], ChecksOptions.DomainsToCheck(
            ["mx.example.org", "localhost.example.org", "localhost", "Example.ORG.", "*", "hash:/etc/postfix/relay", "example.net", "example.org"],
            "MX.example.org."));
    }

    [Fact]
    public void Parameters_bind_with_their_defaults_in_a_catalog_that_has_them()
    {
        var catalog = ParameterCatalog.Default;
        var config = ConfigLoader.Load([new MainCfEntry("mydestination", "$myhostname, localhost, mybusiness.de", "main.cf", 1),
            new MainCfEntry("relay_domains", "relay.mybusiness.de", "main.cf", 2)], [], catalog, () => "mx.mybusiness.de");
        var options = config.Get<ChecksOptions>();
        Assert.Equal("auto", options.SecurityChecks);
        Assert.Equal(TimeSpan.FromDays(14), options.CertExpiryWarning);
        Assert.Equal(TimeSpan.FromSeconds(5), options.DnsTimeout);
        Assert.Empty(options.HostAddresses);
        var input = SecurityChecks.InputFrom(config);
        Assert.Equal("mx.mybusiness.de", input.MyHostname);
        Assert.Equal(["mybusiness.de", "relay.mybusiness.de"], input.Domains);
        Assert.Empty(input.DkimKeys);
        Assert.Equal(SecurityCheckMode.Enforce, SecurityChecks.ModeFrom(config, isEmbeddedDefault: false, input));
        Assert.Equal(SecurityCheckMode.Warn, SecurityChecks.ModeFrom(config, isEmbeddedDefault: true, input));
    }

    [Fact]
    public void Bad_host_address_is_a_configuration_error_naming_its_source()
    {
        var catalog = ParameterCatalog.Default;
        var config = ConfigLoader.Load([], ["security_check_host_addresses=192.0.2.1, nonsense"], catalog, () => "mx.example.org");
        var e = Assert.Throws<ConfigException>(() => SecurityChecks.InputFrom(config));
        Assert.Equal("-o security_check_host_addresses=192.0.2.1, nonsense: bad IP address \"nonsense\"", e.Message);
    }
}
