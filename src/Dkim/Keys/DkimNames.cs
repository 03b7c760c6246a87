// DkimNames: checks and normalisation of signing domains and selectors (RFC 6376 3.1: a selector is a
// sub-domain, "._domainkey." is appended; 3.5 d= is a domain name) and of mail domains compared
// against ours (case-insensitive, RFC 5321 2.4; IDNs compared as A-labels, RFC 5890).
using System.Globalization;

namespace Mta.Dkim;

/// <summary>Domain and selector validation and normalisation.</summary>
public static class DkimNames
{
    /// <summary>
    /// Lower-cases <paramref name="domain"/>, drops a trailing dot and converts a U-label domain to its A-label
    /// (punycode) form; returns null when it is empty or not a valid domain.
    /// </summary>
    public static string? NormalizeDomain(string? domain)
    {
        if (string.IsNullOrWhiteSpace(domain))
            return null;
        var d = domain.Trim().TrimEnd('.');
        if (d.Length == 0)
            return null;
        if (d.Any(c => c > 127))
        {
            try
            {
                d = new IdnMapping().GetAscii(d);
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
        d = d.ToLowerInvariant();
        return IsValidDnsName(d) ? d : null;
    }

    internal static void ValidateDomain(string domain, string paramName)
    {
        if (NormalizeDomain(domain) is null)
            throw new ArgumentException($"'{domain}' is not a valid domain name", paramName);
    }

    internal static void ValidateSelector(string selector, string paramName)
    {
        if (string.IsNullOrEmpty(selector) || !IsValidDnsName(selector))
            throw new ArgumentException($"'{selector}' is not a valid selector (DNS labels of letters, digits, '-' and '_')", paramName);
    }

    private static bool IsValidDnsName(string name)
    {
        if (name.Length > 253)
            return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63)
                return false;
            foreach (var c in label)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'))
                    return false;
            }
        }
        return true;
    }
}
