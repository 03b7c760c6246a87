// ParameterCatalog: the one typed registry of every main.cf parameter, built by reflection from the
// [Parameter] attributes of the option classes (the role of Postfix's mail_params.h and postconf's
// table, postconf(5)). It drives `mta config -d/-n`, binding, and docs/configuration.md.
using System.Reflection;

namespace Mta.Configuration;

/// <summary>One catalog entry: a main.cf parameter and the option property it binds to.</summary>
/// <param name="Name">Parameter name (e.g. <c>message_size_limit</c>).</param>
/// <param name="DefaultText">Default as main.cf text, unexpanded (may contain <c>$name</c>).</param>
/// <param name="Description">One-line description.</param>
/// <param name="PropertyType">string, int, long, bool, TimeSpan or IReadOnlyList&lt;string&gt;.</param>
/// <param name="OwnerType">The option class that owns the property.</param>
/// <param name="Property">The bound property.</param>
/// <param name="DefaultTimeUnit">Unit of a bare number for TimeSpan parameters: s, m, h, d or w.</param>
public sealed record ParameterDefinition(
    string Name, string DefaultText, string Description, Type PropertyType, Type OwnerType,
    PropertyInfo Property, char DefaultTimeUnit);

/// <summary>
/// Every main.cf parameter, from the option classes in <see cref="OptionTypes"/>. Built once
/// (<see cref="Default"/>); construction errors are programming errors and throw
/// <see cref="InvalidOperationException"/> (duplicate name, unsupported property type, a public
/// settable property without [Parameter], a bad DefaultTimeUnit, a name reserved for a pseudo-parameter).
/// </summary>
public sealed class ParameterCatalog
{
    /// <summary>The option classes whose [Parameter] properties form the catalog. Add new ones here.</summary>
    public static IReadOnlyList<Type> OptionTypes { get; } =
    [
        typeof(IdentityOptions),
        typeof(SmtpdOptions),
        typeof(DeliveryOptions),
        typeof(QueueOptions),
        typeof(Mta.Milters.MilterOptions),
        typeof(Mta.Authentication.DkimOptions),
        typeof(Mta.Checks.ChecksOptions),
        typeof(Mta.Restrictions.RestrictionOptions),
        typeof(Mta.Queue.S3.S3QueueOptions),
        typeof(Mta.Proxy.ProxyOptions),
        typeof(Mta.Logging.LoggingOptions),
    ];

    /// <summary>Computed, read-only names that values and defaults may reference but main.cf may not set.</summary>
    public static IReadOnlyList<string> PseudoParameters { get; } = [DefaultMyHostname, DefaultMyDomain];

    /// <summary><c>default_myhostname</c>: the machine's FQDN (System.Net.Dns, else the host name),
    /// with <c>.localdomain</c> appended when it has no dot.</summary>
    public const string DefaultMyHostname = "default_myhostname";

    /// <summary><c>default_mydomain</c>: the expanded <c>myhostname</c> minus its first label, or
    /// <c>localdomain</c> when it has a single label.</summary>
    public const string DefaultMyDomain = "default_mydomain";

    private static readonly Type[] SupportedTypes =
        [typeof(string), typeof(int), typeof(long), typeof(bool), typeof(TimeSpan), typeof(IReadOnlyList<string>)];

    private static readonly Lazy<ParameterCatalog> LazyDefault = new(() => new ParameterCatalog(OptionTypes));

    private readonly Dictionary<string, ParameterDefinition> _byName;

    /// <summary>The catalog of <see cref="OptionTypes"/>.</summary>
    /// <exception cref="InvalidOperationException">The option classes are inconsistent (see the class remarks).</exception>
    public static ParameterCatalog Default => LazyDefault.Value;

    /// <summary>Builds a catalog from <paramref name="optionTypes"/> (tests use their own lists).</summary>
    /// <exception cref="InvalidOperationException">Duplicate name, unsupported property type, missing
    /// [Parameter], bad time unit, or a pseudo-parameter name.</exception>
    public ParameterCatalog(IEnumerable<Type> optionTypes)
    {
        Types = [.. optionTypes];
        _byName = new Dictionary<string, ParameterDefinition>(StringComparer.Ordinal);
        foreach (Type type in Types)
        {
            if (type.GetConstructor(Type.EmptyTypes) is null)
                throw new InvalidOperationException($"option class {type.Name} needs a public parameterless constructor");
            foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var attr = p.GetCustomAttribute<ParameterAttribute>();
                if (attr is null)
                {
                    if (p.SetMethod is { IsPublic: true })
                        throw new InvalidOperationException($"{type.Name}.{p.Name} is settable but has no [Parameter]");
                    continue;
                }
                string where = $"{type.Name}.{p.Name}";
                if (!MainCfParser.IsValidName(attr.Name))
                    throw new InvalidOperationException($"{where}: bad parameter name \"{attr.Name}\"");
                if (PseudoParameters.Contains(attr.Name))
                    throw new InvalidOperationException($"{where}: \"{attr.Name}\" is reserved for a computed pseudo-parameter");
                if (!SupportedTypes.Contains(p.PropertyType))
                    throw new InvalidOperationException($"{where}: unsupported parameter type {p.PropertyType}");
                if (p.SetMethod is not { IsPublic: true })
                    throw new InvalidOperationException($"{where}: a parameter property needs a public setter");
                if ("smhdw".IndexOf(attr.DefaultTimeUnit) < 0)
                    throw new InvalidOperationException($"{where}: DefaultTimeUnit '{attr.DefaultTimeUnit}' is not one of s, m, h, d, w");
                if (_byName.TryGetValue(attr.Name, out var other))
                    throw new InvalidOperationException(
                        $"duplicate parameter name \"{attr.Name}\": {other.OwnerType.Name}.{other.Property.Name} and {where}");
                _byName.Add(attr.Name, new ParameterDefinition(
                    attr.Name, attr.DefaultValue, attr.Description, p.PropertyType, type, p, attr.DefaultTimeUnit));
            }
        }
        Parameters = [.. _byName.Values.OrderBy(d => d.Name, StringComparer.Ordinal)];
    }

    /// <summary>The option classes of this catalog, in registration order.</summary>
    public IReadOnlyList<Type> Types { get; }

    /// <summary>Every parameter, sorted by name (ordinal).</summary>
    public IReadOnlyList<ParameterDefinition> Parameters { get; }

    /// <summary>The definition of <paramref name="name"/>, or null when it is not a parameter (pseudo-parameters are not).</summary>
    public ParameterDefinition? Find(string name) => _byName.GetValueOrDefault(name);

    /// <summary>Lines <c>name = default</c> (raw default text, unexpanded) sorted by name: <c>postconf -d</c>.</summary>
    public IEnumerable<string> FormatDefaults() => Parameters.Select(d => FormatLine(d.Name, d.DefaultText));

    internal static string FormatLine(string name, string value) => value.Length == 0 ? $"{name} =" : $"{name} = {value}";
}
