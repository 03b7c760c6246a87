// PostfixConsoleFormatter: one log line per event in syslog/Postfix shape,
// "Nov 29 20:43:47 host mta/smtpd[1234]: QUEUEID: to=<...>, ...", so existing log tools (pflogsumm,
// fail2ban filters) read our logs. Warnings and errors get Postfix's "warning:"/"error:" prefix.
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Mta.Logging;

/// <summary>The "postfix" console log format.</summary>
public sealed class PostfixConsoleFormatter : ConsoleFormatter
{
    /// <summary>The formatter name to select in logging configuration.</summary>
    public const string FormatterName = "postfix";
    private static readonly string Host = Environment.MachineName;
    private static readonly int Pid = Environment.ProcessId;

    public PostfixConsoleFormatter() : base(FormatterName) { }

    /// <summary>The program name shown after "mta/": the category's last dotted part, lower-cased (smtpd, smtp, qmgr ...).</summary>
    public static string ProgramName(string category)
    {
        int dot = category.LastIndexOf('.');
        var last = dot >= 0 ? category[(dot + 1)..] : category;
        return last switch
        {
            "SmtpDeliveryAgent" or "DeliveryDispatcher" => "smtp",
            "MaildirDeliveryAgent" => "local",
            "QueueRunner" or "LocalQueueStore" => "qmgr",
            "Bouncer" or "DsnBuilder" => "bounce",
            _ => last.ToLowerInvariant(),
        };
    }

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter(logEntry.State, logEntry.Exception);
        if (message is null && logEntry.Exception is null) return;
        string prefix = logEntry.LogLevel switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error => "error: ",
            LogLevel.Critical => "fatal: ",
            _ => "",
        };
        textWriter.Write(DateTime.Now.ToString("MMM dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(Host);
        textWriter.Write(" mta/");
        textWriter.Write(ProgramName(logEntry.Category));
        textWriter.Write('[');
        textWriter.Write(Pid);
        textWriter.Write("]: ");
        textWriter.Write(prefix);
        textWriter.Write(message);
        if (logEntry.Exception != null)
        {
            textWriter.Write(": ");
            textWriter.Write(logEntry.Exception.ToString().Replace("\n", "\n\t", StringComparison.Ordinal));
        }
        textWriter.Write('\n');
    }
}
