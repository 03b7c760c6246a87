// LoggingOptions: parameters of the daemon's log output (stdout, Postfix maillog line shape).
using Mta.Configuration;

namespace Mta.Logging;

/// <summary>How the daemon writes its log lines (see <see cref="BatchedLogWriter"/>).</summary>
public sealed class LoggingOptions
{
    [Parameter("maillog_flush_interval_ms", "10", "Milliseconds the log writer waits after each write before it writes the lines logged meanwhile in one batch (0: write as soon as a line is logged; at most 10000). A line reaches stdout at most about this long after it is logged.")]
    public int FlushIntervalMs { get; set; }
    [Parameter("maillog_buffer_limit", "1048576", "Bytes of log lines waiting for the writer at most; past it, logging waits for stdout (lines are never dropped).")]
    public int BufferLimit { get; set; }
}
