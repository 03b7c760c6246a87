// SmtpReplyReader: the framing half of the SMTP/LMTP client — reads CRLF lines from a Stream and
// assembles them into SmtpReply values. Nothing here writes or knows about commands.
// RFC 5321 4.2 and 4.2.1 (reply-line syntax, multi-line replies "ddd-" ... "ddd "), RFC 2034 / RFC 3463
// (enhanced status codes at the start of each text line), RFC 2033 4.2 (LMTP uses the same syntax).
using System.Text;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Client;

/// <summary>
/// Reads SMTP replies from a stream, tolerating any segmentation (one byte at a time included).
/// A line ends at LF; a CR before it is dropped. All lines of a multi-line reply must carry the same
/// code. The enhanced status code (<c>class.subject.detail</c>, class equal to the reply's first digit)
/// is taken from the first line and stripped from every line that starts with it.
/// </summary>
/// <remarks>Not thread-safe; one reader per connection. Text is decoded as UTF-8 (RFC 6531 servers).</remarks>
public sealed class SmtpReplyReader
{
    private Stream _stream;
    private readonly int _maxLineLength;
    private readonly int _maxLines;
    private byte[] _buffer;
    private int _start;
    private int _end;

    /// <summary>Creates a reader over <paramref name="stream"/>.</summary>
    /// <param name="stream">the connection; read only.</param>
    /// <param name="maxLineLength">longest accepted reply line in bytes, CRLF included (RFC 5321 4.5.3.1.5 requires 512); longer is malformed.</param>
    /// <param name="maxLines">most lines in one multi-line reply; more is malformed.</param>
    public SmtpReplyReader(Stream stream, int maxLineLength = 4096, int maxLines = 1000)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (maxLineLength < 8) throw new ArgumentOutOfRangeException(nameof(maxLineLength));
        _stream = stream;
        _maxLineLength = maxLineLength;
        _maxLines = maxLines;
        _buffer = new byte[Math.Min(maxLineLength, 4096)];
    }

    /// <summary>
    /// True once the server announced ENHANCEDSTATUSCODES (RFC 2034). Detection is by syntax either way
    /// (a status code whose class matches the reply code at the start of the first line); when this is
    /// set a status code is also taken from a later line if the first carries none.
    /// </summary>
    public bool EnhancedStatusCodes { get; set; }

    /// <summary>Bytes received but not yet consumed (must be 0 when switching to TLS, RFC 3207 6).</summary>
    public int BufferedByteCount => _end - _start;

    /// <summary>Continues on another stream (after a TLS handshake).</summary>
    /// <exception cref="InvalidOperationException">bytes are still buffered from the old stream.</exception>
    public void ReplaceStream(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (BufferedByteCount != 0) throw new InvalidOperationException("unread bytes remain from the previous stream");
        _stream = stream;
    }

    /// <summary>Reads one complete reply (all its lines).</summary>
    /// <param name="stage">dialog stage, reported in exceptions.</param>
    /// <param name="cancellationToken">cancels the read (the caller's timeout or deadline).</param>
    /// <returns>the reply; any code 200..599, including refusals.</returns>
    /// <exception cref="SmtpProtocolException">end of stream or I/O error (<see cref="SmtpProtocolError.ConnectionLost"/>),
    /// or a line that is not a reply line, too long, or a code change inside a multi-line reply (<see cref="SmtpProtocolError.Malformed"/>).</exception>
    /// <exception cref="OperationCanceledException">the token fired.</exception>
    public async ValueTask<SmtpReply> ReadReplyAsync(SmtpClientStage stage, CancellationToken cancellationToken)
    {
        int code = 0;
        string? status = null;
        var lines = new List<string>(1);
        while (true)
        {
            var line = await ReadLineAsync(stage, cancellationToken).ConfigureAwait(false);
            var (lineCode, last, text) = ParseLine(line, stage);
            if (lines.Count == 0) code = lineCode;
            else if (lineCode != code)
                throw new SmtpProtocolException(SmtpProtocolError.Malformed, stage, $"reply code changed from {code} to {lineCode} inside a multi-line reply");
            var lineStatus = StatusPrefix(text, code);
            if (lineStatus != null && (lines.Count == 0 || EnhancedStatusCodes || lineStatus == status))
            {
                status ??= lineStatus;
                text = text.Length > lineStatus.Length ? text[(lineStatus.Length + 1)..] : "";
            }
            lines.Add(text);
            if (last) break;
            if (lines.Count >= _maxLines)
                throw new SmtpProtocolException(SmtpProtocolError.Malformed, stage, $"multi-line reply longer than {_maxLines} lines");
        }
        return new SmtpReply(code, status, [.. lines]);
    }

    private static (int Code, bool Last, string Text) ParseLine(ReadOnlySpan<byte> line, SmtpClientStage stage)
    {
        if (line.Length < 3 || !IsDigit(line[0]) || !IsDigit(line[1]) || !IsDigit(line[2]) || (line.Length > 3 && line[3] is not (byte)' ' and not (byte)'-'))
            throw new SmtpProtocolException(SmtpProtocolError.Malformed, stage, "malformed reply line: " + Printable(line));
        int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        if (code is < 200 or > 599)
            throw new SmtpProtocolException(SmtpProtocolError.Malformed, stage, $"reply code {code} outside 200..599");
        bool last = line.Length == 3 || line[3] == (byte)' ';
        string text = line.Length > 4 ? Encoding.UTF8.GetString(line[4..]) : "";
        if (text.Contains('\r')) text = text.Replace('\r', ' ');
        return (code, last, text);
    }

    /// <summary>The enhanced status code at the start of <paramref name="text"/> when its class is the reply's first digit.</summary>
    private static string? StatusPrefix(string text, int code)
    {
        // class "." subject "." detail, subject and detail 1..3 digits, then SP or end (RFC 3463 2).
        if (text.Length < 5 || text[0] - '0' != code / 100 || text[1] != '.') return null;
        int i = 2, n = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]) && n < 3) { i++; n++; }
        if (n == 0 || i >= text.Length || text[i] != '.') return null;
        i++; n = 0;
        while (i < text.Length && char.IsAsciiDigit(text[i]) && n < 3) { i++; n++; }
        if (n == 0 || (i < text.Length && text[i] != ' ')) return null;
        return text[..i];
    }

    private async ValueTask<byte[]> ReadLineAsync(SmtpClientStage stage, CancellationToken cancellationToken)
    {
        int scanned = 0;
        while (true)
        {
            int lf = _buffer.AsSpan(_start + scanned, _end - _start - scanned).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                int len = scanned + lf;
                int textLen = len > 0 && _buffer[_start + len - 1] == (byte)'\r' ? len - 1 : len;
                var line = _buffer.AsSpan(_start, textLen).ToArray();
                _start += len + 1;
                if (_start == _end) _start = _end = 0;
                return line;
            }
            scanned = _end - _start;
            if (scanned >= _maxLineLength)
                throw new SmtpProtocolException(SmtpProtocolError.Malformed, stage, $"reply line longer than {_maxLineLength} bytes");
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, scanned);
                _start = 0;
                _end = scanned;
            }
            if (_end == _buffer.Length) Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, _maxLineLength + 1));
            int n;
            try
            {
                n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new SmtpProtocolException(SmtpProtocolError.ConnectionLost, stage, e.Message, e);
            }
            catch (ObjectDisposedException e)
            {
                throw new SmtpProtocolException(SmtpProtocolError.ConnectionLost, stage, "connection closed", e);
            }
            if (n == 0)
                throw new SmtpProtocolException(SmtpProtocolError.ConnectionLost, stage,
                    _end > _start ? "connection closed by peer in the middle of a reply line" : "connection closed by peer");
            _end += n;
        }
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    private static string Printable(ReadOnlySpan<byte> line)
    {
        var s = Encoding.UTF8.GetString(line.Length > 80 ? line[..80] : line);
        var sb = new StringBuilder(s.Length);
        foreach (var c in s) sb.Append(c < 0x20 || c == 0x7f ? '?' : c);
        return sb.ToString();
    }
}
