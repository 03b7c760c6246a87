// DkimDnsRecord: the TXT record that publishes a DKIM public key at SELECTOR._domainkey.DOMAIN
// (RFC 6376 3.6.2.1), with the text split into character-strings of at most 255 octets as a zone file
// needs (RFC 1035 3.3.14; verifiers concatenate them, RFC 6376 3.6.2.2).
using System.Text;

namespace Mta.Dkim;

/// <summary>A DKIM key record ready to publish: owner name, full text, and zone-file form.</summary>
public sealed record DkimDnsRecord
{
    /// <summary>Largest character-string in a TXT RDATA, in octets (RFC 1035 3.3).</summary>
    public const int MaxStringLength = 255;

    /// <summary>Creates the record for <paramref name="selector"/> in <paramref name="domain"/> with <paramref name="text"/>.</summary>
    /// <param name="domain">Signing domain (<c>d=</c>), e.g. <c>example.org</c>; a trailing dot is dropped.</param>
    /// <param name="selector">Selector (<c>s=</c>), e.g. <c>sel1</c>.</param>
    /// <param name="text">Key record text, e.g. <c>v=DKIM1; k=rsa; p=MIIB...</c> (ASCII).</param>
    public DkimDnsRecord(string domain, string selector, string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(domain);
        ArgumentException.ThrowIfNullOrEmpty(selector);
        ArgumentNullException.ThrowIfNull(text);
        OwnerName = $"{selector}._domainkey.{domain.TrimEnd('.')}";
        Text = text;
        var strings = new List<string>();
        for (int i = 0; i < text.Length; i += MaxStringLength)
            strings.Add(text.Substring(i, Math.Min(MaxStringLength, text.Length - i)));
        if (strings.Count == 0)
            strings.Add("");
        Strings = strings;
    }

    /// <summary>The owner name without trailing dot: <c>SELECTOR._domainkey.DOMAIN</c>.</summary>
    public string OwnerName { get; }

    /// <summary>The whole record text as verifiers see it after concatenation.</summary>
    public string Text { get; }

    /// <summary>The text split into character-strings of at most <see cref="MaxStringLength"/> characters.</summary>
    public IReadOnlyList<string> Strings { get; }

    /// <summary>
    /// One zone-file entry (RFC 1035 5.1), e.g.
    /// <c>sel1._domainkey.example.org. IN TXT ( "v=DKIM1; k=rsa; p=MIIB..." "...IDAQAB" )</c>, with each string on
    /// its own line when there are several. Ends without a newline.
    /// </summary>
    public string ZoneFileEntry
    {
        get
        {
            var sb = new StringBuilder();
            sb.Append(OwnerName).Append(". IN TXT ");
            if (Strings.Count == 1)
                return sb.Append('"').Append(Strings[0]).Append('"').ToString();
            sb.Append('(');
            foreach (var s in Strings)
                sb.Append("\n\t\"").Append(s).Append('"');
            return sb.Append(" )").ToString();
        }
    }
}
