// DkimCommand: `mta dkim keygen -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-o DIR]`: creates a DKIM signing key
// (RSA 2048 bits, RFC 6376 3.3.3 / RFC 8301 3.2; or Ed25519, RFC 8463) as DIR/SELECTOR.DOMAIN.ALG.pem with
// mode 0600, and prints the zone-file TXT record to publish at SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.2.1)
// and the dkim_signing_keys entry that uses the key. Like opendkim-genkey(8), but never overwrites a key.
using System.CommandLine;
using Mta.Dkim;

namespace Mta.Cli;

/// <summary>The <c>dkim</c> command.</summary>
public static class DkimCommand
{
    /// <summary>
    /// Creates <c>dkim keygen -d DOMAIN -s SELECTOR [-a rsa|ed25519] [-o DIR]</c>.
    /// On success prints, on the invocation's Output, the key file path as a comment, the zone-file entry, and the
    /// <c>dkim_signing_keys</c> entry; exit code 0. On error prints one line <c>mta: MESSAGE</c> on Error; exit code 1
    /// (invalid domain or selector, existing key file, unwritable directory).
    /// </summary>
    public static Command Create()
    {
        var domain = new Option<string>("--domain", "-d") { Description = "signing domain (d=), e.g. example.org", Required = true, HelpName = "DOMAIN" };
        var selector = new Option<string>("--selector", "-s") { Description = "selector (s=), e.g. 2025a", Required = true, HelpName = "SELECTOR" };
        var algorithm = new Option<string>("--algorithm", "-a")
        {
            Description = "key type: rsa (2048 bits) or ed25519 (RFC 8463)",
            DefaultValueFactory = _ => "rsa",
            HelpName = "rsa|ed25519",
        };
        algorithm.AcceptOnlyFromAmong("rsa", "ed25519");
        var directory = new Option<string>("--output-directory", "-o")
        {
            Description = "directory for the key file (default: the current directory)",
            DefaultValueFactory = _ => ".",
            HelpName = "DIR",
        };

        var keygen = new Command("keygen", "Create a DKIM key (SELECTOR.DOMAIN.ALG.pem, mode 0600) and print the DNS TXT record to publish.");
        keygen.Options.Add(domain);
        keygen.Options.Add(selector);
        keygen.Options.Add(algorithm);
        keygen.Options.Add(directory);
        keygen.SetAction(parseResult =>
        {
            TextWriter output = parseResult.InvocationConfiguration.Output;
            TextWriter error = parseResult.InvocationConfiguration.Error;
            var d = parseResult.GetValue(domain)!;
            var s = parseResult.GetValue(selector)!;
            var alg = parseResult.GetValue(algorithm) == "ed25519" ? DkimKeyAlgorithm.Ed25519 : DkimKeyAlgorithm.Rsa;
            try
            {
                var normalized = DkimNames.NormalizeDomain(d) ?? throw new ArgumentException($"'{d}' is not a valid domain name");
                var path = Path.GetFullPath(Path.Combine(parseResult.GetValue(directory)!, DkimKeyGenerator.FileName(normalized, s, alg)));
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                var (_, record) = DkimKeyGenerator.GenerateToFile(normalized, s, alg, path);
                output.WriteLine($"; private key: {path}");
                output.WriteLine($"; publish this record, then add to {DkimSigningPolicy.ParameterName}: {normalized}:{s}:{path}");
                output.WriteLine(record.ZoneFileEntry);
                return 0;
            }
            catch (Exception ex) when (ex is DkimKeyException or ArgumentException)
            {
                error.WriteLine($"mta: {ex.Message.Split(" (Parameter")[0]}");
                return 1;
            }
        });

        var command = new Command("dkim", "DKIM key management.");
        command.Subcommands.Add(keygen);
        return command;
    }
}
