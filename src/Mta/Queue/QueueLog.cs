// QueueLog: the queue runner's own log lines in Postfix's shape ("QUEUEID: removed", expiry, problems).
// Per-recipient delivery records are written with Logging/DeliveryLog.cs, shared with the pre-queue path.
using Microsoft.Extensions.Logging;

namespace Mta.Queue;

/// <summary>Source-generated log methods for the queue runner; each renders one Postfix-shaped line.</summary>
internal static partial class QueueLog
{
    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "{QueueId}: removed")]
    public static partial void Removed(ILogger logger, string queueId);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "{QueueId}: from=<{Sender}>, status=expired, {What}")]
    public static partial void Expired(ILogger logger, string queueId, string sender, string what);

    [LoggerMessage(EventId = 104, Level = LogLevel.Error, Message = "{QueueId}: {What}")]
    public static partial void Problem(ILogger logger, string queueId, string what, Exception? exception);

    [LoggerMessage(EventId = 105, Level = LogLevel.Error, Message = "queue scan failed: {What}")]
    public static partial void ScanFailed(ILogger logger, string what, Exception exception);
}
