// Tests for Xtext: RFC 3461 4 xtext encoding and decoding, exact vectors and round trips.
using Mta.Smtp.Envelope;

namespace Mta.Smtp.Tests.Envelope;

public class XtextTests
{
    [Theory]
    [InlineData("", "")]
    [InlineData("abc", "abc")]
    [InlineData("<>", "<>")]
    [InlineData("a+b", "a+2Bb")]
    [InlineData("e=mc2", "e+3Dmc2")]
    [InlineData("a b", "a+20b")]
    [InlineData("\r\n", "+0D+0A")]
    [InlineData("\u007f", "+7F")]
    [InlineData("é", "+C3+A9")]
    [InlineData("~!", "~!")]
    public void Encodes(string plain, string xtext) => Assert.Equal(xtext, Xtext.Encode(plain));

    [Theory]
    [InlineData("", "")]
    [InlineData("abc", "abc")]
    [InlineData("a+2Bb", "a+b")]
    [InlineData("+3D", "=")]
    [InlineData("+C3+A9t+C3+A9", "été")]
    [InlineData("+F0+9F+98+80", "\U0001F600")]
    [InlineData("+00", "\0")]
    public void Decodes(string xtext, string plain)
    {
        Assert.True(Xtext.TryDecode(xtext, out var d));
        Assert.Equal(plain, d);
    }

    [Theory]
    [InlineData("a+2b")]       // lower-case hex is not xtext (RFC 3461 4)
    [InlineData("a+")]
    [InlineData("a+2")]
    [InlineData("+GG")]
    [InlineData("+ 2")]
    [InlineData("a=b")]        // "=" must be encoded
    [InlineData("a b")]        // space must be encoded
    [InlineData("a\tb")]
    [InlineData("\u007f")]
    [InlineData("é")]          // non-ASCII must be encoded
    [InlineData("+FF")]        // decodes to invalid UTF-8
    [InlineData("+C3")]        // truncated UTF-8
    public void Rejects(string xtext)
    {
        Assert.False(Xtext.TryDecode(xtext, out var d));
        Assert.Equal("", d);
    }

    public static TheoryData<string> RoundTrips()
    {
        var all = new char[128];
        for (int i = 0; i < 128; i++) all[i] = (char)i;
        return new TheoryData<string> { "", "plain", "a+b=c d", new string(all), "δοκιμή@παράδειγμα", "\U0001F600+", new string('+', 300) };
    }

    [Theory]
    [MemberData(nameof(RoundTrips))]
    public void Round_trips(string s)
    {
        var x = Xtext.Encode(s);
        Assert.All(x, c => Assert.InRange(c, '!', '~'));
        Assert.DoesNotContain('=', x);
        Assert.True(Xtext.TryDecode(x, out var back));
        Assert.Equal(s, back);
    }
}
