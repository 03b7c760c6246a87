// Tests for DotDataDecoder: end-of-data detection, dot-unstuffing, size limit and the SMTP-smuggling
// vectors, each fed whole, one byte at a time, and split at every position.
using System.Buffers;
using System.Text;
using Mta.Smtp.Content;
using Mta.Smtp.Server;

namespace Mta.Smtp.Tests.Server;

public class DotDataDecoderTests
{
    private sealed record Outcome(bool Done, string Content, ContentErrors Errors, int Consumed);

    private static Outcome Run(string input, long limit, int chunk)
    {
        var bytes = Encoding.Latin1.GetBytes(input);
        using var spool = new MessageSpool(1 << 20, Path.GetTempPath());
        var decoder = new DotDataDecoder(spool, limit);
        int pos = 0;
        bool done = false;
        while (pos < bytes.Length && !done)
        {
            int n = Math.Min(chunk, bytes.Length - pos);
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, pos, n));
            done = decoder.Decode(ref reader);
            pos += (int)reader.Consumed;
            if (!done) Assert.True(reader.End);
        }
        return new Outcome(done, Encoding.Latin1.GetString(spool.ToArray()), decoder.Errors, pos);
    }

    public static TheoryData<string, string, ContentErrors, string> Vectors => new()
    {
        // input (DATA body after the 354), expected content, expected errors, expected remaining input
        { "Subject: x\r\n\r\nhello\r\n.\r\n", "Subject: x\r\n\r\nhello\r\n", ContentErrors.None, "" },
        { ".\r\n", "", ContentErrors.None, "" },
        { "..leading dot\r\n.\r\n", ".leading dot\r\n", ContentErrors.None, "" },
        { "a\r\n..\r\n.\r\nQUIT\r\n", "a\r\n.\r\n", ContentErrors.None, "QUIT\r\n" },
        { "a\r\n.x\r\n.\r\n", "a\r\nx\r\n", ContentErrors.None, "" },
        // SMTP smuggling: these must NOT end the message, and are flagged.
        { "a\n.\r\nMAIL FROM:<evil>\r\n.\r\n", "a\n.\r\nMAIL FROM:<evil>\r\n", ContentErrors.BareLineFeed, "" },
        { "a\r\n.\nRCPT\r\n.\r\n", "a\r\n\nRCPT\r\n", ContentErrors.BareLineFeed, "" },
        { "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", ContentErrors.BareLineFeed, "" },
        { "a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n", ContentErrors.BareCarriageReturn, "" },
        { "a\r\n.\rX\r\n.\r\n", "a\r\n\rX\r\n", ContentErrors.BareCarriageReturn, "" },
        { "bare\rcr\r\n.\r\n", "bare\rcr\r\n", ContentErrors.BareCarriageReturn, "" },
        { "x\r\r\n.\r\n", "x\r\r\n", ContentErrors.BareCarriageReturn, "" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Decodes_whole_byte_by_byte_and_in_pairs(string input, string content, ContentErrors errors, string remaining)
    {
        foreach (int chunk in new[] { int.MaxValue, 1, 2, 3 })
        {
            var o = Run(input, 0, chunk);
            Assert.True(o.Done, $"chunk {chunk}: end not found");
            Assert.Equal(content, o.Content);
            Assert.Equal(errors, o.Errors);
            Assert.Equal(remaining, input[o.Consumed..]);
        }
    }

    [Fact]
    public void Incomplete_input_needs_more()
    {
        var o = Run("abc\r\n.\r", 0, int.MaxValue);
        Assert.False(o.Done);
        Assert.Equal("abc\r\n", o.Content);
    }

    [Fact]
    public void Size_limit_is_enforced_while_reading_and_input_is_still_consumed_to_the_end()
    {
        var body = new string('x', 100) + "\r\n";
        var o = Run(body + body + ".\r\nNOOP\r\n", 150, 7);
        Assert.True(o.Done);
        Assert.Equal(ContentErrors.SizeExceeded, o.Errors);
        Assert.Equal(150, o.Content.Length);
        Assert.Equal("NOOP\r\n", (body + body + ".\r\nNOOP\r\n")[o.Consumed..]);
    }

    [Fact]
    public void Exactly_at_limit_is_accepted()
    {
        var o = Run("12345678\r\n.\r\n", 10, 1);
        Assert.Equal(ContentErrors.None, o.Errors);
    }

    [Theory]
    [InlineData("ok\r\nlines\r\n", ContentErrors.None)]
    [InlineData("bare\nlf", ContentErrors.BareLineFeed)]
    [InlineData("bare\rcr", ContentErrors.BareCarriageReturn)]
    [InlineData("ends in cr\r", ContentErrors.BareCarriageReturn)]
    public void Line_ending_checker_over_chunk_boundaries(string content, ContentErrors expected)
    {
        for (int split = 0; split <= content.Length; split++)
        {
            var c = new LineEndingChecker();
            c.Check(Encoding.ASCII.GetBytes(content[..split]));
            c.Check(Encoding.ASCII.GetBytes(content[split..]));
            c.Complete();
            Assert.Equal(expected, c.Errors);
        }
    }
}
