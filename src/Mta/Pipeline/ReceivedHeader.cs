// ReceivedHeader: the trace header the MTA prepends. RFC 5321 4.4 (Received: syntax, "from", "by",
// "with", "id", "for"), RFC 3848 (ESMTPS/ESMTPSA), RFC 6531 (UTF8SMTP), RFC 5322 3.3 (date-time).
using System.Globalization;
using System.Text;

namespace Mta.Pipeline;

/// <summary>Builds a Received: header in Postfix's layout (folded, TLS details in a comment).</summary>
public static class ReceivedHeader
{
    /// <summary>
    /// The header as CRLF-terminated bytes. <paramref name="singleRecipient"/> adds the "for" clause
    /// (only for one recipient, so that BCC recipients are not disclosed).
    /// </summary>
    public static byte[] Build(string heloName, string clientName, string clientAddress, string byHost, string mailName,
        string protocol, string queueId, string? tlsDescription, string? singleRecipient, DateTimeOffset when)
    {
        var sb = new StringBuilder(256);
        sb.Append("Received: from ").Append(string.IsNullOrEmpty(heloName) ? clientName : heloName)
          .Append(" (").Append(clientName).Append(" [").Append(clientAddress).Append("])\r\n");
        if (tlsDescription != null) sb.Append("\t(using ").Append(tlsDescription).Append(")\r\n");
        sb.Append("\tby ").Append(byHost).Append(" (").Append(mailName).Append(") with ").Append(protocol)
          .Append(" id ").Append(queueId);
        if (singleRecipient != null) sb.Append("\r\n\tfor <").Append(singleRecipient).Append('>');
        sb.Append("; ").Append(FormatDate(when)).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>RFC 5322 3.3 date-time, e.g. <c>Sun, 29 Nov 2026 20:43:47 +0000 (UTC)</c>.</summary>
    public static string FormatDate(DateTimeOffset when)
    {
        var u = when.ToUniversalTime();
        return u.ToString("ddd, d MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000 (UTC)";
    }
}
