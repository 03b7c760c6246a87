// ConfigException: the one error type of configuration loading (main.cf syntax, unknown parameters,
// expansion, value conversion). Follows postconf(5); the message always starts with where the
// offending text came from, so the CLI can print it as `mta: MESSAGE`.
namespace Mta.Configuration;

/// <summary>
/// A configuration error. <see cref="Exception.Message"/> is one line that starts with the source of
/// the offending text: <c>FILE:LINE: ...</c> for main.cf, <c>-o name=value: ...</c> for a command-line
/// override, <c>default of NAME: ...</c> for a broken built-in default, or <c>embedded profile: ...</c>.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>Creates the exception; <paramref name="message"/> must already carry the source prefix.</summary>
    public ConfigException(string message) : base(message) { }

    /// <summary>Creates the exception with the I/O or parse error that caused it.</summary>
    public ConfigException(string message, Exception inner) : base(message, inner) { }
}
