// Values that bind but cannot be used are refused when the daemon is built, naming the parameter.
using Mta.Configuration;
using Mta.Server;

namespace Mta.Tests.Server;

public class StartValidationTests
{
    [Theory]
    [InlineData("maillog_flush_interval_ms", "10001")]
    [InlineData("maillog_buffer_limit", "0")]
    [InlineData("smtp_chunking_size_limit", "16777217")]
    [InlineData("smtp_chunking_size_limit", "2147483647")]
    public void Out_of_range_values_are_refused_naming_the_parameter(string name, string value)
    {
        WithDataDirectory(dir =>
        {
            var config = ConfigLoader.Load(null, [$"data_directory={dir}", "smtpd_tls_security_level=none", $"{name}={value}"]);
            var e = Assert.Throws<FormatException>(() => MtaServer.Build(config, embeddedDefault: false));
            Assert.StartsWith($"{name} = {value}: must be", e.Message);
        });
    }

    [Theory]
    [InlineData("maillog_flush_interval_ms", "10000")]
    [InlineData("smtp_chunking_size_limit", "16777216")]
    [InlineData("smtp_chunking_size_limit", "0")]
    public void Values_at_the_bounds_are_accepted(string name, string value)
    {
        WithDataDirectory(dir =>
        {
            var config = ConfigLoader.Load(null, [$"data_directory={dir}", "smtpd_tls_security_level=none", $"{name}={value}"]);
            using var host = MtaServer.Build(config, embeddedDefault: false).Host;
            Assert.NotNull(host);
        });
    }

    private static void WithDataDirectory(Action<string> test)
    {
        var dir = Path.Combine(Path.GetTempPath(), "mta-start-" + Guid.NewGuid().ToString("N"));
        try { test(dir); }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
