// MtaProcess: owns our MTA under test, run exactly as an operator would: "dotnet mta.dll serve -c FILE
// -o name=value ..." with mta.dll from this project's output directory (the project references
// src/Mta). MtaConfig writes the main.cf-syntax configuration file into the RunDirectory using only
// the parameters of the compat contract (smtpd_listen, data_directory, mydestination, mynetworks,
// relay_domains, transport_maps, relayhost, prequeue_delivery_deadline, minimal/maximal_backoff_time,
// queue_run_delay, smtpd_tls_security_level). MtaConfig.Bare has only smtpd_listen and data_directory;
// Listen moves the listener to another loopback address (127.0.0.2); WithoutConfigFile passes every
// parameter with -o and no -c, so the MTA's embedded profile applies. StartAsync waits for the 220
// greeting; StopAsync sends SIGTERM and waits; SendSigTerm/WaitForExitAsync split the two for tests of
// the shutdown itself; KillAsync is kill -9 (crash); a restart reuses the same config and
// data_directory. QueueEnvelopes parses the JSON envelope records. The output of every life is kept
// and printed when a test fails.
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>The MTA's configuration for one test: ordered main.cf parameters plus -o overrides.</summary>
public sealed class MtaConfig
{
    private readonly List<KeyValuePair<string, string>> _parameters = [];

    /// <summary>The listening port (smtpd_listen = Host:Port).</summary>
    public int Port { get; private set; }

    /// <summary>The listening loopback address (smtpd_listen = Host:Port); 127.0.0.1 unless <see cref="Listen"/> changed it.</summary>
    public string Host { get; private set; } = "127.0.0.1";

    /// <summary>data_directory (queue under queue/, local Maildirs under mail/&lt;address&gt;/).</summary>
    public string DataDirectory { get; private set; } = "";

    /// <summary>Greeting codes that mean "started" (a milter failing at CONNECT may make every greeting 421 or 554).</summary>
    public IReadOnlyList<string> ReadyGreetingCodes { get; set; } = ["220"];

    /// <summary>Parameters passed with -o name=value after the file.</summary>
    public List<KeyValuePair<string, string>> Overrides { get; } = [];

    /// <summary>
    /// When true, "mta serve" gets no -c FILE at all (so the MTA applies its embedded profile) and every
    /// parameter is passed with -o name=value instead.
    /// </summary>
    public bool WithoutConfigFile { get; set; }

    /// <summary>The parameters of the file, in order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Parameters => _parameters;

    /// <summary>The contract defaults: loopback listener, private data_directory, fast retries.</summary>
    public static MtaConfig Defaults(RunDirectory dir)
    {
        var config = new MtaConfig { Port = PortAllocator.Next(), DataDirectory = dir.Sub("mta-data") };
        config.Set("smtpd_listen", $"127.0.0.1:{config.Port}");
        config.Set("data_directory", config.DataDirectory);
        config.Set("mydestination", "local.test");
        config.Set("mynetworks", "127.0.0.0/8");
        config.Set("prequeue_delivery_deadline", "60s");
        config.Set("minimal_backoff_time", "1s");
        config.Set("maximal_backoff_time", "2s");
        config.Set("queue_run_delay", "1s");
        config.Set("smtpd_tls_security_level", "may");
        return config;
    }

    /// <summary>
    /// Only smtpd_listen (127.0.0.1, fresh port) and data_directory: everything else is the MTA's own
    /// default (or its embedded profile), as an operator's first start would see it.
    /// </summary>
    public static MtaConfig Bare(RunDirectory dir)
    {
        var config = new MtaConfig { Port = PortAllocator.Next(), DataDirectory = dir.Sub("mta-data") };
        config.Set("smtpd_listen", $"127.0.0.1:{config.Port}");
        config.Set("data_directory", config.DataDirectory);
        return config;
    }

    /// <summary>Listens on another loopback address (Linux answers on all of 127/8): smtpd_listen = host:Port.</summary>
    public MtaConfig Listen(string host)
    {
        Host = host;
        return Set("smtpd_listen", $"{host}:{Port}");
    }

    /// <summary>Removes a parameter from the file (the MTA's default applies).</summary>
    public MtaConfig Unset(string name)
    {
        _parameters.RemoveAll(p => p.Key == name);
        return this;
    }

    /// <summary>Sets (or replaces) a parameter in the file.</summary>
    public MtaConfig Set(string name, string value)
    {
        _parameters.RemoveAll(p => p.Key == name);
        _parameters.Add(new(name, value));
        return this;
    }

    /// <summary>transport_maps = inline:{ domain=nexthop, ... } and relay_domains = those domains.</summary>
    public MtaConfig Transports(params (string Domain, string NextHop)[] routes)
    {
        Set("transport_maps", $"inline:{{ {string.Join(", ", routes.Select(r => $"{r.Domain}={r.NextHop}"))} }}");
        Set("relay_domains", string.Join(", ", routes.Select(r => r.Domain)));
        return this;
    }

    /// <summary>The main.cf text.</summary>
    public string Render() =>
        "# compat-tests: configuration of the MTA under test\n" +
        string.Concat(_parameters.Select(p => $"{p.Key} = {p.Value}\n"));
}

/// <summary>Our MTA as a child process.</summary>
public sealed class MtaProcess : IPeer
{
    private readonly string _name;
    private readonly string _configFile;
    private readonly List<ChildProcess> _lives = [];

    /// <summary>Prepares (does not start) the MTA with <paramref name="config"/>.</summary>
    public MtaProcess(RunDirectory dir, string name, MtaConfig config)
    {
        _name = name;
        Config = config;
        _configFile = Path.Combine(dir.Sub(name), "main.cf");
    }

    /// <summary>The configuration in use.</summary>
    public MtaConfig Config { get; }

    /// <summary>ESMTP port on <see cref="Host"/>.</summary>
    public int Port => Config.Port;

    /// <summary>The loopback address the MTA listens on.</summary>
    public string Host => Config.Host;

    /// <summary>Process id of the current life.</summary>
    public int Pid => _lives[^1].Pid;

    /// <summary>True once the current life has exited.</summary>
    public bool HasExited => _lives[^1].HasExited;

    /// <summary>The queue directory (data_directory/queue).</summary>
    public string QueueDirectory => Path.Combine(Config.DataDirectory, "queue");

    /// <summary>The local Maildir of <paramref name="address"/> (data_directory/mail/&lt;address&gt;).</summary>
    public string MaildirOf(string address) => Path.Combine(Config.DataDirectory, "mail", address);

    /// <inheritdoc />
    public string Name => $"{_name} (mta {Host}:{Port}, {Config.DataDirectory})";

    /// <summary>Regular files anywhere under the queue directory (empty when it does not exist).</summary>
    public IReadOnlyList<string> QueuedFiles() =>
        Directory.Exists(QueueDirectory)
            ? Directory.GetFiles(QueueDirectory, "*", SearchOption.AllDirectories)
            : [];

    /// <summary>The envelope records under data_directory/queue/envelope (JSON), parsed.</summary>
    public IReadOnlyList<QueueEnvelope> QueueEnvelopes() => QueueEnvelope.ReadAll(QueueDirectory);

    /// <summary>Writes the config file, starts "dotnet mta.dll serve -c FILE -o ..." and waits for its 220 greeting.</summary>
    public async Task StartAsync()
    {
        await File.WriteAllTextAsync(_configFile, Config.Render());
        var mtaDll = Path.Combine(AppContext.BaseDirectory, "mta.dll");
        if (!File.Exists(mtaDll))
        {
            throw new FileNotFoundException("mta.dll is not in the test output directory (src/Mta must be referenced)", mtaDll);
        }
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        List<string> args = Config.WithoutConfigFile ? [mtaDll, "serve"] : [mtaDll, "serve", "-c", _configFile];
        foreach (var (k, v) in Config.WithoutConfigFile ? [.. Config.Parameters, .. Config.Overrides] : Config.Overrides)
        {
            args.Add("-o");
            args.Add($"{k}={v}");
        }
        var process = ChildProcess.Start(_name, dotnet, args);
        _lives.Add(process);
        await Wait.ForGreetingAsync(Port, TimeSpan.FromSeconds(30), Name, () => process.HasExited, DescribeLogs, Host, Config.ReadyGreetingCodes);
    }

    /// <summary>Runs "dotnet mta.dll queue ARGS -c FILE" (list, show ID, release ID ...) beside the running MTA.</summary>
    public async Task<CommandResult> QueueCommandAsync(params string[] args)
    {
        var mtaDll = Path.Combine(AppContext.BaseDirectory, "mta.dll");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        return await CommandRunner.RunAsync(dotnet, [mtaDll, "queue", .. args, "-c", _configFile], TimeSpan.FromSeconds(60));
    }

    /// <summary>kill -9 of the MTA (no chance to clean up), then waits until it is gone.</summary>
    public Task KillAsync() => _lives[^1].KillHardAsync();

    /// <summary>SIGTERM and wait up to 15 s; returns the exit code.</summary>
    public Task<int> StopAsync() => _lives[^1].StopAsync(TimeSpan.FromSeconds(15));

    /// <summary>Sends SIGTERM to the current life and returns at once (see <see cref="WaitForExitAsync"/>).</summary>
    public void SendSigTerm()
    {
        _lives[^1].Note("SIGTERM sent by the test");
        Unix.Signal(Pid, Unix.SigTerm);
    }

    /// <summary>Waits up to <paramref name="timeout"/> for the current life to exit; its exit code, or null when still running.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout) =>
        await _lives[^1].WaitForExitAsync(timeout) ? _lives[^1].ExitCode : null;

    /// <summary>Everything the current life wrote to stdout/stderr so far.</summary>
    public string Output => _lives[^1].Output;

    /// <summary>Starts a new MTA process on the same configuration and data_directory.</summary>
    public Task RestartAsync() => StartAsync();

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var parts = new List<string>
        {
            Config.WithoutConfigFile
                ? $"-- no config file; parameters given with -o (unused copy in {_configFile}):\n{Config.Render()}"
                : $"-- config {_configFile}:\n{(File.Exists(_configFile) ? File.ReadAllText(_configFile) : "(not written)")}",
        };
        for (var i = 0; i < _lives.Count; i++)
        {
            parts.Add($"-- life {i + 1}:\n{_lives[i].Output}");
        }
        parts.Add($"-- queue files: {string.Join(", ", QueuedFiles())}");
        return string.Join('\n', parts);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var life in _lives)
        {
            await life.StopAsync(TimeSpan.FromSeconds(10));
        }
    }
}
