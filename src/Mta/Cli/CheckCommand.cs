// CheckCommand: `mta check [-c FILE] [-o name=value]...` runs the start-up security checks (issue 5)
// against the configured resolver and prints one line per check: `ok: NAME: DETAIL`,
// `warning: ...`, `failure: ... ; publish: RECORD`. Exit code 1 on any failure.
using System.CommandLine;
using Mta.Checks;
using Mta.Configuration;

namespace Mta.Cli;

/// <summary>The <c>check</c> command.</summary>
public static class CheckCommand
{
    /// <summary>
    /// Creates <c>check [-c FILE] [-o name=value]...</c>. Output: one <see cref="SecurityCheck.Format"/> line per check on the
    /// invocation's Output. Exit codes: 0 when no check failed (warnings allowed); 1 when a check failed, or for a
    /// configuration error (one line <c>mta: MESSAGE</c> on the invocation's Error). Runs whatever smtpd_security_checks says.
    /// </summary>
    public static Command Create()
    {
        var command = new Command("check", "Check TLS certificate, DANE TLSA, DNSSEC, MX, SRV and DKIM records against live DNS; print what to publish.");
        CommonOptions.AddTo(command);
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            IReadOnlyList<SecurityCheck> results;
            try
            {
                results = await SecurityChecks.RunAsync(Load(parseResult), cancellationToken).ConfigureAwait(false);
            }
            catch (ConfigException e)
            {
                error.WriteLine("mta: " + e.Message);
                return 1;
            }
            foreach (SecurityCheck r in results) output.WriteLine(r.Format());
            return results.Any(r => r.Status == CheckStatus.Failure) ? 1 : 0;
        });
        return command;
    }

    private static MtaConfiguration Load(ParseResult parseResult) => CommonOptions.LoadFrom(parseResult);
}
