// DovecotLmtpPeer: owns one private Dovecot (the Debian package's binaries, unmodified) that runs
// only the LMTP service on 127.0.0.1:PORT and delivers into Maildirs under the test's RunDirectory.
// Users come from a private passwd-file (full addresses, all mapped to uid/gid nobody); an address
// not in the file gets "550 5.1.1 <x> User doesn't exist" at RCPT, so one known plus one unknown
// recipient gives a mixed per-recipient LMTP result.
//
// What running Dovecot privately as root needs (Dovecot 2.3): "dovecot -F -c FILE" keeps the master
// in the foreground (so it is our child and SIGTERM ends it and its children); base_dir (sockets,
// master.pid) and state_dir must be private; instance_name keeps process titles apart;
// protocols = lmtp starts no IMAP/POP3 listener; ssl = no; log_path sends every log line to a file
// we print on failure. mail_location uses ~ (the userdb home) so each user's Maildir is
// HOME/Maildir. /etc/dovecot is never read.
//
// A user can carry its own home (e.g. under a directory user nobody cannot write, so that Dovecot
// answers "451 4.2.0 ... Internal error occurred" for that recipient) and extra userdb fields (e.g.
// "userdb_quota_rule=*:storage=1K"; with ExtraConfig enabling the quota plugin and
// quota_full_tempfail = yes Dovecot answers "452 4.2.2 <u> Quota exceeded (mailbox for user is
// full)" after DATA for that recipient only). passwd-file is re-read when the file changes (no auth
// cache), so SetUsersAsync changes a user's quota or home without restarting Dovecot.
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>One passwd-file user of a private Dovecot (uid/gid nobody).</summary>
/// <param name="Address">The full address, also the login name.</param>
/// <param name="Home">The home directory; null for ROOT/mail/&lt;address&gt;.</param>
/// <param name="ExtraFields">Extra userdb fields, e.g. "userdb_quota_rule=*:storage=1K".</param>
public sealed record DovecotUser(string Address, string? Home = null, IReadOnlyList<string>? ExtraFields = null)
{
    /// <summary>A user with the default home and no extra fields.</summary>
    public static implicit operator DovecotUser(string address) => new(address);
}

/// <summary>A running private Dovecot LMTP server.</summary>
public sealed class DovecotLmtpPeer : IPeer
{
    private readonly string _name;
    private readonly string _root;
    private readonly Dictionary<string, string> _homes = new(StringComparer.OrdinalIgnoreCase);
    private ChildProcess? _process;

    private DovecotLmtpPeer(string name, string root, int port)
    {
        _name = name;
        _root = root;
        Port = port;
    }

    /// <summary>LMTP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Nexthop for transport_maps: "[127.0.0.1]:PORT".</summary>
    public string NextHop => $"[127.0.0.1]:{Port}";

    /// <inheritdoc />
    public string Name => $"{_name} (dovecot lmtp 127.0.0.1:{Port}, {_root})";

    private string LogFile => Path.Combine(_root, "dovecot.log");

    private string UsersFile => Path.Combine(_root, "users");

    /// <summary>The Maildir of a known user (HOME/Maildir).</summary>
    public string MaildirOf(string address) =>
        Path.Combine(_homes.TryGetValue(address, out var home) ? home : DefaultHome(address), "Maildir");

    private string DefaultHome(string address) => Path.Combine(_root, "mail", address.ToLowerInvariant());

    /// <summary>Writes the private configuration and starts dovecot in the foreground.</summary>
    public static Task<DovecotLmtpPeer> StartAsync(RunDirectory dir, string name, IReadOnlyList<string> users) =>
        StartAsync(dir, name, users.Select(u => new DovecotUser(u)).ToArray(), []);

    /// <summary>
    /// Writes the private configuration (plus <paramref name="extraConfig"/> lines, e.g. mail_plugins
    /// and a plugin block) and starts dovecot in the foreground.
    /// </summary>
    public static async Task<DovecotLmtpPeer> StartAsync(RunDirectory dir, string name, IReadOnlyList<DovecotUser> users,
        IReadOnlyList<string> extraConfig)
    {
        var root = dir.Sub(name);
        var peer = new DovecotLmtpPeer(name, root, PortAllocator.Next());
        var run = dir.Sub(name, "run");
        var state = dir.Sub(name, "state");
        var mail = dir.Sub(name, "mail");
        Unix.Chown(mail, "nobody:nogroup");
        var usersFile = peer.UsersFile;
        await peer.SetUsersAsync(users);
        var conf = Path.Combine(root, "dovecot.conf");
        await File.WriteAllTextAsync(conf, $$"""
            # Private Dovecot for the compat tests: LMTP only, on loopback.
            instance_name = compat-{{name}}-{{peer.Port}}
            base_dir = {{run}}
            state_dir = {{state}}
            protocols = lmtp
            listen = 127.0.0.1
            log_path = {{peer.LogFile}}
            ssl = no
            auth_username_format = %Lu
            mail_location = maildir:~/Maildir
            passdb {
              driver = passwd-file
              args = {{usersFile}}
            }
            userdb {
              driver = passwd-file
              args = {{usersFile}}
            }
            service lmtp {
              inet_listener lmtp {
                address = 127.0.0.1
                port = {{peer.Port}}
              }
            }
            {{string.Join("\n", extraConfig)}}

            """);
        peer._process = ChildProcess.Start(name, "/usr/sbin/dovecot", ["-F", "-c", conf]);
        await Wait.ForGreetingAsync(peer.Port, TimeSpan.FromSeconds(20), peer.Name, () => peer._process.HasExited, peer.DescribeLogs);
        return peer;
    }

    /// <summary>
    /// (Re)writes the passwd-file with <paramref name="users"/>. Dovecot notices the change at its next
    /// lookup (it compares the file's mtime and size), so this also changes a running server's users.
    /// </summary>
    public async Task SetUsersAsync(IReadOnlyList<DovecotUser> users)
    {
        _homes.Clear();
        var lines = new List<string>();
        foreach (var u in users)
        {
            var home = u.Home ?? DefaultHome(u.Address);
            _homes[u.Address] = home;
            lines.Add($"{u.Address.ToLowerInvariant()}::65534:65534::{home}::{string.Join(' ', u.ExtraFields ?? [])}");
        }
        // Write beside and rename, so Dovecot never reads a half-written file.
        var temp = UsersFile + ".new";
        await File.WriteAllLinesAsync(temp, lines);
        File.Move(temp, UsersFile, overwrite: true);
    }

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var log = File.Exists(LogFile) ? File.ReadAllText(LogFile) : "(no log file yet)";
        return (_process?.Output ?? "") + "\n-- " + LogFile + "\n" + log;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
