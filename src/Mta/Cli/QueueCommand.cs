// QueueCommand: `mta queue list|show|flush|hold|release|delete|requeue` — Postfix's mailq, postcat,
// postqueue -f/-i and postsuper -h/-H/-d/-r for the local queue. Works on queue_directory directly, so it
// runs beside `mta serve` (which sees the change at its next queue scan, within queue_run_delay).
using System.CommandLine;
using Mta.Configuration;
using Mta.Queue;

namespace Mta.Cli;

/// <summary>The <c>queue</c> command.</summary>
public static class QueueCommand
{
    /// <summary>Creates the command tree. Exit codes: 0 done or unchanged, 1 unknown queue ID or configuration error, 2 malformed ID.</summary>
    public static Command Create()
    {
        var command = new Command("queue", "Inspect and manage the queue (mailq, postcat, postqueue, postsuper).");
        var json = new Option<bool>("--json") { Description = "one JSON object per message (postqueue -j)" };
        var list = new Command("list", "List queued messages in mailq's format.") { json };
        CommonOptions.AddTo(list);
        list.SetAction(async (pr, ct) => await RunAsync(pr, (admin, o) => admin.ListAsync(o, pr.GetValue(json), ct).ContinueWith(_ => 0, ct)));
        command.Subcommands.Add(list);

        var reason = new Option<string?>("--reason") { Description = "why it is held (shown by list and show)" };
        command.Subcommands.Add(IdCommand("show", "Show the envelope, per-recipient state and content of a message.", (a, id, o, ct) => a.ShowAsync(id, o, ct), null));
        command.Subcommands.Add(IdCommand("hold", "Put a message on hold (postsuper -h).", (a, id, o, ct) => a.HoldAsync(id, null, ct), reason));
        command.Subcommands.Add(IdCommand("release", "Release a held message (postsuper -H).", (a, id, o, ct) => a.ReleaseAsync(id, ct), null));
        command.Subcommands.Add(IdCommand("delete", "Delete a message (postsuper -d).", (a, id, o, ct) => a.DeleteAsync(id, ct), null));
        command.Subcommands.Add(IdCommand("requeue", "Make a message due now (postsuper -r).", (a, id, o, ct) => a.RequeueAsync(id, ct), null));

        var flushId = new Argument<string?>("ID") { Arity = ArgumentArity.ZeroOrOne, Description = "one message (default: all)" };
        var flush = new Command("flush", "Make every deferred message (or one) due now (postqueue -f / -i).") { flushId };
        CommonOptions.AddTo(flush);
        flush.SetAction(async (pr, ct) => await RunAsync(pr, async (admin, o) =>
        {
            var id = pr.GetValue(flushId);
            var r = await admin.FlushAsync(id, ct).ConfigureAwait(false);
            await o.WriteLineAsync(QueueAdmin.Describe("flush", id ?? "all", r)).ConfigureAwait(false);
            return QueueAdmin.ExitCode(r);
        }));
        command.Subcommands.Add(flush);
        return command;
    }

    private static Command IdCommand(string name, string description,
        Func<QueueAdmin, string, TextWriter, CancellationToken, Task<QueueAdminResult>> action, Option<string?>? reason)
    {
        var id = new Argument<string>("ID") { Description = "the queue ID" };
        var c = new Command(name, description) { id };
        if (reason != null) c.Options.Add(reason);
        CommonOptions.AddTo(c);
        c.SetAction(async (pr, ct) => await RunAsync(pr, async (admin, o) =>
        {
            var queueId = pr.GetValue(id)!;
            var r = reason != null && pr.GetValue(reason) is { } why
                ? await admin.HoldAsync(queueId, why, ct).ConfigureAwait(false)
                : await action(admin, queueId, o, ct).ConfigureAwait(false);
            if (name != "show" || r != QueueAdminResult.Done) await o.WriteLineAsync(QueueAdmin.Describe(name, queueId, r)).ConfigureAwait(false);
            return QueueAdmin.ExitCode(r);
        }));
        return c;
    }

    private static async Task<int> RunAsync(ParseResult pr, Func<QueueAdmin, TextWriter, Task<int>> body)
    {
        MtaConfiguration config;
        try { config = CommonOptions.LoadFrom(pr); }
        catch (ConfigException e)
        {
            await pr.InvocationConfiguration.Error.WriteLineAsync("mta: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        IQueueStore store;
        try { store = Mta.Queue.S3.S3QueueComposition.OpenAdminStore(config); }
        catch (FormatException e)
        {
            await pr.InvocationConfiguration.Error.WriteLineAsync("mta: " + e.Message).ConfigureAwait(false);
            return 1;
        }
        return await body(new QueueAdmin(store), pr.InvocationConfiguration.Output).ConfigureAwait(false);
    }
}
