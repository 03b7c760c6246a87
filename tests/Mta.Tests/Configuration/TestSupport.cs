// Test support for configuration tests: a sample option class covering every parameter type, and
// loaders that parse main.cf text with a fixed machine name (postconf(5) semantics under test).
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public sealed class SampleOptions
{
    [Parameter("s_text", "", "A string.")]
    public string Text { get; set; } = "";
    [Parameter("s_int", "7", "An int.")]
    public int Int { get; set; }
    [Parameter("s_long", "10240000", "A long.")]
    public long Long { get; set; }
    [Parameter("s_bool", "no", "A bool.")]
    public bool Bool { get; set; }
    [Parameter("s_time", "300s", "A time in seconds.")]
    public TimeSpan Time { get; set; }
    [Parameter("s_days", "5d", "A time in days.", DefaultTimeUnit = 'd')]
    public TimeSpan Days { get; set; }
    [Parameter("s_list", "a, b", "A list.")]
    public IReadOnlyList<string> List { get; set; } = [];
    [Parameter("s_a", "", "For expansion.")]
    public string A { get; set; } = "";
    [Parameter("s_b", "", "For expansion.")]
    public string B { get; set; } = "";
    [Parameter("s_c", "", "For expansion.")]
    public string C { get; set; } = "";
}

internal static class TestConfig
{
    public const string Fqdn = "mx1.example.org";

    public static readonly ParameterCatalog SampleCatalog = new([typeof(SampleOptions)]);

    /// <summary>Loads main.cf <paramref name="mainCf"/> (file name "main.cf") against the real catalog.</summary>
    public static MtaConfiguration Load(string? mainCf, params string[] overrides) =>
        ConfigLoader.Load(mainCf is null ? null : MainCfParser.Parse(mainCf, "main.cf"), overrides, ParameterCatalog.Default, () => Fqdn);

    /// <summary>Loads main.cf text against the sample catalog.</summary>
    public static MtaConfiguration LoadSample(string mainCf, params string[] overrides) =>
        ConfigLoader.Load(MainCfParser.Parse(mainCf, "main.cf"), overrides, SampleCatalog, () => Fqdn);

    public static ConfigException Fails(Action action) => Assert.Throws<ConfigException>(action);
}
