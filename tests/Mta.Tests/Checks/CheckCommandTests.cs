// `mta check`: one line per check on Output, exit 1 on a failure, and configuration errors as one
// `mta: ...` line on Error with exit 1. The DNS server is a closed loopback port, so lookups fail fast.
using System.CommandLine;
using Mta.Cli;

namespace Mta.Tests.Checks;

public sealed class CheckCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<(int Exit, string[] Out, string Err)> RunAsync(params string[] args)
    {
        var root = new RootCommand("test root") { CheckCommand.Create() };
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await root.Parse(["check", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString().ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries), error.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task Prints_one_line_per_check_and_exits_1_on_failure()
    {
        var leaf = TestPki.SelfSigned(["mx.example.org"], TestPki.Now.AddYears(-1), DateTimeOffset.UtcNow.AddYears(1));
        var (cert, key) = TestPki.Write(_dir.Path, leaf.Key, leaf.Certificate);
        string cf = _dir.File("main.cf");
        File.WriteAllText(cf, $"myhostname = mx.example.org\nmydestination = $myhostname, localhost\nsmtpd_tls_cert_file = {cert}\nsmtpd_tls_key_file = {key}\n" +
            "dns_resolver = 127.0.0.1:9\nsecurity_check_dns_timeout = 1s\n");
        var (exit, lines, err) = await RunAsync("-c", cf);
        Assert.Equal(1, exit);
        Assert.Equal("", err);
        Assert.Equal(["ok: tls-certificate", "ok: tls-key", "ok: tls-validity", "ok: tls-hostname", "failure: tlsa"],
            lines.Select(l => string.Join(' ', l.Split(' ').Take(2)).TrimEnd(':')));
        Assert.StartsWith("failure: tlsa _25._tcp.mx.example.org: lookup failed: ", lines[4]);
    }

    [Fact]
    public async Task Configuration_error_is_one_line_and_exit_1()
    {
        var (exit, lines, err) = await RunAsync("-o", "security_check_host_addresses=nonsense");
        Assert.Equal(1, exit);
        Assert.Empty(lines);
        Assert.Equal("mta: -o security_check_host_addresses=nonsense: bad IP address \"nonsense\"\n", err);

        (exit, _, err) = await RunAsync("-c", _dir.File("missing.cf"));
        Assert.Equal(1, exit);
        Assert.StartsWith($"mta: {_dir.File("missing.cf")}: cannot read: ", err);

        (exit, _, err) = await RunAsync("-o", "dkim_signing_keys=example.org:sel");
        Assert.Equal(1, exit);
        Assert.Equal("mta: -o dkim_signing_keys=example.org:sel: dkim_signing_keys: bad item \"example.org:sel\": expected domain:selector:/path/key.pem\n", err);
    }
}
