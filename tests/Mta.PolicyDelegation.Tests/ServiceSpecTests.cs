// PolicyServiceSpec / PolicyEndpoint / settings: Postfix defaults, per-service override syntax, errors.
namespace Mta.PolicyDelegation.Tests;

public class ServiceSpecTests
{
    [Fact]
    public void Defaults_MatchPostfix()
    {
        var s = PolicyServiceSettings.Default;
        Assert.Equal(TimeSpan.FromSeconds(100), s.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(300), s.MaxIdle);
        Assert.Equal(TimeSpan.FromSeconds(1000), s.MaxTtl);
        Assert.Equal(0, s.RequestLimit);
        Assert.Equal(2, s.TryLimit);
        Assert.Equal(TimeSpan.FromSeconds(1), s.RetryDelay);
        Assert.Equal("451 4.3.5 Server configuration problem", s.DefaultAction);
        Assert.Equal("", s.PolicyContext);
    }

    [Fact]
    public void BareEndpoint()
    {
        var spec = PolicyServiceSpec.Parse("inet:127.0.0.1:10023");
        Assert.Equal(PolicyEndpoint.Inet("127.0.0.1", 10023), spec.Endpoint);
        Assert.Same(PolicyServiceSettings.Default, spec.Settings);
    }

    [Fact]
    public void Overrides_AllNames()
    {
        var spec = PolicyServiceSpec.Parse(
            "{ inet:localhost:10023, timeout=10s, max_idle=2m, max_ttl=1h, retry_delay=3, request_limit=5, try_limit=3, " +
            "default_action=DUNNO, policy_context=greylist }");
        Assert.Equal(PolicyEndpoint.Inet("localhost", 10023), spec.Endpoint);
        var s = spec.Settings;
        Assert.Equal(TimeSpan.FromSeconds(10), s.Timeout);
        Assert.Equal(TimeSpan.FromMinutes(2), s.MaxIdle);
        Assert.Equal(TimeSpan.FromHours(1), s.MaxTtl);
        Assert.Equal(TimeSpan.FromSeconds(3), s.RetryDelay);
        Assert.Equal(5, s.RequestLimit);
        Assert.Equal(3, s.TryLimit);
        Assert.Equal("DUNNO", s.DefaultAction);
        Assert.Equal("greylist", s.PolicyContext);
    }

    [Fact]
    public void Overrides_BracedValueWithSpaces_AndWhitespaceAroundEquals()
    {
        var spec = PolicyServiceSpec.Parse("{unix:/run/policy.sock { default_action = 451 4.3.0 try later } { timeout = 5s }}");
        Assert.Equal(PolicyEndpoint.Unix("/run/policy.sock"), spec.Endpoint);
        Assert.Equal("451 4.3.0 try later", spec.Settings.DefaultAction);
        Assert.Equal(TimeSpan.FromSeconds(5), spec.Settings.Timeout);
    }

    [Fact]
    public void Overrides_StartFromGlobals()
    {
        var globals = PolicyServiceSettings.Default with { TryLimit = 5, PolicyContext = "main" };
        var spec = PolicyServiceSpec.Parse("{ inet:127.0.0.1:1, timeout=1s }", globals);
        Assert.Equal(5, spec.Settings.TryLimit);
        Assert.Equal("main", spec.Settings.PolicyContext);
    }

    [Theory]
    [InlineData("{ inet:127.0.0.1:1, bogus=1 }", "unknown option")]
    [InlineData("{ inet:127.0.0.1:1, timeout=0s }", "< 1s")]
    [InlineData("{ inet:127.0.0.1:1, timeout=10x }", "bad time value")]
    [InlineData("{ inet:127.0.0.1:1, try_limit=0 }", "< 1")]
    [InlineData("{ inet:127.0.0.1:1, request_limit=-1 }", "< 0")]
    [InlineData("{ inet:127.0.0.1:1, request_limit=abc }", "bad numerical")]
    [InlineData("{ inet:127.0.0.1:1, default_action= }", "bad string length")]
    [InlineData("{ inet:127.0.0.1:1, timeout }", "missing '='")]
    [InlineData("{ inet:127.0.0.1:1, timeout = 5s }", "missing '='")] // unbraced spaces split the item, as in Postfix
    [InlineData("{ inet:127.0.0.1:1", "missing '}'")]
    [InlineData("{ inet:127.0.0.1:1 } x", "syntax error after")]
    [InlineData("{ }", "empty policy service")]
    [InlineData("tcp:127.0.0.1:1", "unknown endpoint type")]
    [InlineData("inet:127.0.0.1", "missing host or port")]
    [InlineData("inet:127.0.0.1:99999", "bad port")]
    [InlineData("unix:", "empty path")]
    public void Errors(string text, string message)
    {
        var ex = Assert.Throws<FormatException>(() => PolicyServiceSpec.Parse(text));
        Assert.Contains(message, ex.Message);
    }

    [Theory]
    [InlineData("inet:[::1]:10023", "::1", 10023)]
    [InlineData("inet:policy.example:9998", "policy.example", 9998)]
    public void InetEndpoints(string text, string host, int port)
    {
        var e = PolicyEndpoint.Parse(text);
        Assert.Equal(PolicyEndpointKind.Inet, e.Kind);
        Assert.Equal(host, e.Address);
        Assert.Equal(port, e.Port);
        Assert.Equal(text, e.ToString());
    }

    [Fact]
    public void SpawnEndpoint()
    {
        var e = PolicyEndpoint.Parse("spawn:/usr/bin/policyd-spf");
        Assert.Equal(PolicyEndpointKind.Spawn, e.Kind);
        Assert.Equal("/usr/bin/policyd-spf", e.Address);
    }

    [Theory]
    [InlineData("10", 10)]
    [InlineData("10s", 10)]
    [InlineData("2m", 120)]
    [InlineData("1h", 3600)]
    [InlineData("1d", 86400)]
    [InlineData("1w", 604800)]
    public void TimeUnits(string text, int seconds)
    {
        Assert.True(PolicyServiceSpec.TryParseTime(text, out var t));
        Assert.Equal(TimeSpan.FromSeconds(seconds), t);
    }
}
