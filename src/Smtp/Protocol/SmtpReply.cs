// SmtpReply: an SMTP reply as a value (code, enhanced status code, text lines) and its wire form.
// RFC 5321 4.2 (reply syntax, multi-line replies), RFC 2034 / RFC 3463 (enhanced status codes).
using System.Buffers;
using System.Text;

namespace Mta.Smtp.Protocol;

/// <summary>
/// One SMTP reply: a three-digit <see cref="Code"/>, an optional enhanced status code
/// (<c>class.subject.detail</c>, RFC 3463) and one or more text lines. Rejections are values of this
/// type, never exceptions.
/// </summary>
public sealed class SmtpReply : IEquatable<SmtpReply>
{
    /// <summary>Creates a reply. <paramref name="code"/> must be 200..599; <paramref name="lines"/> must not contain CR or LF.</summary>
    /// <exception cref="ArgumentException">code out of range, or a line holds CR/LF.</exception>
    public SmtpReply(int code, string? enhancedStatus, params string[] lines)
    {
        if (code is < 200 or > 599) throw new ArgumentException($"SMTP reply code {code} is outside 200..599", nameof(code));
        foreach (var l in lines)
            if (l.AsSpan().IndexOfAny('\r', '\n') >= 0) throw new ArgumentException("reply text must not contain CR or LF", nameof(lines));
        Code = code;
        EnhancedStatus = string.IsNullOrEmpty(enhancedStatus) ? null : enhancedStatus;
        Lines = lines.Length == 0 ? [""] : lines;
    }

    /// <summary>The three-digit reply code (RFC 5321 4.2.1).</summary>
    public int Code { get; }
    /// <summary>The enhanced status code such as <c>5.1.1</c>, or null when the reply carries none.</summary>
    public string? EnhancedStatus { get; }
    /// <summary>The text lines, without code, status code or CRLF; at least one.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>2xx.</summary>
    public bool IsPositive => Code < 300;
    /// <summary>3xx (intermediate, e.g. 354 after DATA).</summary>
    public bool IsIntermediate => Code is >= 300 and < 400;
    /// <summary>4xx: a temporary failure.</summary>
    public bool IsTransient => Code is >= 400 and < 500;
    /// <summary>5xx: a permanent failure.</summary>
    public bool IsPermanent => Code >= 500;
    /// <summary>The text of all lines joined with a space, as used in log lines.</summary>
    public string Text => Lines.Count == 1 ? Lines[0] : string.Join(' ', Lines);

    /// <summary>Writes the wire form (see <see cref="ToWireString"/>) as UTF-8.</summary>
    public void WriteTo(IBufferWriter<byte> writer) => Encoding.UTF8.GetBytes(ToWireString(), writer);

    /// <summary>The wire form as a string, CRLF-terminated lines (RFC 5321 4.2.1).</summary>
    public string ToWireString()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < Lines.Count; i++)
        {
            sb.Append(Code).Append(i == Lines.Count - 1 ? ' ' : '-');
            if (EnhancedStatus != null) { sb.Append(EnhancedStatus); if (Lines[i].Length > 0) sb.Append(' '); }
            sb.Append(Lines[i]).Append("\r\n");
        }
        return sb.ToString();
    }

    /// <summary>One-line form for logs: <c>550 5.1.1 text</c>.</summary>
    public override string ToString() => EnhancedStatus is null ? $"{Code} {Text}" : $"{Code} {EnhancedStatus} {Text}";

    public bool Equals(SmtpReply? other) =>
        other is not null && other.Code == Code && other.EnhancedStatus == EnhancedStatus && other.Lines.SequenceEqual(Lines);
    public override bool Equals(object? obj) => Equals(obj as SmtpReply);
    public override int GetHashCode() => HashCode.Combine(Code, EnhancedStatus, Lines.Count > 0 ? Lines[0] : null);
}

