// SmtpServerSession.Content: DATA and BDAT — spooling the content with the size limit enforced while
// reading, rejecting bare CR/LF, and handing a complete message to the handler.
// RFC 5321 4.1.1.4, 4.5.2; RFC 3030 2-4 (BDAT chunks, replies per chunk); RFC 1870 (SIZE).
using System.Buffers;
using System.Globalization;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

public sealed partial class SmtpServerSession
{
    private MessageSpool? _spool;
    private DotDataDecoder? _dataDecoder;
    private LineEndingChecker? _lineChecker;
    private long _chunkRemaining;
    private bool _chunkLast;
    private SmtpReply? _chunkRefusal;
    private long _bdatTotal;

    private static readonly SmtpReply SizeExceeded = new(552, "5.3.4", "Message size exceeds fixed limit");

    private MessageSpool NewSpool() => new(_options.SpoolMemoryLimit, _options.SpoolDirectory);

    private async ValueTask<SmtpReply> DataAsync()
    {
        var refusal = await _handler.OnDataAsync(_context, _hardStop).ConfigureAwait(false);
        if (refusal != null) return refusal;
        _spool = NewSpool();
        _dataDecoder = new DotDataDecoder(_spool, _options.MessageSizeLimit);
        _mode = Mode.Data;
        return new SmtpReply(354, null, "End data with <CR><LF>.<CR><LF>");
    }

    private async Task CompleteDataAsync()
    {
        _mode = Mode.Command;
        var errors = _dataDecoder!.Errors;
        _dataDecoder = null;
        await FinishMessageAsync(errors, "data").ConfigureAwait(false);
    }

    private static SmtpReply? ContentErrorReply(ContentErrors errors) =>
        errors.HasFlag(ContentErrors.SizeExceeded) ? SizeExceeded
        : errors.HasFlag(ContentErrors.BareLineFeed) ? new SmtpReply(554, "5.5.2", "Error: bare <LF> received; lines must end with <CR><LF>")
        : errors.HasFlag(ContentErrors.BareCarriageReturn) ? new SmtpReply(554, "5.5.2", "Error: bare <CR> received; lines must end with <CR><LF>")
        : null;

    private async Task FinishMessageAsync(ContentErrors errors, string verb)
    {
        var tx = _context.Transaction!;
        var spool = _spool!;
        _spool = null;
        SmtpReply reply;
        if (ContentErrorReply(errors) is { } contentError)
        {
            spool.Dispose();
            reply = contentError;
            _context.Transaction = null;
            _handler.OnTransactionAborted(_context);
        }
        else
        {
            spool.Flush();
            _context.Transaction = null;
            reply = await _handler.OnMessageAsync(_context, tx, spool, _hardStop).ConfigureAwait(false);
        }
        _state = SmtpSessionState.Ready;
        _context.Xforward.Clear(); // XFORWARD_README: the attributes apply to one transaction
        Count(verb, reply.Code < 400);
        await ReplyAsync(reply).ConfigureAwait(false);
    }

    private async ValueTask<SmtpReply> BdatAsync(SmtpCommand cmd)
    {
        if (_state != SmtpSessionState.Chunking)
        {
            var refusal = await _handler.OnDataAsync(_context, _hardStop).ConfigureAwait(false);
            if (refusal != null) { BeginDiscardChunk(cmd, refusal); return refusal; }
            _spool = NewSpool();
            _lineChecker = _context.Transaction!.Parameters.Body == Envelope.BodyType.BinaryMime ? null : new LineEndingChecker();
            _bdatTotal = 0;
        }
        _chunkRemaining = cmd.ChunkSize;
        _chunkLast = cmd.IsLastChunk;
        _chunkRefusal = null;
        _bdatTotal += cmd.ChunkSize;
        _mode = Mode.Bdat;
        return Ok; // not sent: the reply follows the chunk
    }

    /// <summary>A BDAT that is refused still carries its chunk: read and drop it, then send <paramref name="reply"/> (RFC 3030 3).</summary>
    private void BeginDiscardChunk(SmtpCommand cmd, SmtpReply reply)
    {
        _chunkRemaining = cmd.ChunkSize;
        _chunkLast = cmd.IsLastChunk;
        _chunkRefusal = reply;
        _mode = Mode.Bdat;
    }

    /// <summary>Consumes chunk bytes; true when the chunk is complete.</summary>
    private bool ReadChunk(ref ReadOnlySequence<byte> remaining)
    {
        var reader = new SequenceReader<byte>(remaining);
        while (_chunkRemaining > 0 && !reader.End)
        {
            var span = reader.UnreadSpan;
            int n = (int)Math.Min(span.Length, _chunkRemaining);
            if (_chunkRefusal == null && _spool != null)
            {
                var part = span[..n];
                _lineChecker?.Check(part);
                if (_options.MessageSizeLimit <= 0 || _spool.Length + n <= _options.MessageSizeLimit) _spool.Write(part);
                else _chunkRefusal = SizeExceeded;
            }
            reader.Advance(n);
            _chunkRemaining -= n;
        }
        remaining = remaining.Slice(reader.Position);
        return _chunkRemaining == 0;
    }

    private async Task CompleteChunkAsync()
    {
        _mode = Mode.Command;
        if (_chunkRefusal is { } refusal)
        {
            // RFC 3030 2: after a failed chunk the transaction is over; later BDATs get 503.
            _chunkRefusal = null;
            if (_spool != null)
            {
                AbortTransaction();
                _state = SmtpSessionState.Ready;
            }
            Count("bdat", ok: false);
            await ReplyAsync(refusal).ConfigureAwait(false);
            return;
        }
        if (!_chunkLast)
        {
            _state = SmtpSessionState.Chunking;
            Count("bdat", ok: true);
            await ReplyAsync(new SmtpReply(250, "2.0.0", $"Ok: {_bdatTotal.ToString(CultureInfo.InvariantCulture)} bytes")).ConfigureAwait(false);
            return;
        }
        var checker = _lineChecker;
        _lineChecker = null;
        checker?.Complete();
        await FinishMessageAsync(checker?.Errors ?? ContentErrors.None, "bdat").ConfigureAwait(false);
    }
}
