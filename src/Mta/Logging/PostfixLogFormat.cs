// PostfixLogFormat: one log line per event in syslog/Postfix shape,
// "Nov 29 20:43:47 host mta/smtpd[1234]: QUEUEID: to=<...>, ...", so existing log tools (pflogsumm,
// fail2ban filters) read our logs. Warnings and errors get Postfix's "warning:"/"error:"/"fatal:" prefix.
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Mta.Logging;

/// <summary>Formats log events as Postfix maillog lines.</summary>
public static class PostfixLogFormat
{
    private static readonly string Host = Environment.MachineName;
    private static readonly string Pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private static Stamp s_stamp = new(-1, "");

    private sealed record Stamp(long Second, string Text);

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

    /// <summary>The "host mta/program[pid]: " part for a logger category, computed once per logger.</summary>
    public static string Tag(string category) => $" {Host} mta/{ProgramName(category)}[{Pid}]: ";

    /// <summary>Appends one complete line, "\n" included: local time (syslog's "MMM dd HH:mm:ss"),
    /// <paramref name="tag"/> (from <see cref="Tag"/>), the level prefix, the message and, for an exception,
    /// ": " and its text with continuation lines indented by a tab.</summary>
    public static void AppendLine(StringBuilder line, DateTime now, string tag, LogLevel level, string message, Exception? exception)
    {
        line.Append(Timestamp(now)).Append(tag).Append(level switch
        {
            LogLevel.Warning => "warning: ",
            LogLevel.Error => "error: ",
            LogLevel.Critical => "fatal: ",
            _ => "",
        }).Append(message);
        if (exception != null) line.Append(": ").Append(exception.ToString().Replace("\n", "\n\t", StringComparison.Ordinal));
        line.Append('\n');
    }

    /// <summary>"MMM dd HH:mm:ss" in the invariant culture, formatted once per second.</summary>
    public static string Timestamp(DateTime now)
    {
        long second = now.Ticks / TimeSpan.TicksPerSecond;
        var stamp = s_stamp;
        if (stamp.Second != second)
        {
            stamp = new Stamp(second, now.ToString("MMM dd HH:mm:ss", CultureInfo.InvariantCulture));
            s_stamp = stamp;
        }
        return stamp.Text;
    }
}
