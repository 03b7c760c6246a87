// MtaConfiguration: the loaded configuration — raw settings with their sources, `$name` expansion
// with loop detection, typed binding of the option classes, and the `postconf -d/-n` views
// (postconf(5), postconf(1)). Built by ConfigLoader; immutable afterwards.
using System.Collections.Concurrent;

namespace Mta.Configuration;

/// <summary>A raw setting: main.cf text and where it came from (<c>FILE:LINE</c>, <c>-o name=value</c>
/// or <see cref="EmbeddedProfile.Source"/>).</summary>
internal readonly record struct SetValue(string Raw, string Source);

/// <summary>
/// The effective configuration: every catalog parameter has a value, either set (embedded profile,
/// main.cf, <c>-o</c>; later ones win) or its default. Values are expanded on read. Thread-safe.
/// </summary>
public sealed class MtaConfiguration
{
    private readonly IReadOnlyDictionary<string, SetValue> _set;
    private readonly Lazy<string> _machineFqdn;
    private readonly ConcurrentDictionary<string, string> _expanded = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, object> _bound = new();

    internal MtaConfiguration(ParameterCatalog catalog, IReadOnlyDictionary<string, SetValue> set, Func<string> machineFqdn)
    {
        Catalog = catalog;
        _set = set;
        _machineFqdn = new Lazy<string>(() => HostIdentity.QualifyHostName(machineFqdn()));
    }

    /// <summary>The catalog this configuration is checked against.</summary>
    public ParameterCatalog Catalog { get; }

    /// <summary>
    /// Loads the same layers again (same file, same -o overrides) plus <c>name=value</c> overrides applied
    /// last: the configuration of one smtpd_listen entry with its own overrides. Null when this
    /// configuration was not made by <see cref="ConfigLoader.Load(string?, IReadOnlyList{string})"/>.
    /// </summary>
    public Func<IReadOnlyList<string>, MtaConfiguration>? WithOverrides { get; internal set; }

    /// <summary>
    /// The bound instance of option class <typeparamref name="T"/>: every [Parameter] property holds the
    /// expanded, converted value. Cached: each call returns the same instance; do not modify it.
    /// </summary>
    /// <exception cref="ConfigException">A value does not convert: <c>SOURCE: bad value "x" for parameter
    /// name: expected ...</c>, or an expansion error. (<see cref="ConfigLoader"/> already binds every
    /// class once, so after a successful load this does not throw.)</exception>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> is not in the catalog.</exception>
    public T Get<T>() where T : class, new() => (T)Get(typeof(T));

    /// <summary>Non-generic <see cref="Get{T}"/> for reflection-driven callers (DI registration).</summary>
    public object Get(Type optionType)
    {
        if (!Catalog.Types.Contains(optionType))
            throw new InvalidOperationException($"{optionType.Name} is not an option class of the parameter catalog (ParameterCatalog.OptionTypes)");
        return _bound.GetOrAdd(optionType, Bind);
    }

    /// <summary>Copies the bound values of <paramref name="target"/>'s option class onto it (for IOptions).</summary>
    internal void CopyTo(object target)
    {
        object source = Get(target.GetType());
        foreach (ParameterDefinition d in Catalog.Parameters)
            if (d.OwnerType == target.GetType())
                d.Property.SetValue(target, d.Property.GetValue(source));
    }

    private object Bind(Type type)
    {
        object instance = Activator.CreateInstance(type)!;
        foreach (ParameterDefinition d in Catalog.Parameters)
        {
            if (d.OwnerType != type) continue;
            string value = GetExpanded(d.Name);
            if (!ParameterValues.TryConvert(value, d.PropertyType, d.DefaultTimeUnit, out object? converted, out string expected))
                throw new ConfigException($"{Where(d.Name)}: bad value \"{value}\" for parameter {d.Name}: expected {expected}");
            d.Property.SetValue(instance, converted);
        }
        return instance;
    }

    /// <summary>
    /// The value of <paramref name="name"/> with every <c>$name</c>, <c>${name}</c>,
    /// <c>${name?value}</c>, <c>${name:value}</c> expanded recursively and <c>$$</c> turned into '$'.
    /// Pseudo-parameters (<c>default_myhostname</c>, <c>default_mydomain</c>) are accepted too.
    /// </summary>
    /// <exception cref="ConfigException"><c>unknown parameter "name"</c>; or, prefixed with the source of the
    /// offending value, a circular reference (naming the chain), a reference to an unknown parameter, or bad
    /// <c>$</c> syntax.</exception>
    public string GetExpanded(string name)
    {
        if (Catalog.Find(name) is null && !ParameterCatalog.PseudoParameters.Contains(name))
            throw new ConfigException($"unknown parameter \"{name}\"");
        return Resolve(name, [])!;
    }

    // Expanded value of name, or null for an unknown name. stack: names being expanded, outermost first.
    private string? Resolve(string name, List<string> stack)
    {
        if (_expanded.TryGetValue(name, out string? done)) return done;
        bool pseudo = ParameterCatalog.PseudoParameters.Contains(name);
        if (!pseudo && Catalog.Find(name) is null) return null;

        int at = stack.IndexOf(name);
        if (at >= 0)
        {
            string chain = string.Join(" -> ", stack.Skip(at).Append(name).Select(n => "$" + n));
            throw new ConfigException($"{Where(stack[at])}: circular reference in parameter {stack[at]}: {chain}");
        }

        stack.Add(name);
        string value;
        try
        {
            value = name switch
            {
                ParameterCatalog.DefaultMyHostname => _machineFqdn.Value,
                ParameterCatalog.DefaultMyDomain => HostIdentity.DomainOf(Resolve("myhostname", stack) ?? _machineFqdn.Value),
                _ => ParameterExpander.Expand(RawValue(name)!, n => Resolve(n, stack)),
            };
        }
        catch (FormatException ex)
        {
            throw new ConfigException($"{Where(name)}: parameter {name}: {ex.Message}", ex);
        }
        finally
        {
            stack.RemoveAt(stack.Count - 1);
        }
        _expanded[name] = value;
        return value;
    }

    /// <summary>The raw (unexpanded) value of <paramref name="name"/>: the set text, else the default; null if unknown.</summary>
    public string? RawValue(string name) =>
        _set.TryGetValue(name, out SetValue v) ? v.Raw : Catalog.Find(name)?.DefaultText;

    /// <summary>True when <paramref name="name"/> was set by main.cf, <c>-o</c> or the embedded profile
    /// (even to its default text), as <c>postconf -n</c> counts it.</summary>
    public bool IsSet(string name) => _set.ContainsKey(name);

    /// <summary>Where the value of <paramref name="name"/> was set: <c>FILE:LINE</c>, <c>-o name=value</c>
    /// or <c>embedded profile</c>; null when it has its default (or is unknown).</summary>
    public string? SourceOf(string name) => _set.TryGetValue(name, out SetValue v) ? v.Source : null;

    private string Where(string name) => SourceOf(name) ?? (ParameterCatalog.PseudoParameters.Contains(name) ? $"computed {name}" : $"default of {name}");

    /// <summary>Lines <c>name = default</c> for every parameter, sorted by name, raw default text (<c>postconf -d</c>).</summary>
    public IEnumerable<string> FormatDefaults() => Catalog.FormatDefaults();

    /// <summary>Lines <c>name = value</c> for every set parameter, sorted by name, raw text as written
    /// (<c>postconf -n</c>).</summary>
    public IEnumerable<string> FormatNonDefaults() =>
        _set.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => ParameterCatalog.FormatLine(kv.Key, kv.Value.Raw));

    /// <summary>Lines <c>name = expanded value</c> for <paramref name="names"/> (all parameters, sorted, when
    /// empty): <c>mta config NAME...</c>.</summary>
    /// <exception cref="ConfigException">An unknown name or an expansion error.</exception>
    public IEnumerable<string> FormatEffective(IReadOnlyCollection<string> names) =>
        (names.Count == 0 ? Catalog.Parameters.Select(d => d.Name) : names)
        .Select(n => ParameterCatalog.FormatLine(n, GetExpanded(n)))
        .ToList();

    /// <summary>Binds every option class once, so that every error surfaces at load time.</summary>
    internal void Validate()
    {
        foreach (Type t in Catalog.Types) Get(t);
    }
}
