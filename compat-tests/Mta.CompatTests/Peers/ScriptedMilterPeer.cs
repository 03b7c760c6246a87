// ScriptedMilterPeer: owns one compat-tests/milters/scripted_milter.py process (python3-milter, i.e. the
// real libmilter) listening on inet:PORT@127.0.0.1, its JSON-lines log of everything the MTA sent it, and
// its control directory (connect-action: what to answer at CONNECT). The milter performs the actions the
// message asks for (X-Test-Action headers, envelope cues; see the script's header) so the same test can be
// run through Postfix and through our MTA, and the two logs compared.
using System.Text.Json;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>One logged milter event (a JSON object of the script's log).</summary>
/// <param name="Conn">libmilter connection number (one per MTA-to-milter connection).</param>
/// <param name="Event">negotiate, connect, helo, mail, rcpt, data, header, eoh, eom, eom-done, abort, close.</param>
/// <param name="Json">The whole record.</param>
public sealed record MilterEvent(int Conn, string Event, JsonElement Json)
{
    /// <summary>A string property, or null.</summary>
    public string? Str(string name) => Json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>The macros the milter could read at this event (name to value).</summary>
    public IReadOnlyDictionary<string, string> Macros =>
        Json.TryGetProperty("macros", out var m)
            ? m.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "")
            : new Dictionary<string, string>();
}

/// <summary>The scripted libmilter test milter.</summary>
public sealed class ScriptedMilterPeer : IPeer
{
    private readonly ChildProcess _process;
    private readonly string _controlDir;

    private ScriptedMilterPeer(string name, int port, string logFile, string controlDir, ChildProcess process)
    {
        Name = $"{name} (scripted_milter.py inet:{port}@127.0.0.1)";
        Port = port;
        LogFile = logFile;
        _controlDir = controlDir;
        _process = process;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Listening port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The smtpd_milters entry: inet:127.0.0.1:PORT.</summary>
    public string Endpoint => $"inet:127.0.0.1:{Port}";

    /// <summary>The JSON-lines event log.</summary>
    public string LogFile { get; }

    /// <summary>Starts the script with /usr/bin/python3 (Debian's, which has python3-milter) and waits until it listens.</summary>
    public static async Task<ScriptedMilterPeer> StartAsync(RunDirectory dir, string name)
    {
        var root = dir.Sub(name);
        var port = PortAllocator.Next();
        var log = Path.Combine(root, "events.jsonl");
        File.WriteAllText(log, "");
        var script = Path.Combine(AppContext.BaseDirectory, "milters", "scripted_milter.py");
        var process = ChildProcess.Start(name, "/usr/bin/python3", [script, port.ToString(System.Globalization.CultureInfo.InvariantCulture), log, root]);
        var peer = new ScriptedMilterPeer(name, port, log, root, process);
        await Wait.ForListenerAsync(port, TimeSpan.FromSeconds(15), peer.Name, () => process.HasExited, peer.DescribeLogs);
        return peer;
    }

    /// <summary>What the milter answers at CONNECT from now on (reject, tempfail, replycode, shutdown, accept), or null for continue.</summary>
    public void SetConnectAction(string? action)
    {
        var file = Path.Combine(_controlDir, "connect-action");
        if (action is null) File.Delete(file); else File.WriteAllText(file, action);
    }

    /// <summary>Every event logged so far, in log order.</summary>
    public IReadOnlyList<MilterEvent> Events()
    {
        var list = new List<MilterEvent>();
        foreach (var line in File.ReadAllLines(LogFile))
        {
            if (line.Length == 0) continue;
            var doc = JsonDocument.Parse(line).RootElement.Clone();
            list.Add(new MilterEvent(doc.GetProperty("conn").GetInt32(), doc.GetProperty("ev").GetString()!, doc));
        }
        return list;
    }

    /// <summary>Waits until an event satisfying <paramref name="match"/> was logged (the MTA may finish the milter conversation after its reply).</summary>
    public Task WaitForEventAsync(Func<MilterEvent, bool> match, TimeSpan timeout, string what) =>
        Wait.UntilAsync(() => Events().Any(match), timeout, what, DescribeLogs);

    /// <inheritdoc />
    public string DescribeLogs() => _process.Output + "\n-- " + LogFile + "\n" + (File.Exists(LogFile) ? File.ReadAllText(LogFile) : "");

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _process.DisposeAsync();
}
