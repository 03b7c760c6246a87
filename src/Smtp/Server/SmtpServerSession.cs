// SmtpServerSession: one server-side SMTP dialog over an ISmtpTransport. Owns the read loop (a single
// AdvanceTo per read), pipelining (replies are flushed when the input is drained, RFC 2920 3.1), the
// command/DATA/BDAT modes, limits, timeouts and the error counter. Meaning (accept or refuse) comes
// from ISmtpSessionHandler. Command handlers live in SmtpServerSession.Commands.cs, content in
// SmtpServerSession.Content.cs. RFC 5321 3, 4.1, 4.2, 4.5.3; RFC 3030; RFC 3207.
using System.Buffers;
using System.IO.Pipelines;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

/// <summary>
/// Runs one SMTP session to its end. Create one per connection and await <see cref="RunAsync"/>;
/// it never throws for client behaviour or I/O trouble: the outcome is in
/// <see cref="SmtpSessionContext.EndReason"/>.
/// </summary>
public sealed partial class SmtpServerSession
{
    private enum Mode { Command, Data, Bdat, SkipLongLine }

    private readonly ISmtpTransport _transport;
    private readonly ISmtpSessionHandler _handler;
    private readonly SmtpServerOptions _options;
    private readonly SmtpSessionContext _context;
    private readonly TimeProvider _time;
    private readonly CancellationToken _shutdown;
    private readonly CancellationToken _hardStop;
    private readonly SmtpParserOptions _parserOptions;
    private CancellationTokenSource _readCts;
    private SmtpSessionState _state = SmtpSessionState.Connected;
    private Mode _mode = Mode.Command;
    private bool _ended;
    private volatile bool _sessionExpired;
    private volatile bool _shutdownRequested;
    private bool _pendingOutput;
    private bool _greetingRefused;

    /// <param name="transport">the connection.</param>
    /// <param name="handler">the host's stage decisions.</param>
    /// <param name="options">limits and extensions.</param>
    /// <param name="context">the session facts (shared with the handler).</param>
    /// <param name="timeProvider">clock for all timeouts (tests pass a fake one).</param>
    /// <param name="shutdown">graceful stop: an idle session answers 421 and closes; a transaction in progress finishes first.</param>
    /// <param name="hardStop">forced stop: passed to handler work (delivery) so it can be abandoned.</param>
    public SmtpServerSession(ISmtpTransport transport, ISmtpSessionHandler handler, SmtpServerOptions options,
        SmtpSessionContext context, TimeProvider? timeProvider = null, CancellationToken shutdown = default, CancellationToken hardStop = default)
    {
        _transport = transport;
        _handler = handler;
        _options = options;
        _context = context;
        _time = timeProvider ?? TimeProvider.System;
        _shutdown = shutdown;
        _hardStop = hardStop;
        _parserOptions = new SmtpParserOptions { SmtpUtf8Enabled = options.SmtpUtf8 };
        _readCts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
    }

    /// <summary>Runs the dialog until QUIT, disconnect, timeout, error limit or shutdown.</summary>
    public async Task RunAsync()
    {
        using var sessionTimer = _time.CreateTimer(static s => ((SmtpServerSession)s!).ExpireSession(), this, _options.SessionTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            var refusal = await _handler.OnConnectAsync(_context, _hardStop).ConfigureAwait(false);
            if (refusal is { Code: 554 })
            {
                // RFC 5321 3.1: a 554 greeting keeps the connection; every command but QUIT gets 503.
                await SendAsync(refusal, flush: true).ConfigureAwait(false);
                _greetingRefused = true;
                await ReadLoopAsync().ConfigureAwait(false);
                return;
            }
            if (refusal != null)
            {
                await SendAsync(refusal, flush: true).ConfigureAwait(false);
                End(SessionEndReason.Refused);
                return;
            }
            await SendAsync(new SmtpReply(220, null, _options.Banner), flush: true).ConfigureAwait(false);
            await ReadLoopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_hardStop.IsCancellationRequested)
        {
            End(SessionEndReason.Shutdown);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            End(SessionEndReason.IoError);
        }
        finally
        {
            if (_context.EndReason == SessionEndReason.None) _context.EndReason = SessionEndReason.ClientClosed;
            AbortTransaction();
            _spool?.Dispose();
            _spool = null;
            _readCts.Dispose();
            _handler.OnDisconnected(_context);
        }
    }

    private void ExpireSession()
    {
        _sessionExpired = true;
        try { _readCts.Cancel(); } catch (ObjectDisposedException) { }
    }

    private async Task ReadLoopAsync()
    {
        while (!_ended)
        {
            var result = await ReadAsync().ConfigureAwait(false);
            if (result is null) return; // timeout or shutdown handled
            var buffer = result.Value.Buffer;
            var remaining = buffer; // the unconsumed part; only AdvanceTo below moves the pipe
            bool discardRest = false;
            bool needMore = false;
            while (!_ended && !needMore && !discardRest)
            {
                switch (_mode)
                {
                    case Mode.Command:
                        if (!TryReadLine(ref remaining, out var line, out bool tooLong))
                        {
                            if (remaining.Length >= _options.LineLengthLimit)
                            {
                                // No line end within the limit: refuse now, then skip to the next LF.
                                remaining = remaining.Slice(remaining.End);
                                await ReplyErrorAsync(new SmtpReply(500, "5.5.2", "Error: command line too long")).ConfigureAwait(false);
                                _mode = Mode.SkipLongLine;
                            }
                            needMore = true;
                            break;
                        }
                        if (tooLong)
                        {
                            await ReplyErrorAsync(new SmtpReply(500, "5.5.2", "Error: command line too long")).ConfigureAwait(false);
                            break;
                        }
                        discardRest = await ExecuteCommandLineAsync(line).ConfigureAwait(false);
                        break;
                    case Mode.SkipLongLine:
                        var lf = remaining.PositionOf((byte)'\n');
                        if (lf != null) { remaining = remaining.Slice(remaining.GetPosition(1, lf.Value)); _mode = Mode.Command; }
                        else { remaining = remaining.Slice(remaining.End); needMore = true; }
                        break;
                    case Mode.Data:
                        if (DecodeData(ref remaining)) await CompleteDataAsync().ConfigureAwait(false);
                        else needMore = true;
                        break;
                    case Mode.Bdat:
                        if (ReadChunk(ref remaining)) await CompleteChunkAsync().ConfigureAwait(false);
                        else needMore = true;
                        break;
                }
            }

            if (discardRest)
            {
                // STARTTLS: whatever the client pipelined in plaintext after the command is dropped (CVE-2011-0411 class).
                _transport.Input.AdvanceTo(buffer.End);
                await StartTlsAsync().ConfigureAwait(false);
                continue;
            }
            _transport.Input.AdvanceTo(remaining.Start, buffer.End);
            if (_pendingOutput && !_ended) await FlushAsync().ConfigureAwait(false);
            if (result.Value.IsCompleted && !_ended)
            {
                End(SessionEndReason.ClientClosed);
                return;
            }
        }
    }

    /// <summary>Reads with the command timeout; null when the session must end (timeout reply already sent).</summary>
    private async ValueTask<ReadResult?> ReadAsync()
    {
        bool idle = _state is SmtpSessionState.Connected or SmtpSessionState.Ready && _mode == Mode.Command;
        using var shutdownRegistration = idle ? _shutdown.UnsafeRegister(static s => ((SmtpServerSession)s!).RequestShutdown(), this) : default;
        if (_sessionExpired) { await EndWithAsync(SessionTimeoutReply(), SessionEndReason.SessionTimeout).ConfigureAwait(false); return null; }
        if (idle && _shutdown.IsCancellationRequested) RequestShutdown();
        _readCts.CancelAfter(_options.CommandTimeout);
        try
        {
            var result = await _transport.Input.ReadAsync(_readCts.Token).ConfigureAwait(false);
            if (!_readCts.TryReset()) ReplaceReadCts();
            return result;
        }
        catch (OperationCanceledException)
        {
            ReplaceReadCts();
            if (_sessionExpired) await EndWithAsync(SessionTimeoutReply(), SessionEndReason.SessionTimeout).ConfigureAwait(false);
            else if (_shutdownRequested) await EndWithAsync(new SmtpReply(421, "4.3.2", $"{_options.HostName} Service shutting down, closing transmission channel"), SessionEndReason.Shutdown).ConfigureAwait(false);
            else await EndWithAsync(new SmtpReply(421, "4.4.2", $"{_options.HostName} Error: timeout exceeded"), SessionEndReason.CommandTimeout).ConfigureAwait(false);
            return null;
        }
    }

    private bool DecodeData(ref ReadOnlySequence<byte> remaining)
    {
        var reader = new SequenceReader<byte>(remaining);
        bool done = _dataDecoder!.Decode(ref reader);
        remaining = remaining.Slice(reader.Position);
        return done;
    }

    private SmtpReply SessionTimeoutReply() => new(421, "4.4.2", $"{_options.HostName} Error: session time limit exceeded");

    private void RequestShutdown()
    {
        _shutdownRequested = true;
        try { _readCts.Cancel(); } catch (ObjectDisposedException) { }
    }

    private void ReplaceReadCts()
    {
        _readCts.Dispose();
        _readCts = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        if (_sessionExpired) _readCts.Cancel();
    }

    /// <summary>
    /// Takes one line ending in LF (an optional CR before it is removed). <paramref name="tooLong"/> is set
    /// when the line exceeds the limit; it is consumed either way.
    /// </summary>
    private bool TryReadLine(ref ReadOnlySequence<byte> remaining, out ReadOnlySequence<byte> line, out bool tooLong)
    {
        tooLong = false;
        var reader = new SequenceReader<byte>(remaining);
        if (!reader.TryReadTo(out line, (byte)'\n')) return false;
        remaining = remaining.Slice(reader.Position);
        if (line.Length + 1 > _options.LineLengthLimit) tooLong = true;
        if (line.Length > 0)
        {
            var last = line.Slice(line.Length - 1);
            if (last.FirstSpan[0] == '\r') line = line.Slice(0, line.Length - 1);
        }
        return true;
    }

    private async Task SendAsync(SmtpReply reply, bool flush)
    {
        reply.WriteTo(_transport.Output);
        _pendingOutput = true;
        if (flush) await FlushAsync().ConfigureAwait(false);
    }

    private async Task FlushAsync()
    {
        _pendingOutput = false;
        using var cts = new CancellationTokenSource(_options.CommandTimeout, _time);
        try
        {
            var r = await _transport.Output.FlushAsync(cts.Token).ConfigureAwait(false);
            if (r.IsCompleted) End(SessionEndReason.ClientClosed);
        }
        catch (OperationCanceledException)
        {
            End(SessionEndReason.CommandTimeout);
        }
    }

    /// <summary>Sends a reply; a 4xx/5xx counts toward the error limits (smtpd_soft/hard_error_limit).</summary>
    private async Task ReplyAsync(SmtpReply reply)
    {
        if (reply.Code >= 400) { await ReplyErrorAsync(reply).ConfigureAwait(false); return; }
        await SendAsync(reply, flush: false).ConfigureAwait(false);
    }

    private async Task ReplyErrorAsync(SmtpReply reply)
    {
        _context.ErrorCount++;
        if (_context.ErrorCount >= _options.HardErrorLimit)
        {
            await SendAsync(reply, flush: false).ConfigureAwait(false);
            await EndWithAsync(new SmtpReply(421, "4.7.0", $"{_options.HostName} Error: too many errors"), SessionEndReason.TooManyErrors).ConfigureAwait(false);
            return;
        }
        if (_context.ErrorCount > _options.SoftErrorLimit && _options.ErrorSleepTime > TimeSpan.Zero)
        {
            await FlushAsync().ConfigureAwait(false);
            await Task.Delay(_options.ErrorSleepTime, _time).ConfigureAwait(false);
        }
        await SendAsync(reply, flush: false).ConfigureAwait(false);
        if (reply.Code is 421 or 521) { await FlushAsync().ConfigureAwait(false); End(SessionEndReason.Refused); }
    }

    private async Task EndWithAsync(SmtpReply reply, SessionEndReason reason)
    {
        if (_ended) return;
        try { await SendAsync(reply, flush: true).ConfigureAwait(false); }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
        End(reason);
    }

    private void End(SessionEndReason reason)
    {
        if (_ended) return;
        _ended = true;
        _context.EndReason = reason;
    }

    private void Count(string verb, bool ok)
    {
        _context.CommandCounts.TryGetValue(verb, out var c);
        _context.CommandCounts[verb] = (c.Ok + (ok ? 1 : 0), c.Total + 1);
    }

    private void AbortTransaction()
    {
        if (_context.Transaction != null)
        {
            _context.Transaction = null;
            _handler.OnTransactionAborted(_context);
        }
        _spool?.Dispose();
        _spool = null;
        _dataDecoder = null;
        _lineChecker = null;
    }
}
