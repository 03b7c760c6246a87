// DkimCorpus: corpus messages as an MTA would sign or receive them (no leading mbox "From " line, CRLF
// line ends), their From: domain, and a key locator serving fixed records to our verifier.
using System.Collections.Concurrent;
using System.Text;
using MimeKit;
using Mta.CompatTests.Infrastructure;
using Mta.Dkim;

namespace Mta.CompatTests.Dkim;

public static class DkimCorpus
{
    /// <summary>The compat corpus (compat-tests/corpus): 8-bit GB2312 and ISO-2022-JP, MIME, a CRLF file.</summary>
    public static TheoryData<string> Messages => new()
    {
        "ham-001.eml", "ham-002.eml", "ham-cjk_gb2312.2.eml", "ham-cjk_iso-2022-jp.2.eml", "ham-crlf-endings.eml", "ham-mime2.eml", "ham-mime3.eml",
    };

    /// <summary>The message bytes with CRLF line ends and without an mbox "From " line.</summary>
    public static byte[] Wire(string name)
    {
        var text = Corpus.Raw(name).Replace("\r\n", "\n");
        if (text.StartsWith("From ", StringComparison.Ordinal))
            text = text[(text.IndexOf('\n') + 1)..];
        return Encoding.Latin1.GetBytes(text.Replace("\n", "\r\n"));
    }

    /// <summary>The domain of the first From: mailbox.</summary>
    public static string FromDomain(byte[] message)
    {
        using var stream = new MemoryStream(message);
        return MimeMessage.Load(stream).From.Mailboxes.First().Domain.ToLowerInvariant();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}

/// <summary>Serves key records from a dictionary (the records the peers read from their keys file).</summary>
public sealed class StaticKeyLocator : IDkimKeyLocator
{
    private readonly ConcurrentDictionary<string, string> _records = new(StringComparer.OrdinalIgnoreCase);

    public void Add(string owner, string text) => _records[owner] = text;

    public ValueTask<DkimKeyLookup> LookupAsync(string domain, string selector, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(_records.TryGetValue($"{selector}._domainkey.{domain}", out var t) ? DkimKeyLookup.Found(t) : DkimKeyLookup.NotFound("NXDOMAIN"));
}
