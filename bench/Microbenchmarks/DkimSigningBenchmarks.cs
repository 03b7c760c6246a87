// DkimSigner.Sign on a 4 KiB message (the body size of the load runs) with a fresh RSA-2048 key, with an
// Ed25519 key, and with both (a domain configured with one key of each, RFC 8463 6). One Sign call is
// the whole per-message cost: MimeKit parse, relaxed canonicalization, our own body-hash check, and the
// signature(s). Keys are made in memory by DkimKeyGenerator, as `mta dkim keygen` makes them.
using System.Text;
using BenchmarkDotNet.Attributes;
using Mta.Dkim;

namespace Mta.Microbenchmarks;

[MemoryDiagnoser]
[BenchmarkCategory("DKIM signing")]
public class DkimSigningBenchmarks
{
    private const string Domain = "bench.test";
    private const string Sender = "sender@bench.test";

    private DkimSigner _rsa = null!;
    private DkimSigner _ed25519 = null!;
    private DkimSigner _both = null!;
    private byte[] _message = [];

    [GlobalSetup]
    public void Setup()
    {
        var rsa = new DkimSigningIdentity(Domain, "rsa1", DkimKeyGenerator.Generate(DkimKeyAlgorithm.Rsa));
        var ed = new DkimSigningIdentity(Domain, "ed1", DkimKeyGenerator.Generate(DkimKeyAlgorithm.Ed25519));
        _rsa = new DkimSigner(new DkimSigningPolicy([rsa]));
        _ed25519 = new DkimSigner(new DkimSigningPolicy([ed]));
        _both = new DkimSigner(new DkimSigningPolicy([rsa, ed]));

        var sb = new StringBuilder();
        sb.Append("From: Sender Name <sender@bench.test>\r\n")
          .Append("To: Recipient Name <recipient@destination.bench.test>\r\n")
          .Append("Subject: Quarterly figures for the bench team, second draft\r\n")
          .Append("Date: Sat, 29 Nov 2026 23:50:00 +0000\r\n")
          .Append("Message-ID: <20261129235000.4bXy2Q0m8Hz1xqP@bench.test>\r\n")
          .Append("MIME-Version: 1.0\r\n")
          .Append("Content-Type: text/plain; charset=utf-8\r\n")
          .Append("\r\n");
        int n = 0;
        while (sb.Length < 4096 - 80)
            sb.Append("Line ").Append(n++.ToString("D4")).Append(' ').Append(new string('x', 66)).Append("\r\n");
        _message = Encoding.ASCII.GetBytes(sb.ToString());

        foreach (var (signer, expected) in new[] { (_rsa, 1), (_ed25519, 1), (_both, 2) })
        {
            var r = signer.Sign(_message, Sender);
            if (r.Outcome != DkimSignOutcome.Signed || r.Signatures.Count != expected)
                throw new InvalidOperationException($"signing in set-up gave {r.Outcome} ({r.Signatures.Count} signatures): {r.Reason}");
        }
    }

    [Benchmark(Baseline = true)]
    public int SignRsa2048() => _rsa.Sign(_message, Sender).HeaderBytes.Length;

    [Benchmark]
    public int SignEd25519() => _ed25519.Sign(_message, Sender).HeaderBytes.Length;

    [Benchmark]
    public int SignRsa2048AndEd25519() => _both.Sign(_message, Sender).HeaderBytes.Length;
}
