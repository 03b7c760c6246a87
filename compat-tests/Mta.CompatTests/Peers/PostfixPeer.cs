// PostfixPeer: owns one private Postfix instance (the Debian package's binaries, unmodified) used as
// a downstream MX or relay: its own config_directory, queue_directory and data_directory under the
// test's RunDirectory, smtpd only on 127.0.0.1:PORT, logging to a file (postlogd, maillog_file), and
// delivery into Maildirs through virtual(8) so tests can read what arrived. It never reads or
// changes /etc/postfix except meta_directory (the read-only postfix-files list of the package).
//
// What running Postfix privately as root needs (learned on Debian 12, Postfix 3.7):
// - "postfix -c DIR start" works for root without alternate_config_directories in /etc/postfix
//   (that list only gates the set-gid commands postdrop/postqueue).
// - queue_directory must be root-owned; Postfix creates its subdirectories itself on start.
//   data_directory must be owned by mail_owner (postfix). Every directory above them must be
//   traversable by user postfix (RunDirectory is 0755).
// - master.cf: every service with chroot = n (no copy of /etc files into a chroot), the smtpd line
//   bound to "127.0.0.1:PORT", and "postlog unix-dgram" so maillog_file works; maillog_file must
//   sit under a prefix listed in maillog_file_prefixes.
// - meta_directory = /etc/postfix (postfix-files), inet_protocols = ipv4, smtpd_peername_lookup = no
//   and smtp_dns_support_level = disabled keep it away from DNS; alias_maps empty (no aliases.db).
// - The master pid is queue_directory/pid/master.pid; "postfix -c DIR stop" ends it, "abort" if not.
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>Configuration of a private Postfix.</summary>
public sealed record PostfixOptions
{
    /// <summary>myhostname (also the smtpd banner host).</summary>
    public string MyHostname { get; init; } = "mx.test";

    /// <summary>Addresses delivered into Maildirs by virtual(8); their domains become virtual_mailbox_domains.</summary>
    public IReadOnlyList<string> MailboxUsers { get; init; } = [];

    /// <summary>transport_maps entries: domain to nexthop, e.g. "relay.test" = "smtp:[127.0.0.1]:4000"; the domains become relay_domains.</summary>
    public IReadOnlyDictionary<string, string> Transports { get; init; } = new Dictionary<string, string>();

    /// <summary>Offer STARTTLS with a self-signed certificate made by openssl (smtpd_tls_security_level = may).</summary>
    public bool StartTls { get; init; }

    /// <summary>
    /// The loopback address smtpd listens on (the master.cf service). inet_interfaces stays 127.0.0.1:
    /// "postfix check" exits 1, silently (its fatal goes to the not yet running postlogd), when
    /// inet_interfaces names an address no interface carries, such as 127.0.0.2 (lo has 127.0.0.1/8).
    /// </summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>mynetworks.</summary>
    public string MyNetworks { get; init; } = "127.0.0.0/8";

    /// <summary>relay_domains; null for the domains of <see cref="Transports"/>.</summary>
    public IReadOnlyList<string>? RelayDomains { get; init; }

    /// <summary>Greeting codes that mean "started" (a milter failing at CONNECT may make every greeting 554 or 421).</summary>
    public IReadOnlyList<string> ReadyGreetingCodes { get; init; } = ["220"];

    /// <summary>Extra main.cf lines (Postfix uses the last setting of a parameter, so these may override the ones above).</summary>
    public IReadOnlyList<string> ExtraMainCf { get; init; } = [];

    /// <summary>"-o name=value" lines for the main smtpd service (e.g. smtpd_proxy_filter).</summary>
    public IReadOnlyList<string> SmtpdServiceOptions { get; init; } = [];

    /// <summary>Extra master.cf lines appended after the standard services (e.g. a re-injection smtpd).</summary>
    public IReadOnlyList<string> ExtraMasterCf { get; init; } = [];
}

/// <summary>A running private Postfix.</summary>
public sealed class PostfixPeer : IPeer
{
    private readonly string _name;
    private readonly string _root;
    private readonly List<string> _commandLog = [];
    private int _masterPid;

    private PostfixPeer(string name, string root, int port, string host)
    {
        _name = name;
        _root = root;
        Port = port;
        Host = host;
    }

    /// <summary>smtpd port on <see cref="Host"/>.</summary>
    public int Port { get; }

    /// <summary>The loopback address smtpd listens on.</summary>
    public string Host { get; }

    /// <summary>Nexthop for transport_maps: "[HOST]:PORT".</summary>
    public string NextHop => $"[{Host}]:{Port}";

    /// <inheritdoc />
    public string Name => $"{_name} (postfix {Host}:{Port}, {_root})";

    private string ConfigDir => Path.Combine(_root, "conf");
    private string LogFile => Path.Combine(_root, "postfix.log");

    /// <summary>Files in one of Postfix's queues ("hold", "incoming", "active", "deferred"); empty when the queue does not exist.</summary>
    public IReadOnlyList<string> QueueFiles(string queue)
    {
        var path = Path.Combine(_root, "queue", queue);
        return Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories) : [];
    }

    /// <summary>The maillog_file so far.</summary>
    public string MailLog => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    /// <summary>Maildir of a virtual mailbox user.</summary>
    public string MaildirOf(string address) => Path.Combine(_root, "mail", address);

    /// <summary>Writes the private configuration, checks it and starts the instance.</summary>
    public static async Task<PostfixPeer> StartAsync(RunDirectory dir, string name, PostfixOptions options)
    {
        var root = dir.Sub(name);
        var peer = new PostfixPeer(name, root, PortAllocator.Next(), options.ListenAddress);
        var conf = dir.Sub(name, "conf");
        dir.Sub(name, "queue");
        var data = dir.Sub(name, "data");
        var mail = dir.Sub(name, "mail");
        Unix.Chown(data, "postfix");
        Unix.Chown(mail, "nobody:nogroup");
        var domains = options.MailboxUsers.Select(u => u[(u.IndexOf('@') + 1)..]).Distinct().ToArray();
        string[] main =
        [
            "compatibility_level = 3.6",
            $"config_directory = {conf}",
            $"queue_directory = {Path.Combine(root, "queue")}",
            $"data_directory = {data}",
            "meta_directory = /etc/postfix",
            "mail_owner = postfix",
            "setgid_group = postdrop",
            $"myhostname = {options.MyHostname}",
            $"mydomain = {options.MyHostname}",
            "mydestination =",
            "inet_interfaces = 127.0.0.1", // postfix check refuses an address no interface has (127.0.0.2); master.cf binds ListenAddress
            "inet_protocols = ipv4",
            $"mynetworks = {options.MyNetworks}",
            "smtpd_peername_lookup = no",
            "smtp_dns_support_level = disabled",
            "alias_maps =",
            "alias_database =",
            "biff = no",
            $"relay_domains = {string.Join(", ", options.RelayDomains ?? [.. options.Transports.Keys])}",
            options.Transports.Count == 0 ? "transport_maps =" :
                $"transport_maps = inline:{{ {string.Join(", ", options.Transports.Select(t => $"{t.Key}={t.Value}"))} }}",
            $"virtual_mailbox_domains = {string.Join(", ", domains)}",
            $"virtual_mailbox_base = {mail}",
            options.MailboxUsers.Count == 0 ? "virtual_mailbox_maps =" :
                $"virtual_mailbox_maps = inline:{{ {string.Join(", ", options.MailboxUsers.Select(u => $"{u}={u}/"))} }}",
            "virtual_uid_maps = static:65534",
            "virtual_gid_maps = static:65534",
            $"maillog_file = {peer.LogFile}",
            $"maillog_file_prefixes = {root}",
            "minimal_backoff_time = 1s",
            "maximal_backoff_time = 2s",
            "queue_run_delay = 1s",
            .. options.StartTls ? await SelfSignedCertificateAsync(root, options.MyHostname) : [],
            .. options.ExtraMainCf,
        ];
        await File.WriteAllLinesAsync(Path.Combine(conf, "main.cf"), main);
        await File.WriteAllTextAsync(Path.Combine(conf, "master.cf"), WithProxyServices(MasterCf(options.ListenAddress, peer.Port), options));
        await peer.PostfixAsync("check");
        await peer.PostfixAsync("start");
        await Wait.ForGreetingAsync(peer.Port, TimeSpan.FromSeconds(20), peer.Name, null, peer.DescribeLogs, options.ListenAddress, options.ReadyGreetingCodes);
        var pidFile = Path.Combine(root, "queue", "pid", "master.pid");
        peer._masterPid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim());
        return peer;
    }

    private static async Task<string[]> SelfSignedCertificateAsync(string root, string hostname)
    {
        var key = Path.Combine(root, "tls.key");
        var cert = Path.Combine(root, "tls.crt");
        var result = await CommandRunner.RunAsync("/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=" + hostname, "-keyout", key, "-out", cert],
            TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException("openssl req failed:\n" + result.Output);
        }
        return ["smtpd_tls_security_level = may", $"smtpd_tls_cert_file = {cert}", $"smtpd_tls_key_file = {key}"];
    }

    private static string WithProxyServices(string masterCf, PostfixOptions options)
    {
        int end = masterCf.IndexOf(" smtpd\n", StringComparison.Ordinal) + " smtpd\n".Length;
        return masterCf[..end] + string.Concat(options.SmtpdServiceOptions.Select(o => "  -o " + o + "\n")) + masterCf[end..]
            + string.Concat(options.ExtraMasterCf.Select(l => l + "\n"));
    }

    private static string MasterCf(string host, int port) => $"""
        # service type  private unpriv  chroot  wakeup  maxproc command
        {host}:{port} inet n -       n       -       -       smtpd
        pickup    unix  n       -       n       60      1       pickup
        cleanup   unix  n       -       n       -       0       cleanup
        qmgr      unix  n       -       n       300     1       qmgr
        rewrite   unix  -       -       n       -       -       trivial-rewrite
        bounce    unix  -       -       n       -       0       bounce
        defer     unix  -       -       n       -       0       bounce
        trace     unix  -       -       n       -       0       bounce
        verify    unix  -       -       n       -       1       verify
        flush     unix  n       -       n       1000?   0       flush
        proxymap  unix  -       -       n       -       -       proxymap
        smtp      unix  -       -       n       -       -       smtp
        relay     unix  -       -       n       -       -       smtp
        showq     unix  n       -       n       -       -       showq
        error     unix  -       -       n       -       -       error
        retry     unix  -       -       n       -       -       error
        discard   unix  -       -       n       -       -       discard
        local     unix  -       n       n       -       -       local
        virtual   unix  -       n       n       -       -       virtual
        lmtp      unix  -       -       n       -       -       lmtp
        anvil     unix  -       -       n       -       1       anvil
        scache    unix  -       -       n       -       1       scache
        postlog   unix-dgram n  -       n       -       1       postlogd
        tlsmgr    unix  -       -       n       1000?   1       tlsmgr

        """;

    private async Task PostfixAsync(string command)
    {
        var result = await CommandRunner.RunAsync("/usr/sbin/postfix", ["-c", ConfigDir, command], TimeSpan.FromSeconds(30));
        _commandLog.Add($"$ postfix -c {ConfigDir} {command} -> exit {result.ExitCode}\n{result.Output}");
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"postfix -c {ConfigDir} {command} failed (exit {result.ExitCode}):\n{result.Output}\n{DescribeLogs()}");
        }
    }

    /// <summary>
    /// Splits a message delivered by virtual(8) into the fields Postfix added in front
    /// (Return-Path, X-Original-To, Delivered-To from virtual(8); Received from smtpd) and the rest.
    /// </summary>
    public static (string ReturnPath, string OriginalTo, string DeliveredTo, string Received, string Remainder) SplitDelivered(string message)
    {
        var (returnPath, r1) = Bytes.SplitFirstField(message);
        var (originalTo, r2) = Bytes.SplitFirstField(r1);
        var (deliveredTo, r3) = Bytes.SplitFirstField(r2);
        var (received, rest) = Bytes.SplitFirstField(r3);
        return (returnPath, originalTo, deliveredTo, received, rest);
    }

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var log = File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no maillog_file yet)";
        return string.Join('\n', _commandLog) + "\n-- " + LogFile + "\n" + log;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_masterPid == 0 || !Unix.IsAlive(_masterPid))
        {
            return;
        }
        try
        {
            await PostfixAsync("stop");
        }
        catch (InvalidOperationException)
        {
            // Fall through to the checks below.
        }
        try
        {
            await Wait.UntilAsync(() => !Unix.IsAlive(_masterPid), TimeSpan.FromSeconds(10), "postfix master to exit");
        }
        catch (TimeoutException)
        {
            await CommandRunner.RunAsync("/usr/sbin/postfix", ["-c", ConfigDir, "abort"], TimeSpan.FromSeconds(10));
            Unix.Signal(_masterPid, Unix.SigKill);
        }
    }
}
