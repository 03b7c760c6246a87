// Tests of the Microsoft.Extensions.Options integration: IOptions<T>, IOptionsMonitor<T> and the
// configuration itself resolve from DI with the values of main.cf (postconf(5)).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class OptionsBindingTests
{
    private static ServiceProvider Provider(MtaConfiguration config) =>
        new ServiceCollection().AddMtaConfiguration(config).BuildServiceProvider();

    [Fact]
    public void EveryOptionClass_ResolvesAsIOptions_WithConfiguredValues()
    {
        var config = TestConfig.Load("myhostname = mx.example.net\nmessage_size_limit = 1000\nrelayhost = [smart.example]\nqmgr_message_active_limit = 3");
        using var sp = Provider(config);
        Assert.Equal("mx.example.net", sp.GetRequiredService<IOptions<IdentityOptions>>().Value.MyHostname);
        Assert.Equal(1000L, sp.GetRequiredService<IOptions<SmtpdOptions>>().Value.MessageSizeLimit);
        Assert.Equal("[smart.example]", sp.GetRequiredService<IOptions<DeliveryOptions>>().Value.RelayHost);
        Assert.Equal(3, sp.GetRequiredService<IOptions<QueueOptions>>().Value.ActiveLimit);
    }

    [Fact]
    public void OptionsMonitor_AndConfiguration_AreAvailable()
    {
        var config = TestConfig.Load(null, "smtpd_timeout=2m");
        using var sp = Provider(config);
        Assert.Equal(TimeSpan.FromMinutes(2), sp.GetRequiredService<IOptionsMonitor<SmtpdOptions>>().CurrentValue.Timeout);
        Assert.Same(config, sp.GetRequiredService<MtaConfiguration>());
    }

    [Fact]
    public void EveryBoundProperty_EqualsGet()
    {
        var config = TestConfig.Load("mynetworks = 10.0.0.0/8\nsmtpd_tls_cert_file = /etc/c.pem");
        using var sp = Provider(config);
        var fromDi = sp.GetRequiredService<IOptions<SmtpdOptions>>().Value;
        var direct = config.Get<SmtpdOptions>();
        foreach (var d in ParameterCatalog.Default.Parameters.Where(p => p.OwnerType == typeof(SmtpdOptions)))
            Assert.Equal(d.Property.GetValue(direct), d.Property.GetValue(fromDi));
        Assert.Equal("/etc/c.pem", fromDi.TlsKeyFile);
    }
}
