// T41: messages signed by real OpenDKIM (`opendkim -t` in signing mode; RSA key from opendkim-genkey,
// Ed25519 key from openssl) verify with our DkimVerifier, with relaxed and simple body canonicalization,
// both signatures on one message; a changed body fails with "body hash did not verify"; the
// Authentication-Results field we build for them names both.
// Header canonicalization is relaxed in both cases: with c=simple/..., the field `opendkim -t` prints is
// folded differently from the bytes it signed, so neither OpenDKIM itself nor dkimpy verifies it (checked
// by hand on Debian 12's 2.11.0~beta2); simple header canonicalization is covered by MimeKit's own tests.
using System.Text;
using Mta.Dkim;
using Xunit.Abstractions;

namespace Mta.CompatTests.Dkim;

public sealed class T41_WeVerifyOpenDkimSignatures(ITestOutputHelper output)
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var row in DkimCorpus.Messages)
        {
            data.Add(row, "relaxed/relaxed");
            data.Add(row, "relaxed/simple");
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task OpenDKIM_signatures_verify_with_our_verifier(string message, string canonicalization)
    {
        var bytes = DkimCorpus.Wire(message);
        var domain = DkimCorpus.FromDomain(bytes);
        using var peers = new DkimPeers();
        try
        {
            var (rsaKey, rsaRecord) = await peers.OpenDkimGenKeyAsync(domain, "odrsa");
            var (edKey, edRecord) = await peers.OpenSslEd25519Async("oded");
            var locator = new StaticKeyLocator();
            locator.Add($"odrsa._domainkey.{domain}", rsaRecord);
            locator.Add($"oded._domainkey.{domain}", edRecord);

            var file = peers.WriteMessage("in.eml", bytes);
            var rsaSig = await peers.OpenDkimSignAsync(file, domain, "odrsa", rsaKey, "rsa-sha256", canonicalization);
            var edSig = await peers.OpenDkimSignAsync(file, domain, "oded", edKey, "ed25519-sha256", canonicalization);
            Assert.Contains("c=" + canonicalization, rsaSig.Replace("\r\n\t", " "));
            Assert.Contains("a=ed25519-sha256", edSig);
            var signed = DkimCorpus.Concat(Encoding.ASCII.GetBytes(edSig + rsaSig), bytes);

            var results = await new DkimVerifier(locator).VerifyAsync(signed);
            Assert.Equal(2, results.Count);
            Assert.All(results, r => Assert.True(r.Result == DkimResult.Pass, $"{r.Algorithm} {r.Selector}: {r.Result} {r.Reason}"));
            Assert.Equal(["ed25519-sha256", "rsa-sha256"], results.Select(r => r.Algorithm));

            var ar = AuthenticationResults.Build("mx.compat.test", results);
            Assert.Contains("dkim=pass header.d=" + domain, ar);
            Assert.Contains("header.a=ed25519-sha256", ar);

            var text = Encoding.Latin1.GetString(bytes);
            var changed = DkimCorpus.Concat(Encoding.ASCII.GetBytes(edSig + rsaSig), Encoding.Latin1.GetBytes(text[..^20] + "X" + text[^19..]));
            var bad = await new DkimVerifier(locator).VerifyAsync(changed);
            Assert.All(bad, r => Assert.Equal((DkimResult.Fail, "body hash did not verify"), (r.Result, r.Reason)));
        }
        catch
        {
            output.WriteLine(peers.Log.ToString());
            throw;
        }
    }
}
