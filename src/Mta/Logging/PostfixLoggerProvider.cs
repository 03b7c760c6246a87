// PostfixLoggerProvider: the daemon's Microsoft.Extensions.Logging provider. Each logger formats its
// events as Postfix maillog lines (PostfixLogFormat) on the caller's thread and hands them to the one
// BatchedLogWriter. Levels and filters come from the logging builder (ILoggerFactory applies them).
using System.Text;
using Microsoft.Extensions.Logging;

namespace Mta.Logging;

/// <summary>Logs Postfix-shaped lines to a stream (stdout in the daemon) through a <see cref="BatchedLogWriter"/>.</summary>
[ProviderAlias("postfix")]
public sealed class PostfixLoggerProvider : ILoggerProvider
{
    [ThreadStatic] private static StringBuilder? t_line;
    private readonly BatchedLogWriter _writer;
    private readonly Func<DateTime> _now;

    /// <param name="output">the stream lines go to; the provider does not dispose it.</param>
    /// <param name="flushInterval">see <see cref="BatchedLogWriter"/>.</param>
    /// <param name="bufferLimit">see <see cref="BatchedLogWriter"/>.</param>
    /// <param name="now">local time source (tests); DateTime.Now by default.</param>
    public PostfixLoggerProvider(Stream output, TimeSpan flushInterval, int bufferLimit = 1 << 20, Func<DateTime>? now = null)
    {
        _writer = new BatchedLogWriter(output, flushInterval, bufferLimit);
        _now = now ?? (() => DateTime.Now);
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, PostfixLogFormat.Tag(categoryName));

    /// <summary>Writes every line logged so far, then stops the writer.</summary>
    public void Dispose() => _writer.Dispose();

    private sealed class Logger(PostfixLoggerProvider owner, string tag) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (string.IsNullOrEmpty(message) && exception is null) return;
            var line = t_line ??= new StringBuilder(256);
            line.Clear();
            PostfixLogFormat.AppendLine(line, owner._now(), tag, logLevel, message, exception);
            owner._writer.Enqueue(line);
            if (line.Capacity > 16 * 1024) t_line = null;
        }
    }
}
