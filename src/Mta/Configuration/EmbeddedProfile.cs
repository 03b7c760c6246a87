// EmbeddedProfile: the settings applied when no main.cf is given (`mta serve` with no config), so a
// bare start delivers every recipient locally into Maildirs. Not defaults, not overrides: they count
// as set for `mta config -n`, and -o still wins over them (postconf(5) mydestination).
namespace Mta.Configuration;

/// <summary>Parameters set when no configuration file is given.</summary>
public static class EmbeddedProfile
{
    /// <summary>Source text reported by <see cref="MtaConfiguration.SourceOf"/> for these settings.</summary>
    public const string Source = "embedded profile";

    /// <summary>name → raw main.cf value.</summary>
    public static IReadOnlyDictionary<string, string> Settings { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // every recipient domain is local: mail lands in Maildirs under maildir_base
        ["mydestination"] = "*",
    };
}
