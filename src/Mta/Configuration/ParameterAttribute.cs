// ParameterAttribute: marks an option property as a main.cf parameter. The catalog of every
// parameter (for `mta config -d/-n` and docs/configuration.md) is built from these attributes,
// in the manner of Postfix's mail_params.h + postconf.proto: one place defines name, default, description.
namespace Mta.Configuration;

/// <summary>
/// Declares that a property is bound from the main.cf parameter <see cref="Name"/>.
/// Supported property types: string, int, long (sizes in bytes), bool (yes/no), TimeSpan
/// (Postfix time syntax: a number with an optional unit s, m, h, d, w; the unit defaults to
/// <see cref="DefaultTimeUnit"/>), and IReadOnlyList&lt;string&gt; (values separated by commas and/or
/// white space, Postfix list syntax).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ParameterAttribute(string name, string defaultValue, string description) : Attribute
{
    /// <summary>The parameter name, Postfix's when the concept exists (e.g. <c>message_size_limit</c>).</summary>
    public string Name { get; } = name;
    /// <summary>The default, as main.cf text; may reference other parameters (<c>$myhostname</c>).</summary>
    public string DefaultValue { get; } = defaultValue;
    /// <summary>One-line description for <c>mta config -d</c> and the reference.</summary>
    public string Description { get; } = description;
    /// <summary>Unit for a bare number in a time value: 's' (default), 'm', 'h', 'd' or 'w'.</summary>
    public char DefaultTimeUnit { get; init; } = 's';
}
