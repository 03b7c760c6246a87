// PolicyReplyReader: LF-only framing (CRLF never ends a reply), missing action, extra attributes,
// first action wins, size guard, EOF, chunking one byte at a time, leftover bytes.
using System.Text;

namespace Mta.PolicyDelegation.Tests;

public class ReplyReaderTests
{
    private static PolicyReplyReader FeedAll(string text, bool byteAtATime = false, int max = PolicyReplyReader.DefaultMaxReplyBytes)
    {
        var reader = new PolicyReplyReader(max);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (byteAtATime)
        {
            for (int i = 0; i < bytes.Length && reader.Status == PolicyReplyStatus.NeedMoreData; i++)
                reader.Feed(bytes.AsSpan(i, 1), out _);
        }
        else reader.Feed(bytes, out _);
        return reader;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SimpleReply_Completes(bool byteAtATime)
    {
        var r = FeedAll("action=DUNNO\n\n", byteAtATime);
        Assert.Equal(PolicyReplyStatus.Complete, r.Status);
        Assert.Equal("DUNNO", r.Action);
    }

    [Fact]
    public void ValueKeepsEqualsAndSpaces()
    {
        var r = FeedAll("action=PREPEND X-Greylist: delayed 300 seconds by postgrey-1.37; a=b\n\n");
        Assert.Equal("PREPEND X-Greylist: delayed 300 seconds by postgrey-1.37; a=b", r.Action);
    }

    [Theory]
    [InlineData("action=DUNNO\r\n\r\n")]
    [InlineData("action=DUNNO\r\n")]
    [InlineData("action=DUNNO\n\r\n")]
    public void Crlf_NeverTerminates(string text)
    {
        var r = FeedAll(text);
        Assert.Equal(PolicyReplyStatus.NeedMoreData, r.Status);
    }

    [Fact]
    public void Crlf_ValueThenLfTerminator_KeepsCrInValue()
    {
        var r = FeedAll("action=DUNNO\r\n\n");
        Assert.Equal(PolicyReplyStatus.Complete, r.Status);
        Assert.Equal("DUNNO\r", r.Action);
    }

    [Fact]
    public void MissingAction_Fails()
    {
        var r = FeedAll("foo=bar\n\n");
        Assert.Equal(PolicyReplyStatus.Failed, r.Status);
        Assert.Contains("missing attribute action", r.Failure);
    }

    [Fact]
    public void EmptyReply_Fails()
    {
        Assert.Equal(PolicyReplyStatus.Failed, FeedAll("\n").Status);
    }

    [Fact]
    public void ActionWithoutEquals_Fails()
    {
        var r = FeedAll("action\n\n");
        Assert.Equal(PolicyReplyStatus.Failed, r.Status);
        Assert.Contains("missing value", r.Failure);
    }

    [Fact]
    public void ExtraAttributesBeforeAndAfter_AreIgnored()
    {
        var r = FeedAll("junk line without equals\nfoo=bar\nactionx=REJECT\naction=OK\nextra=1\naction=REJECT\nmore\n\n");
        Assert.Equal(PolicyReplyStatus.Complete, r.Status);
        Assert.Equal("OK", r.Action);
    }

    [Fact]
    public void AttributeNamesAreCaseSensitive()
    {
        Assert.Equal(PolicyReplyStatus.Failed, FeedAll("ACTION=OK\n\n").Status);
    }

    [Fact]
    public void EmptyActionValue_Completes()
    {
        var r = FeedAll("action=\n\n");
        Assert.Equal(PolicyReplyStatus.Complete, r.Status);
        Assert.Equal("", r.Action);
    }

    [Fact]
    public void EndOfInput_BeforeCompletion_Fails()
    {
        var r = FeedAll("action=DUNNO\n");
        Assert.Equal(PolicyReplyStatus.Failed, r.EndOfInput());
        Assert.Contains("premature end-of-input", r.Failure);
    }

    [Fact]
    public void SizeGuard_Fails()
    {
        var r = FeedAll("action=" + new string('x', 200) + "\n\n", max: 100);
        Assert.Equal(PolicyReplyStatus.Failed, r.Status);
        Assert.Contains("exceeds 100 bytes", r.Failure);
    }

    [Fact]
    public void BytesAfterReply_AreNotConsumed()
    {
        var reader = new PolicyReplyReader();
        var bytes = Encoding.UTF8.GetBytes("action=OK\n\nnext");
        Assert.Equal(PolicyReplyStatus.Complete, reader.Feed(bytes, out int used));
        Assert.Equal(bytes.Length - 4, used);
    }

    [Fact]
    public void InvalidUtf8_IsFlagged()
    {
        var reader = new PolicyReplyReader();
        byte[] bytes = [.. "action=REJECT "u8.ToArray(), 0xff, 0xfe, (byte)'\n', (byte)'\n'];
        Assert.Equal(PolicyReplyStatus.Complete, reader.Feed(bytes, out _));
        Assert.False(reader.ActionIsValidUtf8);
    }

    [Fact]
    public void Reset_AllowsNextReply()
    {
        var r = FeedAll("action=OK\n\n");
        r.Reset();
        r.Feed("action=DUNNO\n\n"u8, out _);
        Assert.Equal("DUNNO", r.Action);
    }
}
