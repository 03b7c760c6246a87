// SmtpSinkPeer: owns one Postfix smtp-sink(1) process listening on 127.0.0.1:PORT as a downstream
// SMTP (or LMTP) server, and the messages it dumped. smtp-sink runs as root here, so it is started
// with "-u nobody" (required as super-user) and dumps with "-d DIR/m." into a directory owned by
// nobody: one file per transaction, opened at MAIL FROM and written as lines arrive, with its own
// X-Client-Addr/X-Mail-Args/X-Rcpt-Args/Received header block in front and an empty line appended.
// Because a file is written even for a transaction the sink then rejects (-r/-f), every start
// ("life") of the sink dumps into its own directory; RestartAsync starts a new life on the same port
// with a new behaviour (e.g. from deferring to accepting). Behaviour flags, from smtp-sink(1):
//   -r CMDS  soft-reject the commands (450 4.3.0 or -b reply)   -f CMDS  hard-reject (500 5.3.0 or -B reply)
//   -W CMD:S wait S seconds before answering CMD ("." = end of data)   -L  speak LMTP
// -r and -f imply -p (no PIPELINING announced). The sink always runs with -v, which logs every
// command it receives ("smtp-sink: RCPT TO:<x>") to stderr: a transaction refused at RCPT leaves no
// dump file, so ReceivedCommands is the proof that a client talked to the sink at all.
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>How smtp-sink answers.</summary>
public sealed record SinkBehavior
{
    /// <summary>Accept everything at once.</summary>
    public static SinkBehavior Accept => new();

    /// <summary>Commands answered with a 4xx (smtp-sink -r), e.g. "RCPT" or "." (end of data).</summary>
    public IReadOnlyList<string> SoftReject { get; init; } = [];

    /// <summary>Commands answered with a 5xx (smtp-sink -f).</summary>
    public IReadOnlyList<string> HardReject { get; init; } = [];

    /// <summary>The 4xx reply text (smtp-sink -b); default "450 4.3.0 Error: command failed".</summary>
    public string? SoftReply { get; init; }

    /// <summary>The 5xx reply text (smtp-sink -B); default "500 5.3.0 Error: command failed".</summary>
    public string? HardReply { get; init; }

    /// <summary>Wait before answering a command (smtp-sink -W CMD:SECONDS), e.g. (".", 3).</summary>
    public (string Command, int Seconds)? Delay { get; init; }

    /// <summary>Speak LMTP (smtp-sink -L).</summary>
    public bool Lmtp { get; init; }

    /// <summary>The smtp-sink flags for this behaviour.</summary>
    public IEnumerable<string> Flags()
    {
        if (SoftReject.Count > 0) { yield return "-r"; yield return string.Join(',', SoftReject); }
        if (HardReject.Count > 0) { yield return "-f"; yield return string.Join(',', HardReject); }
        if (SoftReply is not null) { yield return "-b"; yield return SoftReply; }
        if (HardReply is not null) { yield return "-B"; yield return HardReply; }
        if (Delay is { } d) { yield return "-W"; yield return $"{d.Command}:{d.Seconds}"; }
        if (Lmtp) { yield return "-L"; }
    }
}

/// <summary>One transaction dumped by smtp-sink.</summary>
/// <param name="Path">The dump file.</param>
/// <param name="MailArgs">Arguments of MAIL FROM as received, e.g. "&lt;a@b&gt; SIZE=123".</param>
/// <param name="RcptArgs">Arguments of each RCPT TO as received.</param>
/// <param name="Message">The message as received (LF line endings), without smtp-sink's headers and trailing empty line.</param>
/// <param name="WrittenUtc">Last write time of the dump file.</param>
public sealed record SinkDump(string Path, string MailArgs, IReadOnlyList<string> RcptArgs, string Message, DateTime WrittenUtc)
{
    /// <summary>The recipient addresses (the part between angle brackets of each RCPT argument).</summary>
    public IReadOnlyList<string> Recipients => RcptArgs.Select(a => a[(a.IndexOf('<') + 1)..a.IndexOf('>')]).ToArray();

    /// <summary>Parses a dump file (see smtp-sink(1), DUMP FILE FORMAT).</summary>
    public static SinkDump Parse(string path)
    {
        var text = Bytes.Latin1(File.ReadAllBytes(path));
        var mail = "";
        var rcpts = new List<string>();
        var rest = text;
        while (rest.Length > 0)
        {
            var (field, after) = Bytes.SplitFirstField(rest);
            rest = after;
            if (field.StartsWith("X-Mail-Args: ", StringComparison.Ordinal)) { mail = field[13..].TrimEnd('\n'); }
            else if (field.StartsWith("X-Rcpt-Args: ", StringComparison.Ordinal)) { rcpts.Add(field[13..].TrimEnd('\n')); }
            else if (field.StartsWith("Received: ", StringComparison.Ordinal)) { break; } // smtp-sink's own, last of its block
            else if (!field.StartsWith("X-", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"{path}: unexpected smtp-sink header line {field}");
            }
        }
        if (rest.EndsWith('\n'))
        {
            rest = rest[..^1]; // the empty line smtp-sink appends after each message
        }
        return new SinkDump(path, mail, rcpts, rest, File.GetLastWriteTimeUtc(path));
    }
}

/// <summary>A running smtp-sink.</summary>
public sealed class SmtpSinkPeer : IPeer
{
    private readonly RunDirectory _dir;
    private readonly string _name;
    private readonly List<(string DumpDir, ChildProcess Process)> _lives = [];

    private SmtpSinkPeer(RunDirectory dir, string name, int port)
    {
        _dir = dir;
        _name = name;
        Port = port;
    }

    /// <summary>The listening port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Behaviour of the current life.</summary>
    public SinkBehavior Behavior { get; private set; } = SinkBehavior.Accept;

    /// <inheritdoc />
    public string Name => $"{_name} (smtp-sink 127.0.0.1:{Port})";

    /// <summary>Nexthop for transport_maps / relayhost: "[127.0.0.1]:PORT".</summary>
    public string NextHop => $"[127.0.0.1]:{Port}";

    /// <summary>Dump directory of the current life.</summary>
    public string DumpDirectory => _lives[^1].DumpDir;

    /// <summary>Starts smtp-sink on a fresh loopback port.</summary>
    public static async Task<SmtpSinkPeer> StartAsync(RunDirectory dir, string name, SinkBehavior behavior)
    {
        var peer = new SmtpSinkPeer(dir, name, PortAllocator.Next());
        await peer.StartLifeAsync(behavior);
        return peer;
    }

    private async Task StartLifeAsync(SinkBehavior behavior)
    {
        Behavior = behavior;
        var dump = _dir.Sub(_name, $"life{_lives.Count + 1}");
        Unix.Chown(dump, "nobody:nogroup");
        string[] args = ["-v", "-u", "nobody", "-d", Path.Combine(dump, "m."), .. behavior.Flags(), $"127.0.0.1:{Port}", "64"];
        var process = ChildProcess.Start(_name, "/usr/sbin/smtp-sink", args);
        _lives.Add((dump, process));
        await Wait.ForGreetingAsync(Port, TimeSpan.FromSeconds(15), Name, () => process.HasExited, DescribeLogs);
        // The probe connection above leaves no dump (no MAIL FROM); nothing to clean.
    }

    /// <summary>Stops the current smtp-sink and starts a new one on the same port with <paramref name="behavior"/>.</summary>
    public async Task RestartAsync(SinkBehavior behavior)
    {
        await _lives[^1].Process.StopAsync(TimeSpan.FromSeconds(5));
        await StartLifeAsync(behavior);
    }

    /// <summary>Stops smtp-sink (the port stops answering).</summary>
    public Task StopAsync() => _lives[^1].Process.StopAsync(TimeSpan.FromSeconds(5));

    /// <summary>SMTP commands the current life received, in order ("MAIL FROM:&lt;a@b&gt;", "RCPT TO:&lt;c@d&gt;", ...), from its -v log.</summary>
    public IReadOnlyList<string> ReceivedCommands()
    {
        const string marker = "smtp-sink: ";
        string[] verbs = ["EHLO", "HELO", "LHLO", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT", "STARTTLS", "VRFY", "XCLIENT", "XFORWARD"];
        return _lives[^1].Process.Output.Split('\n')
            .Select(l => l.IndexOf(marker, StringComparison.Ordinal) is var i and >= 0 ? l[(i + marker.Length)..].TrimEnd('\r') : "")
            .Where(c => verbs.Any(v => c.StartsWith(v, StringComparison.OrdinalIgnoreCase)))
            .ToArray();
    }

    /// <summary>True when the current life received "RCPT TO:&lt;address&gt;" (with or without ESMTP parameters).</summary>
    public bool ReceivedRcptTo(string address) =>
        ReceivedCommands().Any(c => c.StartsWith($"RCPT TO:<{address}>", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Messages dumped in the current life, oldest first. smtp-sink also keeps an empty dump file for a transaction
    /// that is still open or ended without DATA on a connection the client keeps (our MTA caches connections,
    /// smtp_connection_cache_on_demand); those are not messages and are left out (see <see cref="AllDumps"/>).
    /// </summary>
    public IReadOnlyList<SinkDump> Dumps() => DumpsOf(DumpDirectory).Where(d => d.Message.Length > 0).ToArray();

    /// <summary>Every dump file of the current life, including empty ones of transactions without a message.</summary>
    public IReadOnlyList<SinkDump> AllDumps() => DumpsOf(DumpDirectory);

    /// <summary>Messages dumped in life <paramref name="life"/> (1-based), as <see cref="Dumps"/>.</summary>
    public IReadOnlyList<SinkDump> DumpsOfLife(int life) => DumpsOf(_lives[life - 1].DumpDir).Where(d => d.Message.Length > 0).ToArray();

    private static IReadOnlyList<SinkDump> DumpsOf(string dir) =>
        new DirectoryInfo(dir).GetFiles("m.*").OrderBy(f => f.LastWriteTimeUtc).Select(f => SinkDump.Parse(f.FullName)).ToArray();

    /// <summary>
    /// Waits until the current life holds at least <paramref name="count"/> transactions that carry
    /// message content and no file grew during the last 300 ms, then returns all dumps.
    /// </summary>
    public async Task<IReadOnlyList<SinkDump>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        long lastTotal = -1;
        var stableSince = DateTime.UtcNow;
        await Wait.UntilAsync(() =>
        {
            var files = new DirectoryInfo(DumpDirectory).GetFiles("m.*");
            var total = files.Sum(f => f.Length);
            if (total != lastTotal)
            {
                lastTotal = total;
                stableSince = DateTime.UtcNow;
                return false;
            }
            return DateTime.UtcNow - stableSince > TimeSpan.FromMilliseconds(300) &&
                   DumpsOf(DumpDirectory).Count(d => d.Message.Length > 0) >= count;
        }, timeout, $"{count} message(s) at {Name}", DescribeLogs);
        return Dumps();
    }

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var parts = new List<string>();
        for (var i = 0; i < _lives.Count; i++)
        {
            var files = new DirectoryInfo(_lives[i].DumpDir).GetFiles();
            parts.Add($"-- life {i + 1}: dumps {_lives[i].DumpDir} ({files.Length} file(s): {string.Join(", ", files.Select(f => $"{f.Name}={f.Length}B"))})");
            parts.Add(_lives[i].Process.Output);
        }
        return string.Join('\n', parts);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var (_, process) in _lives)
        {
            await process.DisposeAsync();
        }
    }
}
