// Scenario: owns one compat test's world. It creates the private RunDirectory, starts peers through
// factory methods and keeps them in a list, enforces an overall deadline on the test body, and on
// any failure prints every peer's logs (and the run directory path, which it keeps) into the xunit
// output. Whatever happens, every peer is disposed (processes stopped) in reverse start order.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Infrastructure;

/// <summary>One test's peers, directory and output.</summary>
public sealed class Scenario : IAsyncDisposable
{
    private readonly List<IPeer> _peers = [];
    private readonly List<string> _notes = [];

    private Scenario(ITestOutputHelper output)
    {
        Output = output;
        Dir = new RunDirectory();
    }

    /// <summary>xunit output of the running test.</summary>
    public ITestOutputHelper Output { get; }

    /// <summary>The test's private temporary directory.</summary>
    public RunDirectory Dir { get; }

    /// <summary>
    /// Runs <paramref name="body"/> with a fresh Scenario and a deadline (default 120 s). On failure the
    /// logs of every peer are written to the test output; all peers are stopped in every case.
    /// </summary>
    public static async Task RunAsync(ITestOutputHelper output, Func<Scenario, Task> body, int timeoutSeconds = 120)
    {
        var scenario = new Scenario(output);
        try
        {
            await body(scenario).WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        }
        catch (Exception)
        {
            scenario.Dir.Keep = true;
            scenario.DumpLogs();
            throw;
        }
        finally
        {
            await scenario.DisposeAsync();
        }
    }

    /// <summary>Writes a line to the test output and remembers it for the failure report.</summary>
    public void Note(string line)
    {
        _notes.Add(line);
        Output.WriteLine(line);
    }

    /// <summary>Registers a started peer so it is stopped and its logs are shown on failure.</summary>
    public T Own<T>(T peer) where T : IPeer
    {
        _peers.Add(peer);
        return peer;
    }

    /// <summary>Starts smtp-sink on a fresh port (or <paramref name="port"/>) with the given behaviour.</summary>
    public async Task<SmtpSinkPeer> StartSinkAsync(SinkBehavior? behavior = null, string name = "sink")
        => Own(await SmtpSinkPeer.StartAsync(Dir, name, behavior ?? SinkBehavior.Accept));

    /// <summary>Starts a private Postfix instance.</summary>
    public async Task<PostfixPeer> StartPostfixAsync(PostfixOptions options, string name = "postfix")
        => Own(await PostfixPeer.StartAsync(Dir, name, options));

    /// <summary>Starts a private Dovecot with only LMTP, knowing <paramref name="users"/>.</summary>
    public async Task<DovecotLmtpPeer> StartDovecotAsync(IReadOnlyList<string> users, string name = "dovecot")
        => Own(await DovecotLmtpPeer.StartAsync(Dir, name, users));

    /// <summary>Starts a private Dovecot with only LMTP, knowing <paramref name="users"/>, plus extra configuration lines.</summary>
    public async Task<DovecotLmtpPeer> StartDovecotAsync(IReadOnlyList<DovecotUser> users, IReadOnlyList<string> extraConfig, string name = "dovecot")
        => Own(await DovecotLmtpPeer.StartAsync(Dir, name, users, extraConfig));

    /// <summary>Starts our MTA with a config built by <paramref name="configure"/>.</summary>
    public async Task<MtaProcess> StartMtaAsync(Action<MtaConfig> configure, string name = "mta")
    {
        var config = MtaConfig.Defaults(Dir);
        configure(config);
        var mta = Own(new MtaProcess(Dir, name, config));
        await mta.StartAsync();
        return mta;
    }

    /// <summary>Starts our MTA with exactly <paramref name="config"/> (e.g. <see cref="MtaConfig.Bare"/>).</summary>
    public async Task<MtaProcess> StartMtaAsync(MtaConfig config, string name = "mta")
    {
        var mta = Own(new MtaProcess(Dir, name, config));
        await mta.StartAsync();
        return mta;
    }

    /// <summary>Runs swaks and writes its transcript to the test output.</summary>
    public async Task<SwaksResult> SwaksAsync(SwaksRequest request)
    {
        var result = await SwaksClient.RunAsync(request);
        Note($"--- swaks {string.Join(' ', result.Arguments)} (exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F2}s)");
        Note(result.Transcript);
        return result;
    }

    /// <summary>
    /// Opens a raw SMTP connection to <paramref name="host"/>:<paramref name="port"/> (from
    /// <paramref name="localAddress"/> when given) whose transcript goes to the test output. The caller disposes it.
    /// </summary>
    public Task<RawSmtpClient> ConnectAsync(string host, int port, string? localAddress = null) =>
        RawSmtpClient.ConnectAsync(host, port, Note, localAddress);

    /// <summary>Runs smtp-source and writes its output to the test output.</summary>
    public async Task<CommandResult> SmtpSourceAsync(SmtpSourceRequest request)
    {
        var result = await SmtpSourceClient.RunAsync(request);
        Note($"--- smtp-source {string.Join(' ', request.Arguments())} (exit {result.ExitCode}, {result.Elapsed.TotalSeconds:F2}s)");
        Note(result.Output);
        return result;
    }

    private void DumpLogs()
    {
        try
        {
            Output.WriteLine($"===== test failed; run directory kept: {Dir.Path}");
            foreach (var peer in _peers)
            {
                Output.WriteLine($"===== logs of {peer.Name}");
                Output.WriteLine(peer.DescribeLogs());
            }
        }
        catch (InvalidOperationException)
        {
            // The output helper refuses writes once the test is over; nothing more to do.
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        for (var i = _peers.Count - 1; i >= 0; i--)
        {
            try
            {
                await _peers[i].DisposeAsync();
            }
            catch (Exception e)
            {
                Dir.Keep = true;
                Output.WriteLine($"cleanup of {_peers[i].Name} failed: {e}");
            }
        }
        _peers.Clear();
        Dir.Dispose();
    }
}
