// Entry point of the `mta` command: hands the arguments to the CLI (Cli/MtaCommandLine.cs).
//
// Socket completions run inline on the runtime's epoll threads (one per core) unless the environment
// says otherwise: an SMTP session is a chain of small reads and writes, and handing every completion
// from the epoll thread to a thread-pool worker cost more CPU than the session's own work (bench/ANALYSIS.md).
// The runtime reads this variable when the first socket is created, so it must be set before that.
// Work that may block (file writes with fsync, DKIM signing of large messages) is not run inline: it
// awaits file I/O or is handed to the thread pool where it happens (see docs/flow.md, "Threads").
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
return await Mta.Cli.MtaCommandLine.RunAsync(args);
