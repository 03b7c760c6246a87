// Real messages (copies from shared/corpus): the ham-dkim_* ones carry signatures whose keys cannot be
// resolved, so they only show that parsing and classification never throw; all of them are signed by
// us and must verify with the prepended fields over the unchanged bytes.
using System.Text;

namespace Mta.Dkim.Tests;

public class CorpusTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in TestData.CorpusFiles())
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task ExistingSignatures_AreClassifiedWithoutThrowing(string file)
    {
        var message = TestData.Crlf(TestData.Bytes(Path.Combine("corpus", file)));
        var results = await new DkimVerifier(new FakeKeyLocator()).VerifyAsync(message);
        Assert.All(results, r => Assert.NotEqual(DkimResult.Pass, r.Result));
        Assert.All(results, r => Assert.NotNull(r.Reason));
        var header = AuthenticationResults.Build("mx.example.net", results);
        Assert.StartsWith("Authentication-Results: mx.example.net;\r\n", header);
        if (Encoding.ASCII.GetString(message).Contains("\nDKIM-Signature:", StringComparison.OrdinalIgnoreCase))
            Assert.NotEmpty(results);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task SignedByUs_VerifiesOverTheUnchangedBytes(string file)
    {
        var message = TestData.Crlf(TestData.Bytes(Path.Combine("corpus", file)));
        var copy = message.ToArray();
        var signer = new DkimSigner(new DkimSigningPolicy([Keys.RsaId("example.org"), Keys.EdId("example.org")]));
        var result = signer.Sign(message, "sender@example.org");
        Assert.Equal(DkimSignOutcome.Signed, result.Outcome);
        Assert.Equal(copy, message);

        var signed = TestData.Concat(result.HeaderBytes, message);
        var results = await new DkimVerifier(new FakeKeyLocator().Add(Keys.RsaId()).Add(Keys.EdId())).VerifyAsync(signed);
        var ours = results.Where(r => r.Domain == "example.org" && r.Selector is "rsa1" or "ed1").ToList();
        Assert.Equal(2, ours.Count);
        Assert.All(ours, r => Assert.True(r.Result == DkimResult.Pass, $"{file}: {r.Algorithm} {r.Result} {r.Reason}"));
    }
}

public class RawHeaderBlockTests
{
    [Fact]
    public void FindsFieldsWithFolding_AndTheBody()
    {
        var bytes = Encoding.ASCII.GetBytes("A: 1\r\nB: x\r\n\ty\r\nno colon line\r\nC :z\n\r\nbody\r\n");
        var block = RawHeaderBlock.Parse(bytes);
        Assert.Equal(["A", "B", "", "C"], block.Fields.Select(f => f.Name));
        Assert.Equal(" x\r\n\ty", block.Fields[1].RawValue);
        Assert.Equal("z", block.Fields[3].RawValue);
        Assert.True(block.HasBodySeparator);
        Assert.Equal("body\r\n", Encoding.ASCII.GetString(bytes[block.BodyOffset..]));
        Assert.Equal(bytes.Length - block.Fields[1].Length, block.Without(bytes, [1]).Length);
    }

    [Fact]
    public void NoSeparator_MeansNoBody()
    {
        var block = RawHeaderBlock.Parse("A: 1\r\nB: 2"u8);
        Assert.False(block.HasBodySeparator);
        Assert.Equal(2, block.Fields.Count);
        Assert.Equal(10, block.BodyOffset);
    }
}

public class DependencyTests
{
    [Fact]
    public void Library_ReferencesNoMtaAssembly()
    {
        var refs = typeof(DkimSigner).Assembly.GetReferencedAssemblies().Select(a => a.Name!).ToArray();
        Assert.DoesNotContain(refs, n => n.StartsWith("Mta", StringComparison.Ordinal));
    }
}
