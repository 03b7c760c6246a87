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
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Peers;

/// <summary>A running private Dovecot LMTP server.</summary>
public sealed class DovecotLmtpPeer : IPeer
{
    private readonly string _name;
    private readonly string _root;
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

    /// <summary>The Maildir of a known user.</summary>
    public string MaildirOf(string address) => Path.Combine(_root, "mail", address.ToLowerInvariant(), "Maildir");

    /// <summary>Writes the private configuration and starts dovecot in the foreground.</summary>
    public static async Task<DovecotLmtpPeer> StartAsync(RunDirectory dir, string name, IReadOnlyList<string> users)
    {
        var root = dir.Sub(name);
        var peer = new DovecotLmtpPeer(name, root, PortAllocator.Next());
        var run = dir.Sub(name, "run");
        var state = dir.Sub(name, "state");
        var mail = dir.Sub(name, "mail");
        Unix.Chown(mail, "nobody:nogroup");
        var usersFile = Path.Combine(root, "users");
        await File.WriteAllLinesAsync(usersFile,
            users.Select(u => $"{u.ToLowerInvariant()}::65534:65534::{Path.Combine(mail, u.ToLowerInvariant())}::"));
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

            """);
        peer._process = ChildProcess.Start(name, "/usr/sbin/dovecot", ["-F", "-c", conf]);
        await Wait.ForGreetingAsync(peer.Port, TimeSpan.FromSeconds(20), peer.Name, () => peer._process.HasExited, peer.DescribeLogs);
        return peer;
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
