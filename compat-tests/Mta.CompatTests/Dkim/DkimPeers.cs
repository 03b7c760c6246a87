// DkimPeers: the independent DKIM implementations the Dkim/ tests compare against, run as programs from
// Debian packages: OpenDKIM's `opendkim -t` test mode (signs with Mode s, verifies with TestPublicKeys
// serving key records from a file instead of DNS), opendkim-genkey (RSA keys and their TXT record),
// openssl (Ed25519 keys), and dkimpy (python3-dkim) with a dnsfunc serving the same file.
//
// Why not opendkim-testmsg: it verifies only through live DNS (no option for a local key), and in
// signing mode it writes rsa-sha1 relaxed/simple with a corrupted b= tail in 2.11.0~beta2 (seen on
// Debian 12). `opendkim -t` runs the real filter code with a config file and is the documented test path.
// opendkim refuses config and key files under a directory others can write to (/tmp included), so the
// files live in a 0700 directory under /var/lib.
using System.Text;
using System.Text.RegularExpressions;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Dkim;

/// <summary>One signature's result as an independent verifier reported it.</summary>
public sealed record PeerDkimResult(string Selector, string Algorithm, string Result);

/// <summary>A private directory with DNS key records (name TAB text) that both peers read.</summary>
public sealed partial class DkimPeers : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly List<string> _records = [];

    public DkimPeers()
    {
        Dir = Path.Combine("/var/lib/mta-compat-dkim", Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Dir);
        File.SetUnixFileMode("/var/lib/mta-compat-dkim", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Dir { get; }

    public string KeysFile => Path.Combine(Dir, "keys.txt");

    /// <summary>Everything the peers printed, for failure messages.</summary>
    public StringBuilder Log { get; } = new();

    /// <summary>Publishes a key record at OWNER (e.g. sel._domainkey.example.org) for both peers.</summary>
    public void Publish(string owner, string text)
    {
        _records.Add($"{owner} {text}");
        File.WriteAllLines(KeysFile, _records);
    }

    /// <summary>Writes a message for the peers with LF line ends (opendkim -t reads text files; it signs the CRLF form).</summary>
    public string WriteMessage(string name, byte[] message)
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(message).Replace("\r\n", "\n")));
        return path;
    }

    /// <summary>`opendkim -vv -t FILE` with TestPublicKeys; returns the dkim= results of its Authentication-Results field.</summary>
    public async Task<IReadOnlyList<PeerDkimResult>> OpenDkimVerifyAsync(string messageFile)
    {
        var conf = Path.Combine(Dir, "verify.conf");
        File.WriteAllText(conf, $"Mode v\nTestPublicKeys {KeysFile}\nAuthservID compat.test\nSyslog no\nAlwaysAddARHeader yes\n");
        var run = await RunAsync("/usr/sbin/opendkim", ["-x", conf, "-vv", "-t", messageFile]);
        Assert.True(run.ExitCode == 0, $"opendkim -t exited {run.ExitCode}:\n{run.Output}");
        var results = new List<PeerDkimResult>();
        foreach (Match m in ResInfo().Matches(run.Output))
        {
            var info = m.Value;
            results.Add(new PeerDkimResult(Prop(info, "s"), Prop(info, "a"), m.Groups["r"].Value));
        }
        return results;
    }

    /// <summary>dkimpy: verifies each DKIM-Signature (by index) with keys from <see cref="KeysFile"/>.</summary>
    public async Task<IReadOnlyList<PeerDkimResult>> DkimpyVerifyAsync(string messageFile)
    {
        const string script = """
            import sys, re, dkim
            keys = {}
            for line in open(sys.argv[1]):
                n, v = line.rstrip('\n').split(' ', 1)
                keys[n + '.'] = v.encode()
            def dnsfunc(name, timeout=5):
                return keys.get(name.decode() if isinstance(name, bytes) else name)
            m = open(sys.argv[2], 'rb').read()
            headers, body = dkim.rfc822_parse(m)
            sigs = [v for (k, v) in headers if k.lower() == b'dkim-signature']
            for i, v in enumerate(sigs):
                tags = dict((t.split(b'=', 1)[0].strip(), t.split(b'=', 1)[1].strip()) for t in v.split(b';') if b'=' in t)
                try:
                    ok = dkim.DKIM(m).verify(idx=i, dnsfunc=dnsfunc)
                except dkim.ValidationError:
                    ok = False
                print('dkimpy', tags[b's'].decode(), tags[b'a'].decode(), 'pass' if ok else 'fail')
            """;
        var run = await RunAsync("/usr/bin/python3", ["-c", script, KeysFile, messageFile]);
        Assert.True(run.ExitCode == 0, $"dkimpy exited {run.ExitCode}:\n{run.Output}");
        return run.Lines.Select(l => l.Line.Split(' ')).Where(p => p.Length == 4 && p[0] == "dkimpy")
            .Select(p => new PeerDkimResult(p[1], p[2], p[3])).ToList();
    }

    /// <summary>`opendkim -t` in signing mode; returns the DKIM-Signature field it would add (CRLF line ends).</summary>
    public async Task<string> OpenDkimSignAsync(string messageFile, string domain, string selector, string keyFile, string algorithm, string canonicalization)
    {
        var conf = Path.Combine(Dir, "sign.conf");
        File.WriteAllText(conf,
            $"Mode s\nDomain {domain}\nSelector {selector}\nKeyFile {keyFile}\nCanonicalization {canonicalization}\nSignatureAlgorithm {algorithm}\nSyslog no\n");
        var run = await RunAsync("/usr/sbin/opendkim", ["-x", conf, "-t", messageFile]);
        Assert.True(run.ExitCode == 0, $"opendkim -t (sign) exited {run.ExitCode}:\n{run.Output}");
        var lines = run.Lines.Select(l => l.Line.TrimEnd('\r')).ToList();
        int start = lines.FindIndex(l => l.StartsWith("DKIM-Signature:", StringComparison.Ordinal));
        Assert.True(start >= 0, $"opendkim printed no DKIM-Signature:\n{run.Output}");
        var field = new StringBuilder(lines[start]).Append("\r\n");
        for (int i = start + 1; i < lines.Count && lines[i].Length > 0 && lines[i][0] is ' ' or '\t'; i++)
            field.Append(lines[i]).Append("\r\n");
        return field.ToString();
    }

    /// <summary>opendkim-genkey -b 2048; returns the private key path and the TXT record text (strings joined).</summary>
    public async Task<(string KeyFile, string Record)> OpenDkimGenKeyAsync(string domain, string selector)
    {
        var run = await RunAsync("/usr/sbin/opendkim-genkey", ["-b", "2048", "-d", domain, "-s", selector, "-D", Dir]);
        Assert.True(run.ExitCode == 0, $"opendkim-genkey exited {run.ExitCode}:\n{run.Output}");
        var zone = File.ReadAllText(Path.Combine(Dir, selector + ".txt"));
        var record = string.Concat(Regex.Matches(zone, "\"([^\"]*)\"").Select(m => m.Groups[1].Value));
        return (Path.Combine(Dir, selector + ".private"), record);
    }

    /// <summary>openssl genpkey -algorithm ed25519; returns the key path and the k=ed25519 record (raw 32-byte key, RFC 8463 4.2).</summary>
    public async Task<(string KeyFile, string Record)> OpenSslEd25519Async(string name)
    {
        var key = Path.Combine(Dir, name + ".pem");
        var gen = await RunAsync("/usr/bin/openssl", ["genpkey", "-algorithm", "ed25519", "-out", key]);
        Assert.True(gen.ExitCode == 0, gen.Output);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var pub = await RunAsync("/usr/bin/openssl", ["pkey", "-in", key, "-pubout"]);
        Assert.True(pub.ExitCode == 0, pub.Output);
        var der = Convert.FromBase64String(string.Concat(pub.Lines.Select(l => l.Line).Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        return (key, "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(der[^32..]));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task<CommandResult> RunAsync(string file, string[] args)
    {
        var run = await CommandRunner.RunAsync(file, args, Timeout);
        Log.AppendLine($"$ {file} {string.Join(' ', args.Select(a => a.Contains('\n') ? "<script>" : a))} -> {run.ExitCode}").AppendLine(run.Output);
        return run;
    }

    private static string Prop(string resinfo, string name)
    {
        var m = Regex.Match(resinfo, $@"header\.{name}=([^\s;']+)");
        return m.Success ? m.Groups[1].Value : "";
    }

    [GeneratedRegex(@"dkim=(?<r>[a-z]+)[^;']*")]
    private static partial Regex ResInfo();
}
