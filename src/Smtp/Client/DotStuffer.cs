// DotStuffer and Xtext: byte-level encoders of the SMTP client. DotStuffer applies RFC 5321 4.5.2
// transparency (a line starting with "." gets another "."), turns bare LF into CRLF (so "\n.\n" can never
// end the data early downstream: SMTP smuggling), ensures a final CRLF and appends ".CRLF".
// Xtext encodes ENVID/ORCPT values (RFC 3461 4).
using System.Text;

namespace Mta.Smtp.Client;

/// <summary>
/// Streaming dot-stuffer: feed input buffers to <see cref="Transform"/> in order, then call
/// <see cref="Finish"/> once. With <c>stuffDots: false</c> it only repairs line ends (BDAT content, RFC 3030:
/// no transparency) and ends with <see cref="FinishLine"/>. Output for n input bytes is at most 2n bytes; <see cref="Finish"/> writes at most 5.
/// </summary>
internal sealed class DotStuffer(bool stuffDots = true)
{
    private readonly bool _stuffDots = stuffDots;
    private bool _atLineStart = true;
    private bool _prevCr;

    /// <summary>Stuffs <paramref name="input"/> into <paramref name="output"/> (at least 2 × input length) and returns the bytes written.</summary>
    public int Transform(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int i = 0, o = 0;
        while (i < input.Length)
        {
            if (_atLineStart)
            {
                if (_stuffDots && input[i] == (byte)'.') output[o++] = (byte)'.';
                _atLineStart = false;
            }
            var rest = input[i..];
            int lf = rest.IndexOf((byte)'\n');
            if (lf < 0)
            {
                rest.CopyTo(output[o..]);
                o += rest.Length;
                _prevCr = rest[^1] == (byte)'\r';
                break;
            }
            rest[..lf].CopyTo(output[o..]);
            o += lf;
            bool crBefore = lf > 0 ? rest[lf - 1] == (byte)'\r' : _prevCr;
            if (!crBefore) output[o++] = (byte)'\r';
            output[o++] = (byte)'\n';
            i += lf + 1;
            _atLineStart = true;
            _prevCr = false;
        }
        return o;
    }

    /// <summary>Writes the missing line end (if any) and <c>.CRLF</c>; returns the bytes written (3..5).</summary>
    public int Finish(Span<byte> output)
    {
        int o = FinishLine(output);
        output[o++] = (byte)'.';
        output[o++] = (byte)'\r';
        output[o++] = (byte)'\n';
        _atLineStart = true;
        _prevCr = false;
        return o;
    }

    /// <summary>Writes the missing final line end, if any (BDAT content has no terminating dot); returns 0..2.</summary>
    public int FinishLine(Span<byte> output)
    {
        int o = 0;
        if (!_atLineStart)
        {
            if (!_prevCr) output[o++] = (byte)'\r';
            output[o++] = (byte)'\n';
        }
        _atLineStart = true;
        _prevCr = false;
        return o;
    }
}

/// <summary>xtext encoding (RFC 3461 4): bytes outside "!".."~", and "+" and "=", become "+HH" (upper-case hex).</summary>
public static class Xtext
{
    /// <summary>Encodes the UTF-8 bytes of <paramref name="value"/>.</summary>
    public static string Encode(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= 33 and <= 126 && b != (byte)'+' && b != (byte)'=') sb.Append((char)b);
            else sb.Append('+').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }
}
