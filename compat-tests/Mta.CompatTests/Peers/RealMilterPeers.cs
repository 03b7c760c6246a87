// RealMilterPeers: owns the real, unmodified Debian milters the differential tests run behind Postfix and
// behind our MTA, each with a private configuration under the test's RunDirectory, listening only on
// 127.0.0.1:PORT, in the foreground as our child process:
//   - RspamdPeer: rspamd's rspamd_proxy worker in milter mode with self_scan (no normal worker, no
//     controller, no redis), milter_headers adding X-Spamd-Result, X-Rspamd-Server, X-Rspamd-Queue-Id,
//     Authentication-Results and X-Spam-Status. Started as "rspamd -i -f -c FILE --var ..." (-i: workers may
//     run as root; -f: no fork). To start in seconds it gets a four-entry url_tld list and no hyperscan; its DNS
//     goes to 127.0.0.1:1 (refused at once, so every lookup fails fast and the same for both MTAs).
//   - OpenDkimPeer: opendkim -f -x FILE in signing mode (Mode s) for client.test, selector "compat", with a key
//     made by opendkim-genkey at test time; InternalHosts 127.0.0.1 so loopback clients are signed.
//   - OpenDmarcPeer: opendmarc -f -c FILE with AuthservID mx.test and an empty IgnoreHosts (by default it
//     ignores 127.0.0.1), DNSTimeout 1.
// OpenDKIM and OpenDMARC use the system resolver (libc/libresolv); they run in a private mount namespace
// (unshare -m) where /etc/resolv.conf is bind-mounted to a file naming only 127.0.0.1, so no lookup leaves
// the machine and every lookup fails at once (the same for both MTAs).
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>A real milter daemon run as our child.</summary>
public sealed class RealMilterPeer : IPeer
{
    private readonly ChildProcess _process;
    private readonly string _root;
    private readonly string? _logFile;

    private RealMilterPeer(string name, int port, string root, ChildProcess process, string? logFile)
    {
        Name = $"{name} (127.0.0.1:{port})";
        Port = port;
        _root = root;
        _process = process;
        _logFile = logFile;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Listening port.</summary>
    public int Port { get; }

    /// <summary>smtpd_milters entry.</summary>
    public string Endpoint => $"inet:127.0.0.1:{Port}";

    /// <summary>The peer's private directory.</summary>
    public string Root => _root;

    /// <summary>For OpenDKIM: the public key as a DNS TXT record value ("v=DKIM1; k=rsa; p=...").</summary>
    public string? DkimTxtRecord { get; private init; }

    private static async Task<RealMilterPeer> StartAsync(string name, int port, string root, string file, IEnumerable<string> args, string? logFile,
        string? dkimTxt = null)
    {
        var process = ChildProcess.Start(name, file, args);
        var peer = new RealMilterPeer(name, port, root, process, logFile) { DkimTxtRecord = dkimTxt };
        await Wait.ForListenerAsync(port, TimeSpan.FromSeconds(60), peer.Name, () => process.HasExited, peer.DescribeLogs);
        return peer;
    }

    /// <summary>A resolv.conf with only 127.0.0.1 and the unshare wrapper that mounts it over /etc/resolv.conf.</summary>
    private static IEnumerable<string> NoDnsWrapper(string root, string program, IEnumerable<string> args)
    {
        var resolv = Path.Combine(root, "resolv.conf");
        File.WriteAllText(resolv, "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
        var quoted = string.Join(' ', new[] { program }.Concat(args).Select(a => "'" + a.Replace("'", "'\\''") + "'"));
        return ["--mount", "--propagation", "private", "/bin/sh", "-c", $"mount --bind '{resolv}' /etc/resolv.conf && exec {quoted}"];
    }

    /// <summary>rspamd's milter proxy with self_scan and milter_headers.</summary>
    public static Task<RealMilterPeer> StartRspamdAsync(RunDirectory dir, string name)
    {
        var root = dir.Sub(name);
        var port = PortAllocator.Next();
        foreach (var sub in new[] { "local.d", "db", "run", "log" }) dir.Sub(name, sub);
        File.WriteAllText(Path.Combine(root, "tld.dat"), "com\nnet\norg\ntest\n");
        File.WriteAllText(Path.Combine(root, "rspamd.conf"), $$"""
            .include "$CONFDIR/common.conf"
            options {
                pidfile = "$RUNDIR/rspamd.pid";
                filters = "chartable,dkim,regexp,fuzzy_check";
                allow_raw_input = true;
                local_addrs = [];
                cache_file = "$DBDIR/symbols.cache";
                control_socket = "$DBDIR/rspamd.sock mode=0600";
                history_file = "$DBDIR/rspamd.history";
                disable_hyperscan = true;
                url_tld = "{{root}}/tld.dat";
                dns {
                    nameserver = ["127.0.0.1:1"];
                    timeout = 0.2s;
                    retransmits = 1;
                }
            }
            logging {
                type = "file";
                filename = "$LOGDIR/rspamd.log";
                level = "info";
            }
            worker "rspamd_proxy" {
                bind_socket = "127.0.0.1:{{port}}";
                milter = yes;
                timeout = 60s;
                upstream "local" {
                    default = yes;
                    self_scan = yes;
                }
                count = 1;
                spam_header = "X-Spam";
                reject_message = "Spam message rejected";
            }
            """);
        File.WriteAllText(Path.Combine(root, "local.d", "milter_headers.conf"), """
            use = ["x-spamd-result", "x-rspamd-server", "x-rspamd-queue-id", "authentication-results", "x-spam-status"];
            skip_local = false;
            skip_authenticated = false;
            """);
        // The rbl module (SURBL, URIBL, DBL, MSBL ...) only makes DNS queries, which all fail here.
        File.WriteAllText(Path.Combine(root, "local.d", "rbl.conf"), "enabled = false;\n");
        string[] args =
        [
            "-i", "-f", "-c", Path.Combine(root, "rspamd.conf"), "--var", "CONFDIR=/etc/rspamd", "--var", $"LOCAL_CONFDIR={root}",
            "--var", $"DBDIR={root}/db", "--var", $"RUNDIR={root}/run", "--var", $"LOGDIR={root}/log",
        ];
        return StartAsync(name, port, root, "/usr/bin/rspamd", args, Path.Combine(root, "log", "rspamd.log"));
    }

    /// <summary>OpenDKIM signing client.test with selector "compat" and a fresh key.</summary>
    public static async Task<RealMilterPeer> StartOpenDkimAsync(RunDirectory dir, string name, string? keyDir = null)
    {
        var root = dir.Sub(name);
        var port = PortAllocator.Next();
        keyDir ??= root;
        var keyFile = Path.Combine(keyDir, "compat.private");
        if (!File.Exists(keyFile))
        {
            var gen = await CommandRunner.RunAsync("/usr/sbin/opendkim-genkey", ["-b", "2048", "-D", keyDir, "-d", "client.test", "-s", "compat"], TimeSpan.FromSeconds(60));
            if (gen.ExitCode != 0) throw new InvalidOperationException("opendkim-genkey failed:\n" + gen.Output);
        }
        var txt = File.ReadAllText(Path.Combine(keyDir, "compat.txt"));
        // compat._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; " "p=MIIB..." "..." ) ; ----- DKIM key ...
        var quoted = string.Concat(System.Text.RegularExpressions.Regex.Matches(txt[..txt.IndexOf(')')], "\"([^\"]*)\"").Select(m => m.Groups[1].Value));
        File.WriteAllText(Path.Combine(root, "opendkim.conf"), $"""
            Mode s
            Socket inet:{port}@127.0.0.1
            Domain client.test
            Selector compat
            KeyFile {keyFile}
            InternalHosts 127.0.0.1
            Canonicalization relaxed/simple
            PidFile {root}/opendkim.pid
            Syslog yes
            LogWhy yes
            RequireSafeKeys false
            """);
        return await StartAsync(name, port, root, "/usr/bin/unshare",
            NoDnsWrapper(root, "/usr/sbin/opendkim", ["-f", "-x", Path.Combine(root, "opendkim.conf")]), null, quoted);
    }

    /// <summary>OpenDMARC with a private configuration.</summary>
    public static Task<RealMilterPeer> StartOpenDmarcAsync(RunDirectory dir, string name)
    {
        var root = dir.Sub(name);
        var port = PortAllocator.Next();
        File.WriteAllText(Path.Combine(root, "ignore.hosts"), "");
        File.WriteAllText(Path.Combine(root, "opendmarc.conf"), $"""
            Socket inet:{port}@127.0.0.1
            AuthservID mx.test
            TrustedAuthservIDs mx.test
            IgnoreHosts {root}/ignore.hosts
            DNSTimeout 1
            PidFile {root}/opendmarc.pid
            RejectFailures false
            SPFIgnoreResults false
            SPFSelfValidate false
            Syslog false
            """);
        return StartAsync(name, port, root, "/usr/bin/unshare",
            NoDnsWrapper(root, "/usr/sbin/opendmarc", ["-f", "-c", Path.Combine(root, "opendmarc.conf")]), null);
    }

    /// <inheritdoc />
    public string DescribeLogs() => _process.Output + (_logFile is not null && File.Exists(_logFile) ? $"\n-- {_logFile}\n" + File.ReadAllText(_logFile) : "");

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _process.DisposeAsync();
}
