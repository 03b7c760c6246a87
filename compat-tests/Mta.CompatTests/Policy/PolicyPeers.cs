// Policy peers: postgrey (Debian's, unmodified) on a loopback port with a private database; an
// authoritative DNS (nsd) serving the SPF test zone inside a network namespace the test creates, so
// policyd-spf spawned with "ip netns exec NAME" resolves through /etc/netns/NAME/resolv.conf; and a
// spawn bridge that gives Postfix the same spawned policyd-spf on a UNIX socket.
//
// Learned on Debian 12: postgrey runs in the foreground unless -d, drops to --user/--group (the
// package's "postgrey" user owns the dbdir), reads /etc/postgrey/whitelist_* unless told otherwise,
// and prefixes DSN 4.2.0 only when the request carries an etrn_domain attribute. policyd-spf skips
// 127.0.0.0/8 by default (skip_addresses), so the tests give it their own config file. Postfix's
// spawn(8) refuses to run a command as root ("request to deliver as root"), and "ip netns exec"
// needs root (setns fails with EPERM for nobody even with file capabilities here), so for Postfix
// the bridge does what spawn(8) does: one process per connection with stdin/stdout on the socket.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Policy;

/// <summary>A running postgrey on 127.0.0.1:Port.</summary>
public sealed class PostgreyPeer : IPeer
{
    private readonly ChildProcess _process;

    private PostgreyPeer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>check_policy_service argument.</summary>
    public string Service => $"inet:127.0.0.1:{Port}";

    /// <summary>The --hostname given to postgrey (shown in X-Greylist).</summary>
    public const string HostName = "policy.test";

    /// <inheritdoc />
    public string Name => $"postgrey 127.0.0.1:{Port}";

    /// <summary>Starts postgrey --delay=<paramref name="delaySeconds"/> with an empty whitelist and a private dbdir.</summary>
    public static async Task<PostgreyPeer> StartAsync(RunDirectory dir, string name, int delaySeconds = 2)
    {
        int port = PortAllocator.Next();
        var db = dir.Sub(name, "db");
        Unix.Chown(db, "postgrey:postgrey");
        var empty = Path.Combine(dir.Sub(name), "whitelist-empty");
        await File.WriteAllTextAsync(empty, "");
        var process = ChildProcess.Start(name, "/usr/sbin/postgrey",
        [
            $"--inet=127.0.0.1:{port}", $"--delay={delaySeconds}", $"--dbdir={db}", "--user=postgrey", "--group=postgrey",
            $"--hostname={HostName}", $"--whitelist-clients={empty}", $"--whitelist-recipients={empty}", "--auto-whitelist-clients=0",
        ]);
        var peer = new PostgreyPeer(process, port);
        await Wait.UntilAsync(() => !process.HasExited && CanConnect(port), TimeSpan.FromSeconds(20), "postgrey to listen", peer.DescribeLogs);
        return peer;
    }

    internal static bool CanConnect(int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public string DescribeLogs() => _process.Output;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _process.StopAsync(TimeSpan.FromSeconds(5));
}

/// <summary>
/// A network namespace with nsd on its 127.0.0.1:53 serving spf.test, and /etc/netns/NAME/resolv.conf
/// pointing there. Test domains: pass.spf.test (v=spf1 ip4:127.0.0.1 -all), fail.spf.test (v=spf1 -all);
/// client.spf.test has no record (SPF none for the HELO identity).
/// </summary>
public sealed class SpfDnsPeer : IPeer
{
    private readonly string _root;
    private ChildProcess? _nsd;
    private readonly List<string> _log = [];

    private SpfDnsPeer(string ns, string root)
    {
        Namespace = ns;
        _root = root;
    }

    /// <summary>The network namespace name.</summary>
    public string Namespace { get; }

    /// <summary>The policyd-spf configuration file (skip_addresses not covering loopback, Postfix-like defaults otherwise).</summary>
    public string PolicydSpfConfig => Path.Combine(_root, "policyd-spf.conf");

    /// <summary>The spawn argv that runs policyd-spf inside the namespace.</summary>
    public string[] PolicydSpfArgv => ["/usr/sbin/ip", "netns", "exec", Namespace, "/usr/bin/policyd-spf", PolicydSpfConfig];

    /// <inheritdoc />
    public string Name => $"nsd in netns {Namespace}";

    /// <summary>Creates the namespace, writes zone and configs, starts nsd and waits until it answers.</summary>
    public static async Task<SpfDnsPeer> StartAsync(RunDirectory dir, string name)
    {
        var root = dir.Sub(name);
        var ns = $"mtapol{Environment.ProcessId % 10000}x{Random.Shared.Next(100000)}";
        var peer = new SpfDnsPeer(ns, root);
        await peer.RunAsync("/usr/sbin/ip", "netns", "add", ns);
        await peer.RunAsync("/usr/sbin/ip", "-n", ns, "link", "set", "lo", "up");
        Directory.CreateDirectory($"/etc/netns/{ns}");
        await File.WriteAllTextAsync($"/etc/netns/{ns}/resolv.conf", "nameserver 127.0.0.1\n");
        await File.WriteAllTextAsync(Path.Combine(root, "spf.test.zone"), """
            $ORIGIN spf.test.
            $TTL 60
            @ IN SOA ns.spf.test. hostmaster.spf.test. 1 3600 600 86400 60
            @ IN NS ns.spf.test.
            ns IN A 127.0.0.1
            pass IN TXT "v=spf1 ip4:127.0.0.1 -all"
            fail IN TXT "v=spf1 -all"

            """);
        await File.WriteAllTextAsync(Path.Combine(root, "nsd.conf"), $"""
            server:
              ip-address: 127.0.0.1
              port: 53
              username: ""
              chroot: ""
              zonesdir: "{root}"
              pidfile: "{root}/nsd.pid"
              database: ""
              xfrdfile: "{root}/xfrd.state"
              zonelistfile: "{root}/zone.list"
              logfile: "{root}/nsd.log"
              verbosity: 1
            remote-control:
              control-enable: no
            zone:
              name: "spf.test"
              zonefile: "spf.test.zone"

            """);
        await File.WriteAllTextAsync(peer.PolicydSpfConfig, """
            debugLevel = 1
            TestOnly = 1
            HELO_reject = Fail
            Mail_From_reject = Fail
            PermError_reject = False
            TempError_Defer = False
            skip_addresses = 192.0.2.255/32

            """);
        File.SetUnixFileMode(peer.PolicydSpfConfig, Unix.Mode755);
        peer._nsd = ChildProcess.Start("nsd", "/usr/sbin/ip", ["netns", "exec", ns, "/usr/sbin/nsd", "-d", "-c", Path.Combine(root, "nsd.conf")]);
        await Wait.UntilAsync(() => File.Exists(Path.Combine(root, "nsd.log")) && File.ReadAllText(Path.Combine(root, "nsd.log")).Contains("nsd started"),
            TimeSpan.FromSeconds(20), "nsd to start", peer.DescribeLogs);
        return peer;
    }

    private async Task RunAsync(string file, params string[] args)
    {
        var r = await CommandRunner.RunAsync(file, args, TimeSpan.FromSeconds(20));
        _log.Add($"$ {file} {string.Join(' ', args)} -> {r.ExitCode}\n{r.Output}");
        if (r.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {r.Output}");
    }

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var log = Path.Combine(_root, "nsd.log");
        return string.Join('\n', _log) + "\n-- nsd output:\n" + _nsd?.Output + "\n-- nsd.log:\n" + (File.Exists(log) ? File.ReadAllText(log) : "");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_nsd != null) await _nsd.StopAsync(TimeSpan.FromSeconds(5));
        await CommandRunner.RunAsync("/usr/sbin/ip", ["netns", "del", Namespace], TimeSpan.FromSeconds(10));
        try { Directory.Delete($"/etc/netns/{Namespace}", true); } catch (IOException) { }
    }
}

/// <summary>
/// What Postfix's spawn(8) does, for a command that must run as root: a UNIX socket (mode 0666) where each
/// connection gets a new process with stdin and stdout connected to it.
/// </summary>
public sealed class SpawnBridge : IPeer
{
    private readonly Socket _listener;
    private readonly string[] _argv;
    private readonly CancellationTokenSource _stop = new();
    private readonly StringBuilder _log = new();
    private readonly Task _loop;

    private SpawnBridge(string path, string[] argv)
    {
        SocketPath = path;
        _argv = argv;
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(16);
        File.SetUnixFileMode(path, (UnixFileMode)0x1B6); // 0666: smtpd runs as postfix
        _loop = AcceptLoop();
    }

    /// <summary>The socket path (for check_policy_service unix:PATH).</summary>
    public string SocketPath { get; }

    /// <summary>Starts a bridge for <paramref name="argv"/>.</summary>
    public static SpawnBridge Start(RunDirectory dir, string name, string[] argv) => new(Path.Combine(dir.Sub(name), "spawn.sock"), argv);

    /// <inheritdoc />
    public string Name => $"spawn bridge {SocketPath} -> {string.Join(' ', _argv)}";

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket s;
            try { s = await _listener.AcceptAsync(_stop.Token); }
            catch (Exception) { return; }
            _ = ServeAsync(s);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var psi = new ProcessStartInfo(_argv[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in _argv.Skip(1)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        lock (_log) _log.AppendLine($"spawned pid {p.Id}");
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginErrorReadLine();
        var toChild = Task.Run(async () =>
        {
            try { await stream.CopyToAsync(p.StandardInput.BaseStream, _stop.Token); } catch (Exception) { }
            try { p.StandardInput.Close(); } catch (Exception) { }
        });
        try { await p.StandardOutput.BaseStream.CopyToAsync(stream, _stop.Token); } catch (Exception) { }
        if (!p.HasExited) { try { p.Kill(); } catch (Exception) { } }
        await toChild;
    }

    /// <inheritdoc />
    public string DescribeLogs() { lock (_log) return _log.ToString(); }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        try { await _loop; } catch (Exception) { }
    }
}
