// ConfigLoader: assembles the configuration from its layers — embedded profile (only without a
// file), main.cf, then -o overrides — rejects unknown names, and validates every value at load
// (postconf(5); postconf(1) -o). Unlike Postfix, an unknown parameter is an error, not a warning.
namespace Mta.Configuration;

/// <summary>Loads <see cref="MtaConfiguration"/> from main.cf and <c>-o</c> overrides.</summary>
public static class ConfigLoader
{
    /// <summary>
    /// Loads and validates the configuration.
    /// </summary>
    /// <param name="configFile">main.cf path, or null for the <see cref="EmbeddedProfile"/>.</param>
    /// <param name="overrides"><c>name=value</c> strings from <c>-o</c>, applied in order after the file
    /// (the last setting of a name wins).</param>
    /// <returns>A configuration whose every option class binds without error.</returns>
    /// <exception cref="ConfigException">Unreadable file, bad syntax, unknown parameter, setting a computed
    /// pseudo-parameter, bad expansion, or bad value; the message starts with <c>FILE:LINE</c>,
    /// <c>-o name=value</c> or <c>default of NAME</c>.</exception>
    public static MtaConfiguration Load(string? configFile, IReadOnlyList<string> overrides)
    {
        var config = Load(configFile is null ? null : MainCfParser.ParseFile(configFile), overrides, ParameterCatalog.Default, HostIdentity.DetectFqdn);
        config.WithOverrides = extra => Load(configFile, [.. overrides, .. extra]);   // per-listener overrides (smtpd_listen groups)
        return config;
    }

    /// <summary>Like <see cref="Load(string?, IReadOnlyList{string})"/> from parsed entries (null: no file, use
    /// the embedded profile), a given catalog, and a given FQDN source for <c>default_myhostname</c>.</summary>
    internal static MtaConfiguration Load(IReadOnlyList<MainCfEntry>? fileEntries, IReadOnlyList<string> overrides,
        ParameterCatalog catalog, Func<string> machineFqdn)
    {
        var set = new Dictionary<string, SetValue>(StringComparer.Ordinal);
        if (fileEntries is null)
        {
            foreach (var (name, value) in EmbeddedProfile.Settings)
                Put(catalog, set, name, value, EmbeddedProfile.Source);
        }
        else
        {
            foreach (MainCfEntry e in fileEntries)
                Put(catalog, set, e.Name, e.Value, e.Source);
        }
        foreach (string o in overrides)
        {
            string source = $"-o {o}";
            int eq = o.IndexOf('=');
            if (eq < 0) throw new ConfigException($"{source}: expected name=value");
            string name = o[..eq].Trim();
            if (!MainCfParser.IsValidName(name))
                throw new ConfigException($"{source}: bad parameter name \"{name}\": expected letters, digits and '_'");
            Put(catalog, set, name, o[(eq + 1)..].Trim(), source);
        }
        var config = new MtaConfiguration(catalog, set, machineFqdn);
        config.Validate();
        return config;
    }

    private static void Put(ParameterCatalog catalog, Dictionary<string, SetValue> set, string name, string value, string source)
    {
        if (ParameterCatalog.PseudoParameters.Contains(name))
            throw new ConfigException($"{source}: {name} is computed and cannot be set (set {(name == ParameterCatalog.DefaultMyDomain ? "mydomain" : "myhostname")} instead)");
        if (catalog.Find(name) is null)
            throw new ConfigException($"{source}: unknown parameter \"{name}\"");
        set[name] = new SetValue(value, source);
    }
}
