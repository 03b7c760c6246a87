// Tests of `mta config` (postconf(1) analogue): -d, -n, NAME..., -c/-o, --markdown, and the
// one-line `mta: FILE:LINE: ...` error with exit code 1.
using System.CommandLine;
using Mta.Cli;
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public sealed class ConfigCommandTests : IDisposable
{
    private readonly string _file = Path.Combine(Path.GetTempPath(), $"mta-cli-{Guid.NewGuid():N}.cf");

    public void Dispose() => File.Delete(_file);

    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var root = new RootCommand("test root") { ConfigCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = root.Parse(["config", .. args]).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString().ReplaceLineEndings("\n"), error.ToString().ReplaceLineEndings("\n"));
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void Defaults_PrintsEveryDefault()
    {
        var (exit, output, err) = Run("-d");
        Assert.Equal(0, exit);
        Assert.Equal("", err);
        Assert.Equal(ParameterCatalog.Default.FormatDefaults(), Lines(output));
    }

    [Fact]
    public void Defaults_ForNames_AndIgnoresABrokenConfigFile()
    {
        File.WriteAllText(_file, "broken line\n");
        var (exit, output, _) = Run("-d", "-c", _file, "myorigin", "relayhost");
        Assert.Equal(0, exit);
        Assert.Equal(["myorigin = $myhostname", "relayhost ="], Lines(output));
    }

    [Fact]
    public void NonDefaults_WithoutFile_ShowsEmbeddedProfile()
    {
        var (exit, output, _) = Run("-n");
        Assert.Equal(0, exit);
        Assert.Equal(["mydestination = *"], Lines(output));
    }

    [Fact]
    public void NonDefaults_FromFileAndOverrides()
    {
        File.WriteAllText(_file, "relayhost = [smart.example]\nmyorigin = $mydomain\n");
        var (exit, output, _) = Run("-n", "-c", _file, "-o", "smtpd_timeout=1m", "-o", "relayhost=");
        Assert.Equal(0, exit);
        Assert.Equal(["myorigin = $mydomain", "relayhost =", "smtpd_timeout = 1m"], Lines(output));
    }

    [Fact]
    public void Names_PrintExpandedValues_WithLongConfigOption()
    {
        File.WriteAllText(_file, "myhostname = mx.example.net\n");
        var (exit, output, _) = Run("--config", _file, "-o", "mail_name=Test", "smtpd_banner", "mydomain");
        Assert.Equal(0, exit);
        Assert.Equal(["smtpd_banner = mx.example.net ESMTP Test", "mydomain = example.net"], Lines(output));
    }

    [Fact]
    public void NoNames_PrintsEveryParameter()
    {
        var (exit, output, _) = Run("-o", "myhostname=h.example");
        Assert.Equal(0, exit);
        Assert.Equal(ParameterCatalog.Default.Parameters.Count, Lines(output).Length);
        Assert.Contains("mydestination = *", Lines(output));
    }

    [Fact]
    public void ConfigError_IsOneLineWithFileAndLine_Exit1()
    {
        File.WriteAllText(_file, "# c\nmyhostname = a.example\nnosuch = 1\n");
        var (exit, output, err) = Run("-n", "-c", _file);
        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.Equal($"mta: {_file}:3: unknown parameter \"nosuch\"\n", err);
    }

    [Fact]
    public void OverrideError_NamesTheOverride_Exit1()
    {
        var (exit, _, err) = Run("-o", "smtpd_timeout=soon", "smtpd_timeout");
        Assert.Equal(1, exit);
        Assert.StartsWith("mta: -o smtpd_timeout=soon: bad value \"soon\" for parameter smtpd_timeout: expected a time", err);
        Assert.Single(Lines(err));
    }

    [Fact]
    public void UnknownName_Exit1()
    {
        var (exit, _, err) = Run("-o", "myhostname=h.example", "nosuch");
        Assert.Equal(1, exit);
        Assert.Equal("mta: unknown parameter \"nosuch\"\n", err);
    }

    [Fact]
    public void MissingFile_Exit1()
    {
        var (exit, _, err) = Run("-n", "-c", _file + ".missing");
        Assert.Equal(1, exit);
        Assert.StartsWith($"mta: {_file}.missing: cannot read:", err);
    }

    [Fact]
    public void ConflictingFlags_Exit1()
    {
        Assert.Equal(1, Run("-d", "-n").Exit);
    }

    [Fact]
    public void Markdown_PrintsTheReference()
    {
        var (exit, output, _) = Run("--markdown");
        Assert.Equal(0, exit);
        Assert.Equal(ParameterReference.ToMarkdown(ParameterCatalog.Default), output);
    }

    [Fact]
    public void CommonOptions_CanBeSharedByAnotherCommand()
    {
        var serve = new Command("serve");
        CommonOptions.AddTo(serve);
        MtaConfiguration? loaded = null;
        serve.SetAction(pr => { loaded = CommonOptions.LoadFrom(pr); return 0; });
        var root = new RootCommand { ConfigCommand.Create(), serve };
        Assert.Equal(0, root.Parse(["serve", "-o", "myhostname=s.example", "-o", "mail_name=X"]).Invoke());
        Assert.Equal("s.example", loaded!.GetExpanded("myhostname"));
        Assert.Equal("X", loaded.GetExpanded("mail_name"));
        Assert.True(loaded.IsSet("mydestination")); // no -c: embedded profile
    }
}
