// DnsRig: owns the DNS world of the security-check tests: an authoritative NSD (Debian nsd) serving
// test zones signed with real DNSSEC tools (ldns-keygen + ldns-signzone from ldnsutils; ECDSA P-256,
// algorithm 13, RFC 6605), and Unbound as the validating resolver (RFC 4035 4) with stub-zones at NSD
// and the zones' DS records as trust anchors, both on fresh 127.0.0.1 ports with private
// configurations under the RunDirectory, started in the foreground as our children and stopped by us.
// Unbound answers with the AD bit (RFC 4035 3.2.3) for signed zones, without it for unsigned ones, and
// SERVFAIL for a zone whose signatures are broken (RFC 4035 5.5). Nothing leaves loopback: unbound
// refuses every name outside the test zones (local-zone "." refuse) so it never tries the root servers.
using System.Net;
using DnsClient;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Dns;

/// <summary>How a test zone is served.</summary>
public enum ZoneSigning
{
    /// <summary>Signed (KSK + ZSK) and its DS is a trust anchor of unbound: answers carry the AD bit.</summary>
    Signed,
    /// <summary>Not signed, no trust anchor (domain-insecure): answers come without the AD bit.</summary>
    Unsigned,
    /// <summary>Signed and anchored, but the RRSIG of the TLSA RRset is corrupted after signing: unbound answers SERVFAIL.</summary>
    BrokenTlsaSignature,
}

/// <summary>One test zone: its name, its records (zone-file lines, owner names absolute or relative), how it is signed.</summary>
public sealed record TestZone(string Name, IReadOnlyList<string> Records, ZoneSigning Signing = ZoneSigning.Signed)
{
    /// <summary>The zone file text before signing: SOA, NS (ns.ZONE at 127.0.0.1) and <see cref="Records"/>.</summary>
    public string Render() =>
        $"$ORIGIN {Name}.\n$TTL 300\n" +
        $"@ IN SOA ns.{Name}. hostmaster.{Name}. 1 3600 600 86400 300\n" +
        $"@ IN NS ns.{Name}.\n" +
        "ns IN A 127.0.0.1\n" +
        string.Concat(Records.Select(r => r + "\n"));
}

/// <summary>NSD + Unbound on loopback for one test.</summary>
public sealed class DnsRig : IPeer
{
    private readonly string _dir;
    private ChildProcess? _nsd;
    private ChildProcess? _unbound;
    private readonly List<string> _steps = [];
    private readonly List<ChildProcess> _lives = [];

    private DnsRig(string dir)
    {
        _dir = dir;
        NsdPort = PortAllocator.Next();
        UnboundPort = PortAllocator.Next();
    }

    /// <summary>The authoritative server's port on 127.0.0.1 (UDP and TCP).</summary>
    public int NsdPort { get; }

    /// <summary>The validating resolver's port on 127.0.0.1: point <c>dns_resolver</c> here.</summary>
    public int UnboundPort { get; }

    /// <summary><c>dns_resolver</c> value for the MTA.</summary>
    public string Resolver => $"127.0.0.1:{UnboundPort}";

    /// <inheritdoc/>
    public string Name => $"dns (nsd 127.0.0.1:{NsdPort}, unbound 127.0.0.1:{UnboundPort})";

    /// <summary>Signs <paramref name="zones"/>, starts NSD, waits for it, starts Unbound, waits for it.</summary>
    public static async Task<DnsRig> StartAsync(RunDirectory run, IReadOnlyList<TestZone> zones)
    {
        var rig = new DnsRig(run.Sub("dns"));
        try
        {
            await rig.ServeAsync(zones);
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
        return rig;
    }

    /// <summary>Stops both servers and serves <paramref name="zones"/> instead (new keys, fresh resolver cache).</summary>
    public async Task RepublishAsync(IReadOnlyList<TestZone> zones)
    {
        await StopAsync();
        await ServeAsync(zones);
    }

    private async Task ServeAsync(IReadOnlyList<TestZone> zones)
    {
        var anchors = new List<string>();
        var nsdZones = new List<string>();
        foreach (TestZone zone in zones)
        {
            string zoneDir = Path.Combine(_dir, zone.Name);
            if (Directory.Exists(zoneDir)) Directory.Delete(zoneDir, recursive: true);
            Directory.CreateDirectory(zoneDir);
            string unsigned = Path.Combine(zoneDir, "zone");
            await File.WriteAllTextAsync(unsigned, zone.Render());
            string served = unsigned;
            if (zone.Signing != ZoneSigning.Unsigned)
            {
                (served, string ds) = await SignAsync(zoneDir, zone.Name, unsigned);
                anchors.Add(ds);
                if (zone.Signing == ZoneSigning.BrokenTlsaSignature) BreakTlsaSignature(served);
            }
            nsdZones.Add($"zone:\n  name: \"{zone.Name}\"\n  zonefile: \"{served}\"\n");
        }

        string nsdConf = Path.Combine(_dir, "nsd.conf");
        await File.WriteAllTextAsync(nsdConf,
            "server:\n" +
            "  ip-address: 127.0.0.1\n" +
            $"  port: {NsdPort}\n" +
            "  do-ip6: no\n" +
            "  username: \"\"\n" +              // we are root; do not switch to the nsd user
            "  chroot: \"\"\n" +
            $"  zonesdir: \"{_dir}\"\n" +
            $"  pidfile: \"{_dir}/nsd.pid\"\n" +
            "  database: \"\"\n" +               // no nsd.db: read the zone files
            $"  zonelistfile: \"{_dir}/zone.list\"\n" +
            $"  xfrdfile: \"{_dir}/xfrd.state\"\n" +
            $"  xfrdir: \"{_dir}\"\n" +
            "  server-count: 1\n" +
            "  verbosity: 2\n" +
            "remote-control:\n  control-enable: no\n" +
            string.Concat(nsdZones));
        _nsd = ChildProcess.Start("nsd", "/usr/sbin/nsd", ["-d", "-c", nsdConf]);
        _lives.Add(_nsd);
        foreach (TestZone zone in zones)
            await WaitForSoaAsync(NsdPort, zone.Name, _nsd, "nsd");

        string unboundConf = Path.Combine(_dir, "unbound.conf");
        await File.WriteAllTextAsync(unboundConf,
            "server:\n" +
            "  interface: 127.0.0.1\n" +
            $"  port: {UnboundPort}\n" +
            "  do-ip6: no\n" +
            "  do-daemonize: no\n" +
            "  username: \"\"\n" +
            "  chroot: \"\"\n" +
            $"  directory: \"{_dir}\"\n" +
            $"  pidfile: \"{_dir}/unbound.pid\"\n" +
            "  use-syslog: no\n" +
            "  logfile: \"\"\n" +
            "  verbosity: 1\n" +
            "  val-log-level: 2\n" +              // log why an answer is bogus
            "  num-threads: 1\n" +
            "  access-control: 127.0.0.0/8 allow\n" +
            "  do-not-query-localhost: no\n" +    // the stub servers are on 127.0.0.1
            "  module-config: \"validator iterator\"\n" +
            "  qname-minimisation: no\n" +
            "  trust-anchor-signaling: no\n" +    // no _ta-XXXX queries (RFC 8145)
            "  root-key-sentinel: no\n" +
            "  local-zone: \"test.\" nodefault\n" + // unbound serves .test itself (RFC 6761) unless told not to
            "  local-zone: \".\" refuse\n" +        // never the root servers: only the test zones resolve
            string.Concat(zones.Select(z => $"  local-zone: \"{z.Name}.\" transparent\n")) +
            string.Concat(zones.Where(z => z.Signing == ZoneSigning.Unsigned).Select(z => $"  domain-insecure: \"{z.Name}\"\n")) +
            string.Concat(anchors.Select(a => $"  trust-anchor-file: \"{a}\"\n")) +
            "remote-control:\n  control-enable: no\n" +
            string.Concat(zones.Select(z => $"stub-zone:\n  name: \"{z.Name}\"\n  stub-addr: 127.0.0.1@{NsdPort}\n")));
        var check = await CommandRunner.RunAsync("/usr/sbin/unbound-checkconf", [unboundConf], TimeSpan.FromSeconds(20));
        if (check.ExitCode != 0) throw new InvalidOperationException($"unbound-checkconf {unboundConf} failed:\n{check.Output}");
        _unbound = ChildProcess.Start("unbound", "/usr/sbin/unbound", ["-d", "-c", unboundConf]);
        _lives.Add(_unbound);
        foreach (TestZone zone in zones)
            await WaitForSoaAsync(UnboundPort, zone.Name, _unbound, "unbound");
    }

    // ldns-keygen writes K<zone>.+013+<tag>.{key,private,ds} into the working directory and prints the base name.
    private async Task<(string Signed, string Ds)> SignAsync(string zoneDir, string zone, string unsignedFile)
    {
        string ksk = await ShellAsync(zoneDir, $"ldns-keygen -a ECDSAP256SHA256 -k {zone}");
        string zsk = await ShellAsync(zoneDir, $"ldns-keygen -a ECDSAP256SHA256 {zone}");
        // inception an hour ago: no "signature not yet valid" from a clock tick between signing and validating
        string inception = DateTime.UtcNow.AddHours(-1).ToString("yyyyMMddHHmmss");
        string signedFile = unsignedFile + ".signed";
        await ShellAsync(zoneDir, $"ldns-signzone -i {inception} -f {signedFile} {unsignedFile} {ksk} {zsk}");
        return (signedFile, Path.Combine(zoneDir, ksk + ".ds"));
    }

    private static void BreakTlsaSignature(string signedFile)
    {
        string[] lines = File.ReadAllLines(signedFile);
        int i = Array.FindIndex(lines, l => l.Contains("\tRRSIG\tTLSA ", StringComparison.Ordinal));
        if (i < 0) throw new InvalidOperationException($"{signedFile}: no RRSIG over a TLSA RRset to break");
        // the signature is the last field (base64); change its first character
        int sig = lines[i].LastIndexOf(' ') + 1;
        char c = lines[i][sig] == 'A' ? 'B' : 'A';
        lines[i] = lines[i][..sig] + c + lines[i][(sig + 1)..];
        File.WriteAllLines(signedFile, lines);
    }

    private async Task<string> ShellAsync(string workingDir, string command)
    {
        var result = await CommandRunner.RunAsync("/bin/sh", ["-c", $"cd '{workingDir}' && {command}"], TimeSpan.FromSeconds(30));
        _steps.Add($"$ {command}\n{result.Output}");
        if (result.ExitCode != 0) throw new InvalidOperationException($"{command} exited {result.ExitCode}:\n{result.Output}");
        return result.Output.Trim();
    }

    private static async Task WaitForSoaAsync(int port, string zone, ChildProcess process, string what)
    {
        var client = new LookupClient(new LookupClientOptions(new IPEndPoint(IPAddress.Loopback, port))
        {
            UseCache = false,
            Timeout = TimeSpan.FromMilliseconds(500),
            Retries = 0,
            ThrowDnsErrors = false,
        });
        string last = "no answer yet";
        await Wait.UntilAsync(() =>
        {
            if (process.HasExited) throw new InvalidOperationException($"{what} exited before answering:\n{process.Output}");
            try
            {
                var response = client.Query(zone, QueryType.SOA);
                last = response.Header.ResponseCode.ToString();
                return response.Header.ResponseCode == DnsHeaderResponseCode.NoError && response.Answers.SoaRecords().Any();
            }
            catch (DnsResponseException e)
            {
                last = e.Message;
                return false;
            }
        }, TimeSpan.FromSeconds(15), $"{what} on 127.0.0.1:{port} to answer SOA {zone}", () => $"last: {last}\n{process.Output}");
    }

    private async Task StopAsync()
    {
        if (_unbound is not null) await _unbound.DisposeAsync();
        if (_nsd is not null) await _nsd.DisposeAsync();
        _unbound = null;
        _nsd = null;
    }

    /// <inheritdoc/>
    public string DescribeLogs()
    {
        var parts = new List<string>();
        parts.AddRange(_steps);
        foreach (string f in Directory.Exists(_dir) ? Directory.GetFiles(_dir, "*", SearchOption.AllDirectories) : [])
            if (f.EndsWith(".conf", StringComparison.Ordinal) || f.EndsWith("zone", StringComparison.Ordinal) || f.EndsWith(".signed", StringComparison.Ordinal))
                parts.Add($"-- {f}:\n{File.ReadAllText(f)}");
        parts.AddRange(_lives.Select((p, i) => $"-- process {i + 1}:\n{p.Output}"));
        return string.Join('\n', parts);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync();
}
