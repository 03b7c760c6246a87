// ServeCommand: `mta serve [-c FILE] [-o name=value]...` runs the MTA until SIGTERM/SIGINT.
using System.CommandLine;
using Microsoft.Extensions.Hosting;
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
            try
            {
                host = MtaServer.Build(CommonOptions.LoadFrom(parseResult));
            }
            catch (Exception e) when (e is ConfigException or FormatException or Routing.RoutingConfigurationException or IOException or System.Security.Cryptography.CryptographicException)
            {
                parseResult.InvocationConfiguration.Error.WriteLine("mta: " + e.Message);
                return 1;
            }
            using (host)
            {
                await host.RunAsync(CancellationToken.None).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }
}
