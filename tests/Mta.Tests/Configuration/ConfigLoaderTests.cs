// Tests of ConfigLoader and MtaConfiguration: unknown names, -o precedence and syntax, embedded profile,
// sources, the postconf -d / -n views, typed binding of the real option classes (postconf(5), postconf(1)).
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class ConfigLoaderTests
{
    [Fact]
    public void UnknownParameterInFile_FailsWithFileAndLine()
    {
        var ex = TestConfig.Fails(() => TestConfig.Load("myhostname = a.example\n\nmyhostnmae = b.example\n"));
        Assert.Equal("main.cf:3: unknown parameter \"myhostnmae\"", ex.Message);
    }

    [Fact]
    public void UnknownParameterInOverride_FailsNamingTheOverride()
    {
        var ex = TestConfig.Fails(() => TestConfig.Load(null, "relay_host=[mx.example]:25"));
        Assert.Equal("-o relay_host=[mx.example]:25: unknown parameter \"relay_host\"", ex.Message);
    }

    [Theory]
    [InlineData("relayhost", "-o relayhost: expected name=value")]
    [InlineData("=x", "-o =x: bad parameter name \"\"")]
    [InlineData("bad-name=x", "-o bad-name=x: bad parameter name \"bad-name\"")]
    public void MalformedOverride_Fails(string o, string message) =>
        Assert.StartsWith(message, TestConfig.Fails(() => TestConfig.Load(null, o)).Message);

    [Fact]
    public void Override_WinsOverFile_AndLastOverrideWins()
    {
        var config = TestConfig.Load("myhostname = file.example\nmail_name = FileName\n", "myhostname=o1.example", "myhostname = o2.example");
        Assert.Equal("o2.example", config.GetExpanded("myhostname"));
        Assert.Equal("-o myhostname = o2.example", config.SourceOf("myhostname"));
        Assert.Equal("FileName", config.GetExpanded("mail_name"));
        Assert.Equal("main.cf:2", config.SourceOf("mail_name"));
        Assert.Null(config.SourceOf("relayhost"));
    }

    [Fact]
    public void Override_ValueMayContainEqualsAndBeEmpty()
    {
        var config = TestConfig.Load(null, "transport_maps=inline:{ a.example=lmtp:[::1]:24 }", "relayhost=");
        Assert.Equal(["inline:{ a.example=lmtp:[::1]:24 }"], config.Get<DeliveryOptions>().TransportMaps);
        Assert.True(config.IsSet("relayhost"));
        Assert.Equal("", config.GetExpanded("relayhost"));
    }

    [Fact]
    public void EmbeddedProfile_AppliesWithoutFile()
    {
        var config = TestConfig.Load(null);
        Assert.Equal(["*"], config.Get<IdentityOptions>().MyDestination);
        Assert.True(config.IsSet("mydestination"));
        Assert.Equal("embedded profile", config.SourceOf("mydestination"));
        Assert.Equal(["mydestination = *"], config.FormatNonDefaults());
    }

    [Fact]
    public void EmbeddedProfile_DoesNotApplyWithFile()
    {
        var config = TestConfig.Load("# empty main.cf\n");
        Assert.False(config.IsSet("mydestination"));
        Assert.Equal([TestConfig.Fqdn, "localhost.example.org", "localhost"], config.Get<IdentityOptions>().MyDestination);
        Assert.Empty(config.FormatNonDefaults());
    }

    [Fact]
    public void EmbeddedProfile_IsOverriddenByO()
    {
        var config = TestConfig.Load(null, "mydestination=example.com");
        Assert.Equal(["example.com"], config.Get<IdentityOptions>().MyDestination);
        Assert.Equal("-o mydestination=example.com", config.SourceOf("mydestination"));
    }

    [Fact]
    public void EmbeddedProfile_NamesOnlyCatalogParameters()
    {
        foreach (string name in EmbeddedProfile.Settings.Keys)
            Assert.NotNull(ParameterCatalog.Default.Find(name));
    }

    [Fact]
    public void Load_FromFile_WithRealPath()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mta-{Guid.NewGuid():N}.cf");
        File.WriteAllText(path, "message_size_limit = 5\nbogus = 1\n");
        try
        {
            Assert.Equal($"{path}:2: unknown parameter \"bogus\"", TestConfig.Fails(() => ConfigLoader.Load(path, [])).Message);
            File.WriteAllText(path, "message_size_limit = 5\nmyhostname = h.example\n");
            var config = ConfigLoader.Load(path, ["smtpd_timeout=1m"]);
            Assert.Equal(5, config.Get<SmtpdOptions>().MessageSizeLimit);
            Assert.Equal(TimeSpan.FromMinutes(1), config.Get<SmtpdOptions>().Timeout);
            Assert.False(config.IsSet("mydestination"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void FormatDefaults_IsEverySortedParameterWithRawDefault()
    {
        var lines = TestConfig.Load("myhostname = changed.example").FormatDefaults().ToList();
        Assert.Equal(ParameterCatalog.Default.Parameters.Count, lines.Count);
        Assert.Equal(lines.Order(StringComparer.Ordinal), lines);
        Assert.Contains("myhostname = $default_myhostname", lines);
        Assert.Contains("myorigin = $myhostname", lines);
        Assert.Contains("mydestination = $myhostname, localhost.$mydomain, localhost", lines);
        Assert.Contains("relayhost =", lines);
        Assert.Contains("maximal_queue_lifetime = 5d", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("default_myhostname"));
    }

    [Fact]
    public void FormatNonDefaults_IsSetParametersSortedRawAsWritten()
    {
        var config = TestConfig.Load("relayhost = [smart.example]:587\nmyorigin = $mydomain\nmynetworks = 10.0.0.0/8,\n  192.168.0.0/16\nmail_name = Mta\n", "smtpd_timeout=1m");
        Assert.Equal(
        [
            "mail_name = Mta", // set to its default text: still listed, as postconf -n does
            "mynetworks = 10.0.0.0/8, 192.168.0.0/16",
            "myorigin = $mydomain",
            "relayhost = [smart.example]:587",
            "smtpd_timeout = 1m",
        ], config.FormatNonDefaults());
    }

    [Fact]
    public void FormatEffective_ExpandsSelectedOrAll()
    {
        var config = TestConfig.Load("myhostname = mx.example.net", "mail_name=Test");
        Assert.Equal(["smtpd_banner = mx.example.net ESMTP Test", "relayhost ="], config.FormatEffective(["smtpd_banner", "relayhost"]));
        var all = config.FormatEffective([]).ToList();
        Assert.Equal(ParameterCatalog.Default.Parameters.Count, all.Count);
        Assert.Contains("queue_directory = var/queue", all);
    }

    [Fact]
    public void Get_BindsEveryRealOptionClass()
    {
        var config = TestConfig.Load("message_size_limit = 52428800\nsmtputf8_enable = no\nmaximal_queue_lifetime = 2\nsmtpd_listen = 0.0.0.0:25, [::]:25\n");
        var smtpd = config.Get<SmtpdOptions>();
        Assert.Equal(52428800L, smtpd.MessageSizeLimit);
        Assert.False(smtpd.SmtpUtf8Enable);
        Assert.Equal(["0.0.0.0:25", "[::]:25"], smtpd.Listen);
        Assert.Equal(TimeSpan.FromSeconds(300), smtpd.Timeout);
        Assert.Equal(2048, smtpd.LineLengthLimit);
        Assert.Equal(["127.0.0.0/8", "[::ffff:127.0.0.0]/104", "[::1]/128"], smtpd.MyNetworks);
        Assert.Equal(["permit_mynetworks", "permit_sasl_authenticated", "defer_unauth_destination"], smtpd.RelayRestrictions);
        Assert.Equal(TimeSpan.FromDays(2), config.Get<QueueOptions>().MaximalQueueLifetime);
        Assert.Equal(TimeSpan.FromSeconds(4000), config.Get<QueueOptions>().MaximalBackoffTime);
        Assert.Equal("var/mail", config.Get<DeliveryOptions>().MaildirBase);
        Assert.Equal("smtp", config.Get<DeliveryOptions>().DefaultTransport);
        Assert.Equal("Mta", config.Get<IdentityOptions>().MailName);
    }

    [Fact]
    public void Get_IsCachedPerType()
    {
        var config = TestConfig.Load(null);
        Assert.Same(config.Get<SmtpdOptions>(), config.Get<SmtpdOptions>());
        Assert.NotSame(TestConfig.Load(null).Get<SmtpdOptions>(), config.Get<SmtpdOptions>());
    }

    [Fact]
    public void Get_UnregisteredType_Throws()
    {
        Assert.Throws<InvalidOperationException>(() => TestConfig.Load(null).Get<SampleOptions>());
    }

    [Fact]
    public void Load_ValidatesEveryParameter_EvenUnrequested()
    {
        // nothing asks for QueueOptions, yet the bad value fails the load
        var ex = TestConfig.Fails(() => TestConfig.Load("qmgr_message_active_limit = many"));
        Assert.StartsWith("main.cf:1: bad value \"many\" for parameter qmgr_message_active_limit", ex.Message);
    }
}
