// QueueLog: owns the queue's log lines, in Postfix's shape so existing tools (pflogsumm, fail2ban
// filters) parse them: qmgr(8)/smtp(8) "to=<...>, relay=..., delay=..., delays=a/b/c/d, dsn=X.Y.Z,
// status=... (...)" and "QUEUEID: removed" (Postfix's MAILLOG_README and postconf(5) delay_logging_resolution_limit).
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Mta.Queue;

/// <summary>Source-generated log methods for the queue runner; each renders one Postfix-shaped line.</summary>
internal static partial class QueueLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information,
        Message = "{QueueId}: to=<{Recipient}>, relay={Relay}, delay={Delay}, delays={Delays}, dsn={Dsn}, status={Status} ({Reason})")]
    public static partial void Delivery(ILogger logger, string queueId, string recipient, string relay, string delay, string delays, string dsn, string status, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information,
        Message = "{QueueId}: to=<{Recipient}>, orig_to=<{OriginalRecipient}>, relay={Relay}, delay={Delay}, delays={Delays}, dsn={Dsn}, status={Status} ({Reason})")]
    public static partial void DeliveryOrigTo(ILogger logger, string queueId, string recipient, string originalRecipient, string relay, string delay, string delays, string dsn, string status, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{QueueId}: removed")]
    public static partial void Removed(ILogger logger, string queueId);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "{QueueId}: from=<{Sender}>, status=expired, {What}")]
    public static partial void Expired(ILogger logger, string queueId, string sender, string what);

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "{QueueId}: {What}")]
    public static partial void Problem(ILogger logger, string queueId, string what, Exception? exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "queue scan failed: {What}")]
    public static partial void ScanFailed(ILogger logger, string what, Exception exception);

    /// <summary>
    /// Postfix's delay formatting: under 0.01 s prints "0", under 0.1 s two decimals, under 10 s one
    /// decimal ... we keep two significant digits below 10 s and whole seconds from 10 s on.
    /// </summary>
    public static string Seconds(TimeSpan t)
    {
        double s = Math.Max(0, t.TotalSeconds);
        if (s < 0.01) return "0";
        if (s < 0.1) return s.ToString("0.0#", CultureInfo.InvariantCulture);
        if (s < 10) return s.ToString("0.#", CultureInfo.InvariantCulture);
        return Math.Round(s).ToString("0", CultureInfo.InvariantCulture);
    }
}
