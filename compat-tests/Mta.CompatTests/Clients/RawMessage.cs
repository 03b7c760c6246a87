// RawMessage: owns the small hand-made messages the raw-client tests send: CRLF line endings, a
// unique Subject so the downstream copy can be told apart, and the form a downstream peer stores
// (LF line endings, as smtp-sink, Postfix and Dovecot write them).
namespace Mta.CompatTests.Clients;

/// <summary>A message built line by line.</summary>
/// <param name="Wire">The message as sent inside DATA/BDAT (CRLF, not dot-stuffed, ends with CRLF).</param>
public sealed record RawMessage(string Wire)
{
    /// <summary>A message with the given Subject and body lines (each ending CRLF).</summary>
    public static RawMessage Create(string subject, params string[] bodyLines) =>
        new("From: <sender@client.test>\r\n" +
            "To: <bob@relay.test>\r\n" +
            $"Subject: {subject}\r\n" +
            "Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n" + // present, so Postfix (local_header_rewrite_clients) adds none
            $"Message-ID: <{Guid.NewGuid():N}@client.test>\r\n" +
            "\r\n" +
            string.Concat(bodyLines.Select(l => l + "\r\n")));

    /// <summary>The wire form dot-stuffed (RFC 5321 4.5.2) and terminated with CRLF.CRLF, for DATA.</summary>
    public string ForData()
    {
        var stuffed = Wire.StartsWith('.') ? "." + Wire : Wire;
        return stuffed.Replace("\r\n.", "\r\n..") + ".\r\n";
    }

    /// <summary>As a downstream stores it: LF line endings.</summary>
    public string Stored => Wire.Replace("\r\n", "\n");
}
