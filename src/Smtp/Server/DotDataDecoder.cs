// DotDataDecoder: the DATA content reader. Finds the end of data, removes dot-stuffing and enforces
// the size limit while reading, and flags bare CR / bare LF (the SMTP-smuggling class).
// RFC 5321 4.1.1.4 (DATA), 4.5.2 (transparency), 2.3.8 (lines end in CRLF); RFC 5321 4.5.3.1.
using System.Buffers;
using Mta.Smtp.Content;

namespace Mta.Smtp.Server;

/// <summary>What went wrong in a DATA or BDAT body, if anything. The transaction is discarded for any flag.</summary>
[Flags]
public enum ContentErrors
{
    /// <summary>Nothing wrong.</summary>
    None = 0,
    /// <summary>A LF not preceded by CR.</summary>
    BareLineFeed = 1,
    /// <summary>A CR not followed by LF.</summary>
    BareCarriageReturn = 2,
    /// <summary>More than the size limit; bytes past the limit were not stored.</summary>
    SizeExceeded = 4,
}

/// <summary>
/// Incremental decoder for a DATA body. Feed it bytes with <see cref="Decode"/> until it reports
/// completion; it consumes exactly up to and including the terminating <c>CRLF.CRLF</c> (the CRLF
/// that ended the DATA command counts as the first CRLF). Only <c>CR LF . CR LF</c> ends the body:
/// <c>LF . CR LF</c>, <c>LF . LF</c> and <c>CR . CR</c> are content and flag an error, so a message
/// can never end where a downstream with looser parsing would see an end (SMTP smuggling).
/// Content is written unstuffed, CRLF preserved, into a <see cref="MessageSpool"/>.
/// </summary>
public sealed class DotDataDecoder
{
    private enum State { LineStart, Mid, Cr, Dot, DotCr }

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;
    private readonly MessageSpool _sink;
    private readonly long _sizeLimit;
    private State _state = State.LineStart;

    /// <param name="sink">where unstuffed content goes.</param>
    /// <param name="sizeLimit">maximum content bytes (message_size_limit); 0 means no limit.</param>
    public DotDataDecoder(MessageSpool sink, long sizeLimit)
    {
        _sink = sink;
        _sizeLimit = sizeLimit <= 0 ? long.MaxValue : sizeLimit;
    }

    /// <summary>Errors seen so far.</summary>
    public ContentErrors Errors { get; private set; }

    /// <summary>Content bytes seen (including any past the size limit that were dropped).</summary>
    public long ContentLength { get; private set; }

    /// <summary>
    /// Decodes from <paramref name="reader"/>, advancing it past what was consumed. Returns true when
    /// the terminating line was consumed (the reader then stands right after it), false when more
    /// input is needed (everything available was consumed).
    /// </summary>
    public bool Decode(ref SequenceReader<byte> reader)
    {
        while (!reader.End)
        {
            var span = reader.UnreadSpan;
            int i = 0;
            while (i < span.Length)
            {
                byte b = span[i];
                switch (_state)
                {
                    case State.Mid:
                    {
                        int idx = span.Slice(i).IndexOfAny((byte)'\r', (byte)'\n');
                        if (idx < 0) { Emit(span.Slice(i)); i = span.Length; break; }
                        Emit(span.Slice(i, idx));
                        i += idx;
                        if (span[i] == '\r') { _state = State.Cr; }
                        else { Errors |= ContentErrors.BareLineFeed; Emit("\n"u8); }
                        i++;
                        break;
                    }
                    case State.Cr:
                        if (b == '\n') { Emit(CrLf); _state = State.LineStart; i++; }
                        else { Errors |= ContentErrors.BareCarriageReturn; Emit("\r"u8); _state = State.Mid; }
                        break;
                    case State.LineStart:
                        if (b == '.') { _state = State.Dot; i++; }
                        else _state = State.Mid;
                        break;
                    case State.Dot:
                        if (b == '\r') { _state = State.DotCr; i++; }
                        else _state = State.Mid; // transparency: the leading dot is dropped (RFC 5321 4.5.2)
                        break;
                    case State.DotCr:
                        if (b == '\n') { reader.Advance(i + 1); return true; }
                        Errors |= ContentErrors.BareCarriageReturn;
                        Emit("\r"u8);
                        _state = State.Mid;
                        break;
                }
            }
            reader.Advance(span.Length);
        }
        return false;
    }

    private void Emit(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty) return;
        long before = ContentLength;
        ContentLength += bytes.Length;
        if (ContentLength <= _sizeLimit) { _sink.Write(bytes); return; }
        Errors |= ContentErrors.SizeExceeded;
        if (before < _sizeLimit) _sink.Write(bytes.Slice(0, (int)(_sizeLimit - before)));
    }
}

/// <summary>
/// Tracks line endings across BDAT chunks (RFC 3030) so bare CR and bare LF are caught in BDAT
/// content too (a BDAT body relayed later with DATA must not smuggle). Not used for BODY=BINARYMIME.
/// </summary>
public sealed class LineEndingChecker
{
    private bool _pendingCr;

    /// <summary>Errors seen so far.</summary>
    public ContentErrors Errors { get; private set; }

    /// <summary>Checks the next bytes of content.</summary>
    public void Check(ReadOnlySpan<byte> data)
    {
        int i = 0;
        if (_pendingCr && data.Length > 0)
        {
            if (data[0] != '\n') Errors |= ContentErrors.BareCarriageReturn;
            _pendingCr = false;
            i = data[0] == '\n' ? 1 : 0;
        }
        while (i < data.Length)
        {
            int idx = data.Slice(i).IndexOfAny((byte)'\r', (byte)'\n');
            if (idx < 0) return;
            i += idx;
            if (data[i] == '\n') { Errors |= ContentErrors.BareLineFeed; i++; continue; }
            if (i + 1 == data.Length) { _pendingCr = true; return; }
            if (data[i + 1] != '\n') Errors |= ContentErrors.BareCarriageReturn;
            i += 2;
        }
    }

    /// <summary>Call at the LAST chunk: a CR at the very end is bare.</summary>
    public void Complete()
    {
        if (_pendingCr) Errors |= ContentErrors.BareCarriageReturn;
        _pendingCr = false;
    }
}
