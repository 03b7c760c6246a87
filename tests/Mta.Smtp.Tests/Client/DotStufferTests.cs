// Tests of DotStuffer (RFC 5321 4.5.2 transparency, CRLF normalisation, final CRLF) and Xtext (RFC 3461 4).
using System.Text;
using Mta.Smtp.Client;

namespace Mta.Smtp.Tests.Client;

public class DotStufferTests
{
    public static TheoryData<string, string> Cases => new()
    {
        { "", ".\r\n" },
        { "a\r\n", "a\r\n.\r\n" },
        { "a", "a\r\n.\r\n" },
        { "a\r", "a\r\n.\r\n" },
        { ".", "..\r\n.\r\n" },
        { ".\r\n", "..\r\n.\r\n" },
        { "x\r\n.\r\ny\r\n", "x\r\n..\r\ny\r\n.\r\n" },
        { "..two\r\n.\r\n", "...two\r\n..\r\n.\r\n" },
        { "a\nb\n", "a\r\nb\r\n.\r\n" },
        { "a\n.\nb", "a\r\n..\r\nb\r\n.\r\n" },
        { "in.line. dots\r\n", "in.line. dots\r\n.\r\n" },
        { "a\rb\r\n", "a\rb\r\n.\r\n" },
        { "\r\n\r\n", "\r\n\r\n.\r\n" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stuffs_whole_buffer(string input, string expected) => Assert.Equal(expected, Run(input, int.MaxValue));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stuffs_one_byte_at_a_time(string input, string expected) => Assert.Equal(expected, Run(input, 1));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Stuffs_in_two_byte_chunks(string input, string expected) => Assert.Equal(expected, Run(input, 2));

    private static string Run(string input, int chunk)
    {
        var bytes = Encoding.ASCII.GetBytes(input);
        var s = new DotStuffer();
        var outp = new List<byte>();
        var buf = new byte[2 * bytes.Length + 8];
        for (int i = 0; i < bytes.Length; i += chunk)
        {
            var part = bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i));
            int n = s.Transform(part, buf);
            Assert.True(n <= 2 * part.Length);
            outp.AddRange(buf.AsSpan(0, n).ToArray());
        }
        int m = s.Finish(buf);
        outp.AddRange(buf.AsSpan(0, m).ToArray());
        return Encoding.ASCII.GetString(outp.ToArray());
    }

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("a+b=c", "a+2Bb+3Dc")]
    [InlineData("a b", "a+20b")]
    [InlineData("ü", "+C3+BC")]
    public void Xtext_encodes(string input, string expected) => Assert.Equal(expected, Xtext.Encode(input));
}
