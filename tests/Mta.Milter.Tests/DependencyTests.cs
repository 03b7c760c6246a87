// Dependency direction (design.md): the milter library knows nothing about the host or the SMTP core.
namespace Mta.Milter.Tests;

public class DependencyTests
{
    [Fact]
    public void Milter_references_neither_Smtp_nor_the_host()
    {
        var refs = typeof(MilterClient).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        Assert.DoesNotContain("Mta.Smtp", refs);
        Assert.DoesNotContain("Mta", refs);
    }
}
