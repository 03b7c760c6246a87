// ServeCommand: `mta serve [-c FILE] [-o name=value]...` runs the MTA until SIGTERM/SIGINT.
using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Server;

namespace Mta.Cli;

/// <summary>The <c>serve</c> command.</summary>
public static class ServeCommand
{
    /// <summary>Creates the command. Exit codes: 0 after a clean stop, 1 for configuration errors.</summary>
    public static Command Create()
    {
        var command = new Command("serve", "Run the MTA: listen on smtpd_listen, deliver before answering, queue when it must.");
        CommonOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            IHost host;
            Checks.SecurityCheckInput checks;
            MtaConfiguration config;
            bool embedded = parseResult.GetValue(CommonOptions.Config) is null;
            try
            {
                config = CommonOptions.LoadFrom(parseResult);
                (host, checks) = MtaServer.Build(config, embedded);
            }
            catch (Exception e) when (e is ConfigException or FormatException or ArgumentException or Routing.RoutingConfigurationException or IOException
                or System.Security.Cryptography.CryptographicException or Dkim.DkimKeyException)
            {
                parseResult.InvocationConfiguration.Error.WriteLine("mta: " + e.Message);
                return 1;
            }
            using (host)
            {
                var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("master");
                if (!await Checks.SecurityChecks.RunAtStartAsync(config, embedded, log, checks, cancellationToken: cancellationToken).ConfigureAwait(false))
                    return 1;
                await host.RunAsync(CancellationToken.None).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }
}
