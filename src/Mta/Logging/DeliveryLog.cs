// DeliveryLog: log lines in Postfix's shapes so pflogsumm and fail2ban filters keep working:
// "QUEUEID: to=<r>, relay=..., delay=..., delays=a/b/c/d, dsn=X.Y.Z, status=sent (reply)".
// Postfix: the maillog format of smtp(8)/local(8) delivery records.
using System.Globalization;
using Microsoft.Extensions.Logging;
using Mta.Delivery;

namespace Mta.Logging;

/// <summary>Formats and writes per-recipient delivery records.</summary>
public static class DeliveryLog
{
    /// <summary>
    /// Postfix's delay formatting: two significant digits with a resolution of 0.01 s (postconf(5)
    /// delay_logging_resolution_limit = 2): "0", "0.05", "0.42", "1.2", "71".
    /// </summary>
    public static string Seconds(TimeSpan t)
    {
        double s = Math.Max(0, t.TotalSeconds);
        if (s < 0.01) return "0";
        if (s < 1) return s.ToString("0.##", CultureInfo.InvariantCulture);
        if (s < 10) return s.ToString("0.#", CultureInfo.InvariantCulture);
        return Math.Round(s).ToString("0", CultureInfo.InvariantCulture);
    }

    /// <summary>The record for one outcome. <paramref name="beforeDelivery"/> is delays= "a" (receipt and filtering),
    /// <paramref name="queueWait"/> is "b" (0 for pre-queue delivery).</summary>
    public static string Format(string queueId, RecipientOutcome o, TimeSpan total, TimeSpan beforeDelivery, TimeSpan queueWait)
    {
        string status = o.Status switch { DeliveryStatus.Sent => "sent", DeliveryStatus.Deferred => "deferred", _ => "bounced" };
        var orig = o.Recipient.Parameters.OriginalRecipient is { } orcpt && orcpt.IndexOf(';') is int i && i >= 0
            && !string.Equals(orcpt[(i + 1)..], o.Recipient.Address.Address, StringComparison.OrdinalIgnoreCase)
            ? $", orig_to=<{orcpt[(i + 1)..]}>" : "";
        return $"{queueId}: to=<{o.Recipient.Address.Address}>{orig}, relay={o.Relay}, delay={Seconds(total)}, " +
               $"delays={Seconds(beforeDelivery)}/{Seconds(queueWait)}/{Seconds(o.ConnectionSetup)}/{Seconds(o.Transmission)}, " +
               $"dsn={o.Dsn}, status={status} ({o.Reply})";
    }

    /// <summary>Logs every outcome at Information level.</summary>
    public static void Write(ILogger log, string queueId, IEnumerable<RecipientOutcome> outcomes, TimeSpan total, TimeSpan beforeDelivery, TimeSpan queueWait)
    {
        foreach (var o in outcomes) log.LogInformation("{Line}", Format(queueId, o, total, beforeDelivery, queueWait));
    }
}
