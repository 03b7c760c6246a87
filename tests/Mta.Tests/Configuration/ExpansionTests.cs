// Tests of $name expansion (postconf(5)): $name, ${name}, $(name), nested, ${name?x}, ${name:x},
// ${name?{a}:{b}}, $$, loops, unknown references, pseudo-parameters.
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class ExpansionTests
{
    private static string Expand(string mainCf, string name = "s_text") => TestConfig.LoadSample(mainCf).GetExpanded(name);

    [Theory]
    [InlineData("s_a = X\ns_text = <$s_a>", "<X>")]
    [InlineData("s_a = X\ns_text = <${s_a}>", "<X>")]
    [InlineData("s_a = X\ns_text = <$(s_a)>", "<X>")]
    [InlineData("s_a = X\ns_text = $s_a.$s_a", "X.X")]
    [InlineData("s_text = cost $$5", "cost $5")]
    [InlineData("s_text = $$s_a", "$s_a")]
    [InlineData("s_text = a{b}c", "a{b}c")]
    public void SimpleReferences(string mainCf, string expected) => Assert.Equal(expected, Expand(mainCf));

    [Fact]
    public void NestedReferences_AreExpandedRecursively_InAnyOrder()
    {
        Assert.Equal("1-2-3", Expand("s_text = $s_a\ns_a = 1-$s_b\ns_b = 2-${s_c}\ns_c = 3"));
    }

    [Fact]
    public void DefaultsMayReferenceOtherParameters()
    {
        var config = TestConfig.Load(null);
        Assert.Equal(TestConfig.Fqdn, config.GetExpanded("myorigin"));
        Assert.Equal($"{TestConfig.Fqdn} ESMTP Mta", config.GetExpanded("smtpd_banner"));
        Assert.Equal("var/queue", config.GetExpanded("queue_directory"));
    }

    [Fact]
    public void ReferenceSeesTheOverriddenValue()
    {
        var config = TestConfig.Load("myhostname = mail.example.com\ndata_directory = /srv/mta");
        Assert.Equal("mail.example.com", config.GetExpanded("smtp_helo_name"));
        Assert.Equal("/srv/mta/mail", config.GetExpanded("maildir_base"));
    }

    [Theory]
    [InlineData("s_a = x\ns_text = [${s_a?yes}]", "[yes]")]
    [InlineData("s_a =\ns_text = [${s_a?yes}]", "[]")]
    [InlineData("s_a = x\ns_text = [${s_a:empty}]", "[]")]
    [InlineData("s_a =\ns_text = [${s_a:empty}]", "[empty]")]
    [InlineData("s_a = x\ns_b = B\ns_text = [${s_a?$s_b}]", "[B]")]
    [InlineData("s_a = x\ns_b = B\ns_text = [${s_a?<${s_b}>}]", "[<B>]")]
    [InlineData("s_a = x\ns_text = [${s_a?{10}:{300}}]", "[10]")]
    [InlineData("s_a =\ns_text = [${s_a?{10}:{300}}]", "[300]")]
    [InlineData("s_a =\ns_text = [${s_a?{10}}]", "[]")]
    [InlineData("s_b =\ns_a = $s_b\ns_text = [${s_a:indirectly empty}]", "[indirectly empty]")]
    public void ConditionalExpansion(string mainCf, string expected) => Assert.Equal(expected, Expand(mainCf));

    [Fact]
    public void ConditionalBranchNotTaken_IsNotExpanded()
    {
        // the else-branch references an unknown parameter but is never evaluated
        Assert.Equal("x", Expand("s_a = x\ns_text = ${s_a?x}${s_a:$nonexistent}"));
    }

    [Fact]
    public void DirectLoop_IsAnError_NamingTheParameterAndChain()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("s_a = $s_a"));
        Assert.Equal("main.cf:1: circular reference in parameter s_a: $s_a -> $s_a", ex.Message);
    }

    [Fact]
    public void IndirectLoop_IsAnError_NamingTheChain()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("s_text = hi\ns_a = x$s_b\ns_b = ${s_c}\ns_c = $s_a"));
        Assert.Equal("main.cf:2: circular reference in parameter s_a: $s_a -> $s_b -> $s_c -> $s_a", ex.Message);
    }

    [Fact]
    public void LoopThroughConditional_IsDetected()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("s_a = ${s_b?x}\ns_b = ${s_a:y}"));
        Assert.Contains("circular reference", ex.Message);
    }

    [Fact]
    public void LoopThroughPseudoParameter_IsDetected()
    {
        var ex = TestConfig.Fails(() => TestConfig.Load("myhostname = mail.$default_mydomain"));
        Assert.Equal("main.cf:1: circular reference in parameter myhostname: $myhostname -> $default_mydomain -> $myhostname", ex.Message);
    }

    [Theory]
    [InlineData("s_text = $nosuch", "main.cf:1: parameter s_text: reference to unknown parameter $nosuch")]
    [InlineData("s_text = ${nosuch?x}", "main.cf:1: parameter s_text: reference to unknown parameter $nosuch")]
    [InlineData("s_text = ${s_a", "main.cf:1: parameter s_text: missing '}'")]
    [InlineData("s_text = $(s_a", "main.cf:1: parameter s_text: missing ')'")]
    [InlineData("s_text = ${}", "main.cf:1: parameter s_text: missing parameter name")]
    [InlineData("s_text = ${s_a!x}", "main.cf:1: parameter s_text: bad operator '!'")]
    [InlineData("s_text = ${s_a?{x}y}", "main.cf:1: parameter s_text: expected ':{...}'")]
    [InlineData("s_text = cost $", "main.cf:1: parameter s_text: '$' at end of value")]
    [InlineData("s_text = $-x", "main.cf:1: parameter s_text: bad '$' syntax")]
    public void BadExpansion_FailsWithSource(string mainCf, string expectedPrefix)
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample(mainCf));
        Assert.StartsWith(expectedPrefix, ex.Message);
    }

    [Fact]
    public void ErrorInReferencedValue_NamesWhereThatValueWasWritten()
    {
        var ex = TestConfig.Fails(() => TestConfig.LoadSample("s_text = $s_a\ns_a = $nosuch"));
        Assert.StartsWith("main.cf:2: parameter s_a:", ex.Message);
    }

    [Fact]
    public void PseudoParameters_FromMachineName()
    {
        var config = TestConfig.Load(null);
        Assert.Equal("mx1.example.org", config.GetExpanded("default_myhostname"));
        Assert.Equal("mx1.example.org", config.GetExpanded("myhostname"));
        Assert.Equal("example.org", config.GetExpanded("default_mydomain"));
        Assert.Equal("example.org", config.GetExpanded("mydomain"));
    }

    [Fact]
    public void DefaultMyDomain_FollowsTheConfiguredMyHostname()
    {
        var config = TestConfig.Load("myhostname = smtp.mail.example.net");
        Assert.Equal("mail.example.net", config.GetExpanded("mydomain"));
        Assert.Equal(["smtp.mail.example.net", "localhost.mail.example.net", "localhost"], config.Get<IdentityOptions>().MyDestination);
    }

    [Theory]
    [InlineData("box", "box.localdomain", "localdomain")]
    [InlineData("box.", "box.localdomain", "localdomain")]
    [InlineData("a.b.c", "a.b.c", "b.c")]
    public void MachineNameWithoutDot_GetsLocaldomain(string machine, string host, string domain)
    {
        var config = ConfigLoader.Load(null, [], ParameterCatalog.Default, () => machine);
        Assert.Equal(host, config.GetExpanded("myhostname"));
        Assert.Equal(domain, config.GetExpanded("mydomain"));
    }

    [Fact]
    public void PseudoParameters_CannotBeSet()
    {
        Assert.StartsWith("main.cf:1: default_myhostname is computed and cannot be set",
            TestConfig.Fails(() => TestConfig.Load("default_myhostname = x")).Message);
        Assert.StartsWith("-o default_mydomain=x: default_mydomain is computed",
            TestConfig.Fails(() => TestConfig.Load(null, "default_mydomain=x")).Message);
    }

    [Fact]
    public void DetectFqdn_ReturnsANameWithADot()
    {
        Assert.Contains('.', HostIdentity.DetectFqdn());
    }

    [Fact]
    public void GetExpanded_UnknownName_Throws()
    {
        Assert.Equal("unknown parameter \"nosuch\"", TestConfig.Fails(() => TestConfig.Load(null).GetExpanded("nosuch")).Message);
    }
}
