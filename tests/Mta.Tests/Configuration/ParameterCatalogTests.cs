// Tests of ParameterCatalog: built from the option classes' [Parameter] attributes (the mail_params.h
// role, postconf(5)); startup errors for duplicates and unsupported declarations.
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class ParameterCatalogTests
{
    [Fact]
    public void Default_HasEveryOptionClassAndSortedUniqueNames()
    {
        var catalog = ParameterCatalog.Default;
        Assert.Equal([typeof(IdentityOptions), typeof(SmtpdOptions), typeof(DeliveryOptions), typeof(QueueOptions), typeof(Mta.Milters.MilterOptions),
            typeof(Mta.Authentication.DkimOptions), typeof(Mta.Checks.ChecksOptions), typeof(Mta.Restrictions.RestrictionOptions), typeof(Mta.Queue.S3.S3QueueOptions), typeof(Mta.Proxy.ProxyOptions), typeof(Mta.Logging.LoggingOptions)], catalog.Types);
        var names = catalog.Parameters.Select(p => p.Name).ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
        Assert.Equal(names.Count, names.Distinct().Count());
        foreach (Type t in catalog.Types)
            Assert.Contains(catalog.Parameters, p => p.OwnerType == t);
    }

    [Fact]
    public void Entry_CarriesNameDefaultDescriptionTypeOwnerAndUnit()
    {
        var d = ParameterCatalog.Default.Find("maximal_queue_lifetime")!;
        Assert.Equal("5d", d.DefaultText);
        Assert.StartsWith("How long a message may stay queued", d.Description);
        Assert.Equal(typeof(TimeSpan), d.PropertyType);
        Assert.Equal(typeof(QueueOptions), d.OwnerType);
        Assert.Equal(nameof(QueueOptions.MaximalQueueLifetime), d.Property.Name);
        Assert.Equal('d', d.DefaultTimeUnit);
        Assert.Equal('s', ParameterCatalog.Default.Find("smtpd_timeout")!.DefaultTimeUnit);
        Assert.Equal(typeof(IReadOnlyList<string>), ParameterCatalog.Default.Find("mydestination")!.PropertyType);
    }

    [Fact]
    public void PseudoParameters_AreNotCatalogEntries()
    {
        Assert.Null(ParameterCatalog.Default.Find("default_myhostname"));
        Assert.Null(ParameterCatalog.Default.Find("default_mydomain"));
        Assert.Null(ParameterCatalog.Default.Find("nosuch"));
    }

    [Fact]
    public void DuplicateNames_AreAStartupError()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ParameterCatalog([typeof(SampleOptions), typeof(DuplicateOptions)]));
        Assert.Contains("duplicate parameter name \"s_int\"", ex.Message);
        Assert.Contains("SampleOptions.Int", ex.Message);
        Assert.Contains("DuplicateOptions.Other", ex.Message);
    }

    [Theory]
    [InlineData(typeof(UnsupportedTypeOptions), "unsupported parameter type")]
    [InlineData(typeof(MissingAttributeOptions), "has no [Parameter]")]
    [InlineData(typeof(BadUnitOptions), "DefaultTimeUnit 'x'")]
    [InlineData(typeof(PseudoNameOptions), "reserved for a computed pseudo-parameter")]
    [InlineData(typeof(BadNameOptions), "bad parameter name")]
    public void BadDeclarations_AreStartupErrors(Type type, string message)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ParameterCatalog([type]));
        Assert.Contains(message, ex.Message);
    }

    public sealed class DuplicateOptions
    {
        [Parameter("s_int", "1", "Clash.")]
        public int Other { get; set; }
    }

    public sealed class UnsupportedTypeOptions
    {
        [Parameter("x_double", "1.5", "Not supported.")]
        public double Value { get; set; }
    }

    public sealed class MissingAttributeOptions
    {
        public string Forgotten { get; set; } = "";
    }

    public sealed class BadUnitOptions
    {
        [Parameter("x_time", "1", "Bad unit.", DefaultTimeUnit = 'x')]
        public TimeSpan Value { get; set; }
    }

    public sealed class PseudoNameOptions
    {
        [Parameter("default_myhostname", "x", "Reserved.")]
        public string Value { get; set; } = "";
    }

    public sealed class BadNameOptions
    {
        [Parameter("bad-name", "x", "Bad.")]
        public string Value { get; set; } = "";
    }
}
