// Keeps docs/configuration.md equal to what the parameter catalog generates (as postconf(5) is
// generated from Postfix's parameter table). Regenerate with
// `MTA_REGENERATE_DOCS=1 dotnet test tests/Mta.Tests --filter FullyQualifiedName~ReferenceDocs`
// or `./mta config --markdown > docs/configuration.md`.
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class ReferenceDocsTests
{
    private static string DocsPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mta.sln")))
                return Path.Combine(dir.FullName, "docs", "configuration.md");
        throw new InvalidOperationException("repository root (Mta.sln) not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void ConfigurationMd_IsUpToDateWithTheCatalog()
    {
        string expected = ParameterReference.ToMarkdown(ParameterCatalog.Default);
        string path = DocsPath();
        if (Environment.GetEnvironmentVariable("MTA_REGENERATE_DOCS") == "1")
            File.WriteAllText(path, expected);
        string actual = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        Assert.True(expected == actual,
            $"{path} is out of date with the parameter catalog; regenerate it with " +
            "MTA_REGENERATE_DOCS=1 dotnet test tests/Mta.Tests --filter FullyQualifiedName~ReferenceDocs " +
            "(or ./mta config --markdown > docs/configuration.md)");
    }

    [Fact]
    public void Markdown_HasOneRowPerParameter_WithNameDefaultAndDescription()
    {
        string md = ParameterReference.ToMarkdown(ParameterCatalog.Default);
        var rows = md.Split('\n').Where(l => l.StartsWith("| `")).ToList();
        Assert.Equal(ParameterCatalog.Default.Parameters.Count, rows.Count);
        Assert.Contains("| `maximal_queue_lifetime` | time (bare number: days) | `5d` | How long a message may stay queued before it is bounced as undeliverable. |", rows);
        Assert.Contains("| `relayhost` | string | (empty) | ", md);
        Assert.Contains("| `message_size_limit` | integer | `10240000` |", md);
    }
}
