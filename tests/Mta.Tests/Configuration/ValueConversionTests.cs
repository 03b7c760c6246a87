// Tests of value conversion per property type (ParameterAttribute; postconf(5) "Lists", time units,
// yes/no), including the exact error messages for main.cf, -o and broken defaults.
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class ValueConversionTests
{
    private static SampleOptions Bind(string mainCf, params string[] overrides) => TestConfig.LoadSample(mainCf, overrides).Get<SampleOptions>();

    [Fact]
    public void Defaults_AreConverted()
    {
        var o = Bind("");
        Assert.Equal(7, o.Int);
        Assert.Equal(10240000L, o.Long);
        Assert.False(o.Bool);
        Assert.Equal(TimeSpan.FromSeconds(300), o.Time);
        Assert.Equal(TimeSpan.FromDays(5), o.Days);
        Assert.Equal(["a", "b"], o.List);
        Assert.Equal("", o.Text);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("2048", 2048)]
    [InlineData("2147483647", int.MaxValue)]
    public void Int(string text, int expected) => Assert.Equal(expected, Bind($"s_int = {text}").Int);

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("52428800", 52428800L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Long(string text, long expected) => Assert.Equal(expected, Bind($"s_long = {text}").Long);

    [Theory]
    [InlineData("yes", true)]
    [InlineData("YES", true)]
    [InlineData("true", true)]
    [InlineData("True", true)]
    [InlineData("no", false)]
    [InlineData("No", false)]
    [InlineData("false", false)]
    [InlineData("FALSE", false)]
    public void Bool(string text, bool expected)
    {
        var initial = TestConfig.LoadSample($"s_bool = {(expected ? "no" : "yes")}").Get<SampleOptions>().Bool;
        Assert.NotEqual(expected, initial);
        Assert.Equal(expected, Bind($"s_bool = {text}").Bool);
    }

    [Theory]
    [InlineData("300s", 300)]
    [InlineData("5m", 300)]
    [InlineData("2h", 7200)]
    [InlineData("5d", 432000)]
    [InlineData("1w", 604800)]
    [InlineData("1W", 604800)]
    [InlineData("0", 0)]
    [InlineData("45", 45)]
    public void Time_InSeconds(string text, int seconds) => Assert.Equal(TimeSpan.FromSeconds(seconds), Bind($"s_time = {text}").Time);

    [Theory]
    [InlineData("3", 3 * 86400)]
    [InlineData("3d", 3 * 86400)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("90s", 90)]
    public void Time_BareNumberUsesDefaultTimeUnit(string text, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Bind($"s_days = {text}").Days);

    [Theory]
    [InlineData("a b c", new[] { "a", "b", "c" })]
    [InlineData("a,b,c", new[] { "a", "b", "c" })]
    [InlineData(" a ,, b ,\tc , ", new[] { "a", "b", "c" })]
    [InlineData("", new string[0])]
    [InlineData(",", new string[0])]
    [InlineData("inline:{ a=b, c=d }", new[] { "inline:{ a=b, c=d }" })]
    [InlineData("x, inline:{ a=b, c=d }, texthash:/etc/t", new[] { "x", "inline:{ a=b, c=d }", "texthash:/etc/t" })]
    [InlineData("inline:{ a={ x, y }, c=d } z", new[] { "inline:{ a={ x, y }, c=d }", "z" })]
    [InlineData("{ a b }", new[] { "{ a b }" })]
    public void List(string text, string[] expected) => Assert.Equal(expected, Bind($"s_list = {text}").List);

    [Fact]
    public void List_ContinuationLinesAndReferences()
    {
        Assert.Equal(["a", "b", "x", "y", "c"], Bind("s_list = a,\n  b $s_a\n  c\ns_a = x, y").List);
    }

    [Fact]
    public void String_IsTheExpandedText()
    {
        Assert.Equal("hello, $x", Bind("s_text = hello, $$x").Text);
        Assert.Equal("hello   world", Bind("s_text = hello   world").Text);
    }

    [Theory]
    [InlineData("s_int", "-1", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_int", "+1", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_int", "2147483648", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_int", "12k", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_int", "", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_int", "1 000", "a decimal integer from 0 to 2147483647")]
    [InlineData("s_long", "10M", "a decimal integer from 0 to 9223372036854775807")]
    [InlineData("s_long", "9223372036854775808", "a decimal integer from 0 to 9223372036854775807")]
    [InlineData("s_long", "1.5", "a decimal integer from 0 to 9223372036854775807")]
    [InlineData("s_bool", "maybe", "yes or no")]
    [InlineData("s_bool", "1", "yes or no")]
    [InlineData("s_bool", "", "yes or no")]
    [InlineData("s_time", "5x", "a time: a number with an optional unit s, m, h, d or w (a bare number is in seconds)")]
    [InlineData("s_time", "s", "a time")]
    [InlineData("s_time", "-5s", "a time")]
    [InlineData("s_time", "1h30m", "a time")]
    [InlineData("s_time", "", "a time")]
    [InlineData("s_time", "99999999999999999w", "a time")]
    [InlineData("s_days", "x", "a time: a number with an optional unit s, m, h, d or w (a bare number is in days)")]
    [InlineData("s_list", "inline:{ a=b", "a list separated by commas or white space, with balanced { }")]
    [InlineData("s_list", "a } b", "a list")]
    public void BadValue_InFile_NamesFileLineValueAndExpectation(string name, string text, string expected)
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample($"# first\n{name} = {text}"));
        Assert.StartsWith($"main.cf:2: bad value \"{text}\" for parameter {name}: expected {expected}", ex.Message);
    }

    [Fact]
    public void BadValue_ShowsTheExpandedValue()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("s_a = ten\ns_int = $s_a"));
        Assert.Equal("main.cf:2: bad value \"ten\" for parameter s_int: expected a decimal integer from 0 to 2147483647", ex.Message);
    }

    [Fact]
    public void BadValue_InOverride_NamesTheOverride()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("", "s_bool=perhaps"));
        Assert.Equal("-o s_bool=perhaps: bad value \"perhaps\" for parameter s_bool: expected yes or no", ex.Message);
    }

    [Fact]
    public void BadValue_InDefault_NamesTheDefault()
    {
        var catalog = new ParameterCatalog([typeof(BrokenDefaultOptions)]);
        var ex = TestConfig.Fails(() => ConfigLoader.Load([], [], catalog, () => TestConfig.Fqdn));
        Assert.Equal("default of broken_int: bad value \"lots\" for parameter broken_int: expected a decimal integer from 0 to 2147483647", ex.Message);
    }

    [Fact]
    public void BadDefault_IsFine_WhenOverridden()
    {
        var catalog = new ParameterCatalog([typeof(BrokenDefaultOptions)]);
        var config = ConfigLoader.Load(MainCfParser.Parse("broken_int = 3", "main.cf"), [], catalog, () => TestConfig.Fqdn);
        Assert.Equal(3, config.Get<BrokenDefaultOptions>().Value);
    }

    public sealed class BrokenDefaultOptions
    {
        [Parameter("broken_int", "lots", "A broken default.")]
        public int Value { get; set; }
    }
}
