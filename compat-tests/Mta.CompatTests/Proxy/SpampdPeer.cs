// SpampdPeer: Debian's spampd (SpamAssassin SMTP proxy, unmodified) on a loopback port, relaying to a
// given re-injection port. Learned on Debian 12 (spampd 2.53, SpamAssassin 4.0.1):
// - --homedir from the command line is tainted under perl -T and SpamAssassin dies ("Insecure dependency
//   in unlink"), so the default /var/cache/spampd is used (a cache only; nothing under /etc is touched).
// - There is no /dev/log here: --logsock=unix kills the children; --logsock=inet only complains that nobody
//   listens on udp/514 and carries on. spampd logs nothing else, so its stdout/stderr is all we show.
// - It relays the downstream's EHLO keywords (XFORWARD included) and its end-of-data reply.
// - --local-only keeps SpamAssassin off the network (no DNSBL/Razor); GTUBE scores 1000.
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Policy;

namespace Mta.CompatTests.Proxy;

/// <summary>A running spampd on 127.0.0.1:Port relaying to 127.0.0.1:RelayPort.</summary>
public sealed class SpampdPeer : IPeer
{
    private readonly ChildProcess _process;
    private readonly string _name;

    private SpampdPeer(string name, ChildProcess process, int port, int relayPort)
    {
        _name = name;
        _process = process;
        Port = port;
        RelayPort = relayPort;
    }

    /// <summary>TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Where it relays scanned mail (the re-injection listener).</summary>
    public int RelayPort { get; }

    /// <summary>smtpd_proxy_filter value.</summary>
    public string Filter => $"127.0.0.1:{Port}";

    /// <inheritdoc />
    public string Name => $"{_name} (spampd 127.0.0.1:{Port} -> 127.0.0.1:{RelayPort})";

    /// <summary>Starts spampd; waits until it accepts connections (SpamAssassin compiles its rules first).</summary>
    public static async Task<SpampdPeer> StartAsync(RunDirectory dir, string name, int relayPort, int? port = null)
    {
        int p = port ?? PortAllocator.Next();
        var process = ChildProcess.Start(name, "/usr/sbin/spampd",
        [
            $"--host=127.0.0.1:{p}", $"--relayhost=127.0.0.1:{relayPort}", "--nodetach", "--user=nobody", "--group=nogroup",
            $"--pid={Path.Combine(dir.Sub(name), "spampd.pid")}", "--local-only", "--children=2", "--logsock=inet", "--maxsize=512",
        ]);
        var peer = new SpampdPeer(name, process, p, relayPort);
        await Wait.UntilAsync(() => !process.HasExited && PostgreyPeer.CanConnect(p), TimeSpan.FromSeconds(60), "spampd to listen", peer.DescribeLogs);
        return peer;
    }

    /// <summary>Stops it (the "filter is down" case); the port stays closed afterwards.</summary>
    public Task StopAsync() => _process.StopAsync(TimeSpan.FromSeconds(10));

    /// <inheritdoc />
    public string DescribeLogs() => _process.Output;

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _process.StopAsync(TimeSpan.FromSeconds(10));
}
