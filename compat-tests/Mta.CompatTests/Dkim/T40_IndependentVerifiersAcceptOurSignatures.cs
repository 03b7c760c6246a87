// T40: messages signed by our signer (RSA-SHA256 and Ed25519-SHA256 at once, relaxed/relaxed, From
// over-signed) verify in OpenDKIM (`opendkim -t` with TestPublicKeys) and in dkimpy, over the corpus
// bytes exactly as delivered; and a changed body fails in both, so the verifiers are really checking.
using System.Text;
using Mta.Dkim;
using Xunit.Abstractions;

namespace Mta.CompatTests.Dkim;

public sealed class T40_IndependentVerifiersAcceptOurSignatures(ITestOutputHelper output)
{
    private static (DkimSigner Signer, DkimPeers Peers) Setup(string domain)
    {
        var rsa = DkimKeyGenerator.Generate(DkimKeyAlgorithm.Rsa);
        var ed = DkimKeyGenerator.Generate(DkimKeyAlgorithm.Ed25519);
        var peers = new DkimPeers();
        peers.Publish($"rsa1._domainkey.{domain}", rsa.KeyRecordText);
        peers.Publish($"ed1._domainkey.{domain}", ed.KeyRecordText);
        var policy = new DkimSigningPolicy([new DkimSigningIdentity(domain, "rsa1", rsa), new DkimSigningIdentity(domain, "ed1", ed)]);
        return (new DkimSigner(policy), peers);
    }

    private static void AssertBothPass(IReadOnlyList<PeerDkimResult> results, string verifier)
    {
        Assert.True(results.Count == 2, $"{verifier}: expected 2 results, got {string.Join("; ", results)}");
        Assert.Contains(new PeerDkimResult("rsa1", "rsa-sha256", "pass"), results);
        Assert.Contains(new PeerDkimResult("ed1", "ed25519-sha256", "pass"), results);
    }

    [Theory]
    [MemberData(nameof(DkimCorpus.Messages), MemberType = typeof(DkimCorpus))]
    public async Task Our_signatures_verify_in_OpenDKIM_and_dkimpy(string message)
    {
        var bytes = DkimCorpus.Wire(message);
        // sign for the message's own From: domain (the usual case) ...
        var (signer, peers) = Setup(DkimCorpus.FromDomain(bytes));
        using var _ = peers;
        try
        {
            var result = signer.Sign(bytes, null);
            Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
            var file = peers.WriteMessage("signed.eml", DkimCorpus.Concat(result.HeaderBytes.ToArray(), bytes));
            AssertBothPass(await peers.OpenDkimVerifyAsync(file), "opendkim");
            AssertBothPass(await peers.DkimpyVerifyAsync(file), "dkimpy");
        }
        catch
        {
            output.WriteLine(peers.Log.ToString());
            throw;
        }
    }

    [Fact]
    public async Task Envelope_sender_domain_signature_verifies_and_a_changed_body_fails()
    {
        var bytes = DkimCorpus.Wire("ham-mime3.eml");
        var (signer, peers) = Setup("envelope.example");
        using var _ = peers;
        try
        {
            var result = signer.Sign(bytes, "bounces@envelope.example");
            Assert.Equal(("envelope.example", DkimSignOutcome.Signed), (result.Domain, result.Outcome));
            var good = peers.WriteMessage("good.eml", DkimCorpus.Concat(result.HeaderBytes.ToArray(), bytes));
            AssertBothPass(await peers.OpenDkimVerifyAsync(good), "opendkim");
            AssertBothPass(await peers.DkimpyVerifyAsync(good), "dkimpy");

            var text = Encoding.Latin1.GetString(bytes);
            var changed = Encoding.Latin1.GetBytes(text[..^20] + "X" + text[^19..]);
            var bad = peers.WriteMessage("bad.eml", DkimCorpus.Concat(result.HeaderBytes.ToArray(), changed));
            var od = await peers.OpenDkimVerifyAsync(bad);
            Assert.Equal(2, od.Count);
            Assert.All(od, r => Assert.NotEqual("pass", r.Result));
            var py = await peers.DkimpyVerifyAsync(bad);
            Assert.Equal(2, py.Count);
            Assert.All(py, r => Assert.Equal("fail", r.Result));
        }
        catch
        {
            output.WriteLine(peers.Log.ToString());
            throw;
        }
    }
}
