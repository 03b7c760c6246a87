// ParameterValues: conversion of expanded main.cf text to typed values, following postconf(5)
// "Lists" (comma and/or white space separated, "{ }" grouping), boolean yes/no, and time values
// (a number with an optional unit s, m, h, d, w).
using System.Globalization;
using System.Text;

namespace Mta.Configuration;

/// <summary>Typed views of parameter text, shared by binding and by code that parses list elements.</summary>
public static class ParameterValues
{
    /// <summary>
    /// Splits a Postfix list: elements are separated by commas and/or white space, empty elements are
    /// dropped. Text inside <c>{ ... }</c> (nested allowed) is never split, so
    /// <c>inline:{ a=b, c=d }</c> stays one element, kept exactly as written.
    /// </summary>
    /// <returns>The elements, or null when a brace is unbalanced.</returns>
    public static IReadOnlyList<string>? TrySplitList(string value)
    {
        var items = new List<string>();
        var current = new StringBuilder();
        int depth = 0;
        foreach (char c in value)
        {
            if (depth == 0 && (c == ',' || char.IsWhiteSpace(c)))
            {
                if (current.Length > 0) items.Add(current.ToString());
                current.Clear();
                continue;
            }
            if (c == '{') depth++;
            else if (c == '}' && --depth < 0) return null;
            current.Append(c);
        }
        if (depth != 0) return null;
        if (current.Length > 0) items.Add(current.ToString());
        return items;
    }

    /// <summary><c>yes</c>/<c>true</c> → true, <c>no</c>/<c>false</c> → false (case-insensitive); else null.</summary>
    public static bool? TryParseBool(string value) => value.ToLowerInvariant() switch
    {
        "yes" or "true" => true,
        "no" or "false" => false,
        _ => null,
    };

    /// <summary>
    /// Postfix time: decimal digits with an optional unit <c>s</c> (seconds), <c>m</c>, <c>h</c>,
    /// <c>d</c> or <c>w</c> (weeks), case-insensitive; a bare number is in <paramref name="defaultUnit"/>.
    /// </summary>
    /// <returns>The duration, or null for bad syntax or a value beyond TimeSpan's range.</returns>
    public static TimeSpan? TryParseTime(string value, char defaultUnit)
    {
        if (value.Length == 0) return null;
        char unit = char.ToLowerInvariant(value[^1]);
        string digits = char.IsAsciiLetter(unit) ? value[..^1] : value;
        if (!char.IsAsciiLetter(unit)) unit = defaultUnit;
        long multiplier = unit switch
        {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 7 * 86400,
            _ => 0,
        };
        if (multiplier == 0 || digits.Length == 0) return null;
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long n)) return null;
        if (n > (long)TimeSpan.MaxValue.TotalSeconds / multiplier) return null;
        return TimeSpan.FromSeconds(n * multiplier);
    }

    /// <summary>
    /// Converts expanded text to <paramref name="type"/> (one of the catalog's supported types).
    /// int and long take decimal digits only (no sign, no unit suffix), so negative values are rejected.
    /// </summary>
    /// <param name="value">Expanded parameter value.</param>
    /// <param name="type">Target property type.</param>
    /// <param name="defaultTimeUnit">Unit of a bare number for TimeSpan.</param>
    /// <param name="result">The converted value.</param>
    /// <param name="expected">On failure, what was expected, for the error message.</param>
    public static bool TryConvert(string value, Type type, char defaultTimeUnit, out object? result, out string expected)
    {
        result = null;
        expected = "";
        if (type == typeof(string))
        {
            result = value;
            return true;
        }
        if (type == typeof(int))
        {
            expected = $"a decimal integer from 0 to {int.MaxValue}";
            if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int i)) return false;
            result = i;
            return true;
        }
        if (type == typeof(long))
        {
            expected = $"a decimal integer from 0 to {long.MaxValue}";
            if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long l)) return false;
            result = l;
            return true;
        }
        if (type == typeof(bool))
        {
            expected = "yes or no";
            bool? b = TryParseBool(value);
            result = b;
            return b.HasValue;
        }
        if (type == typeof(TimeSpan))
        {
            expected = $"a time: a number with an optional unit s, m, h, d or w (a bare number is in {UnitName(defaultTimeUnit)})";
            TimeSpan? t = TryParseTime(value, defaultTimeUnit);
            result = t;
            return t.HasValue;
        }
        if (type == typeof(IReadOnlyList<string>))
        {
            expected = "a list separated by commas or white space, with balanced { }";
            IReadOnlyList<string>? list = TrySplitList(value);
            result = list;
            return list is not null;
        }
        throw new ArgumentException($"unsupported parameter type {type}", nameof(type));
    }

    /// <summary>Short type name for docs and messages: string, integer, yes/no, time (unit), list.</summary>
    public static string TypeName(Type type, char defaultTimeUnit) =>
        type == typeof(string) ? "string"
        : type == typeof(int) || type == typeof(long) ? "integer"
        : type == typeof(bool) ? "yes/no"
        : type == typeof(TimeSpan) ? $"time (bare number: {UnitName(defaultTimeUnit)})"
        : type == typeof(IReadOnlyList<string>) ? "list"
        : type.Name;

    private static string UnitName(char unit) => unit switch
    {
        's' => "seconds",
        'm' => "minutes",
        'h' => "hours",
        'd' => "days",
        'w' => "weeks",
        _ => unit.ToString(),
    };
}
