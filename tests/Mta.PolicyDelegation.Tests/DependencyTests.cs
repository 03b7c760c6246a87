// Dependency direction (design.md): the protocol library knows nothing about the host or the SMTP core.
namespace Mta.PolicyDelegation.Tests;

public class DependencyTests
{
    [Fact]
    public void Library_ReferencesNoMtaAssembly()
    {
        var refs = typeof(PolicyClient).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(refs, n => n.StartsWith("Mta", StringComparison.Ordinal));
    }
}
