// SmtpClientSession: the command half of the SMTP/LMTP client over any Stream — greeting, EHLO/HELO/LHLO,
// STARTTLS through a host-supplied TLS callback, one mail transaction (MAIL, RCPTs, DATA, content, end
// of data, or one BDAT LAST when CHUNKING is offered: RFC 3030), RSET and QUIT. Refusals are SmtpReply values; broken dialogs are SmtpProtocolException.
// RFC 5321 3.3 (transaction), 4.1.1 (commands), 4.5.2 (transparency), 4.5.3.2 (timeouts), 3.2 + 4.1.4
// (HELO fallback); RFC 2920 (PIPELINING: MAIL, RCPTs and DATA in one write), RFC 3207 (STARTTLS, no data
// buffered across the switch), RFC 1870 (SIZE), RFC 6152 (BODY=8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461
// (RET, ENVID, NOTIFY, ORCPT in xtext), RFC 2033 4.1-4.2 (LHLO; one reply per accepted recipient).
using System.Text;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Client;

/// <summary>
/// One client connection. Call in order: <see cref="ConnectAsync"/>, <see cref="HelloAsync"/>, optionally
/// <see cref="StartTlsAsync"/>, then <see cref="SendAsync"/> (again after <see cref="ResetAsync"/> or a
/// completed transaction), then <see cref="QuitAsync"/>. Every method that reads a reply returns it,
/// refusals included; exceptions mean the connection is unusable. Takes ownership of the stream.
/// </summary>
public sealed class SmtpClientSession : IAsyncDisposable
{
    private Stream _stream;
    private readonly SmtpReplyReader _reader;
    private readonly SmtpClientOptions _options;
    private bool _broken;

    /// <summary>Creates a session over a connected stream (TCP, UNIX socket or in-memory).</summary>
    public SmtpClientSession(Stream stream, SmtpClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        _stream = stream;
        _options = options;
        _reader = new SmtpReplyReader(stream);
    }

    /// <summary>The greeting read by <see cref="ConnectAsync"/>, or null before.</summary>
    public SmtpReply? Greeting { get; private set; }

    /// <summary>What the last positive EHLO/LHLO announced; <see cref="SmtpCapabilities.None"/> after HELO.</summary>
    public SmtpCapabilities Capabilities { get; private set; } = SmtpCapabilities.None;

    /// <summary>True after a successful STARTTLS handshake.</summary>
    public bool IsTls { get; private set; }

    /// <summary>True after EHLO was refused and HELO was used instead (SMTP only).</summary>
    public bool UsedHelo { get; private set; }

    /// <summary>True once the connection is unusable (an exception, QUIT, an LMTP transaction whose reply count is unknown, or disposal).</summary>
    public bool IsBroken => _broken;

    /// <summary>True after the last <see cref="SendAsync"/> ended with a refused <c>BDAT LAST</c>: servers differ on whether
    /// that ends the transaction (Postfix resets, others keep MAIL and RCPT), so send RSET before reusing the session.</summary>
    public bool TransactionMayBeOpen { get; private set; }

    /// <summary>True when reply bytes were received that no command asked for yet (a reused connection must not carry any).</summary>
    public bool HasUnreadInput => _reader.BufferedByteCount != 0;

    /// <summary>The reply to MAIL FROM of the last <see cref="SendAsync"/>, or null when it was not read (not sent, or the
    /// connection failed first). Lets a caller that reused a cached connection tell "the server was closing" (421 or no
    /// reply) from a refusal of this transaction.</summary>
    public SmtpReply? LastMailReply { get; private set; }

    /// <summary>The stage of the last command issued (a breadcrumb for logs and "why did it end").</summary>
    public SmtpClientStage Stage { get; private set; } = SmtpClientStage.Greeting;

    /// <summary>Reads the server greeting (RFC 5321 4.3.1, 3.1) within the HELO timeout.</summary>
    /// <returns>the greeting; 220 is positive, 4xx/5xx mean the server refuses this session.</returns>
    /// <exception cref="SmtpProtocolException">EOF, malformed reply or timeout.</exception>
    /// <exception cref="OperationCanceledException">the caller's token fired.</exception>
    public async Task<SmtpReply> ConnectAsync(CancellationToken cancellationToken)
    {
        Stage = SmtpClientStage.Greeting;
        Greeting = await ReadAsync(SmtpClientStage.Greeting, _options.HeloTimeout, cancellationToken).ConfigureAwait(false);
        return Greeting;
    }

    /// <summary>
    /// Sends EHLO (LHLO for LMTP) and records the capabilities. For SMTP, when EHLO gets a 5xx the session
    /// sends HELO (RFC 5321 4.1.4) and <see cref="Capabilities"/> is empty.
    /// </summary>
    /// <returns>the reply that ended the handshake (positive on success).</returns>
    /// <exception cref="SmtpProtocolException">I/O failure, malformed reply or timeout.</exception>
    public async Task<SmtpReply> HelloAsync(CancellationToken cancellationToken)
    {
        Stage = SmtpClientStage.Hello;
        bool lmtp = _options.Protocol == SmtpClientProtocol.Lmtp;
        await WriteCommandAsync((lmtp ? "LHLO " : "EHLO ") + _options.HeloName, SmtpClientStage.Hello, _options.HeloTimeout, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(SmtpClientStage.Hello, _options.HeloTimeout, cancellationToken).ConfigureAwait(false);
        UsedHelo = false;
        if (!lmtp && reply.IsPermanent)
        {
            await WriteCommandAsync("HELO " + _options.HeloName, SmtpClientStage.Hello, _options.HeloTimeout, cancellationToken).ConfigureAwait(false);
            reply = await ReadAsync(SmtpClientStage.Hello, _options.HeloTimeout, cancellationToken).ConfigureAwait(false);
            UsedHelo = true;
            Capabilities = SmtpCapabilities.None;
        }
        else
        {
            Capabilities = SmtpCapabilities.Parse(reply);
        }
        _reader.EnhancedStatusCodes = Capabilities.Supports(SmtpExtensions.EnhancedStatusCodes);
        return reply;
    }

    /// <summary>
    /// Sends STARTTLS (RFC 3207). On 220, hands the stream to <paramref name="upgrade"/> (which performs the
    /// handshake and returns the encrypted stream), then repeats EHLO/LHLO over TLS (RFC 3207 4.2: all
    /// knowledge from before is discarded).
    /// </summary>
    /// <param name="upgrade">the host's TLS handshake: (plain stream, token) → encrypted stream. Runs under the command timeout.</param>
    /// <param name="cancellationToken">the caller's deadline.</param>
    /// <returns>the STARTTLS reply when it is not 220 (the session stays plaintext and usable);
    /// otherwise the reply to the EHLO/LHLO sent over TLS.</returns>
    /// <exception cref="SmtpProtocolException"><see cref="SmtpProtocolError.TlsHandshakeFailed"/> when the callback throws
    /// (the connection is unusable; reconnect for a plaintext fallback); other kinds as for <see cref="HelloAsync"/>;
    /// <see cref="SmtpProtocolError.Malformed"/> when the server sent bytes after its 220 (STARTTLS command injection).</exception>
    public async Task<SmtpReply> StartTlsAsync(Func<Stream, CancellationToken, Task<Stream>> upgrade, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(upgrade);
        Stage = SmtpClientStage.StartTls;
        await WriteCommandAsync("STARTTLS", SmtpClientStage.StartTls, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        var reply = await ReadAsync(SmtpClientStage.StartTls, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (reply.Code != 220) return reply;
        if (_reader.BufferedByteCount != 0)
            throw Broken(new SmtpProtocolException(SmtpProtocolError.Malformed, SmtpClientStage.StartTls, "server sent data after its STARTTLS reply (plaintext injection)"));
        Stage = SmtpClientStage.TlsHandshake;
        Stream tls;
        using (var cts = Timeout(_options.CommandTimeout, cancellationToken))
        {
            try
            {
                tls = await upgrade(_stream, cts.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                bool timedOut = e is OperationCanceledException;
                throw Broken(new SmtpProtocolException(timedOut ? SmtpProtocolError.Timeout : SmtpProtocolError.TlsHandshakeFailed,
                    SmtpClientStage.TlsHandshake, timedOut ? "TLS handshake timed out" : "TLS handshake failed: " + e.Message, e));
            }
        }
        _stream = tls;
        _reader.ReplaceStream(tls);
        IsTls = true;
        Capabilities = SmtpCapabilities.None;
        return await HelloAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one mail transaction and returns one reply per recipient. With CHUNKING and PIPELINING, a message
    /// up to <see cref="SmtpClientOptions.ChunkingSizeLimit"/> goes as MAIL, every RCPT and <c>BDAT n LAST</c>
    /// with the content in one write (RFC 3030). Otherwise, with PIPELINING, MAIL, every RCPT
    /// and DATA go out in one write (RFC 2920 3.1); without, each waits for its reply. The content is
    /// read from <paramref name="content"/> in buffers, dot-stuffed, bare LF turned into CRLF, a final
    /// CRLF added when missing, and terminated by <c>.</c> (RFC 5321 4.5.2). For LMTP one reply per
    /// recipient accepted at RCPT is read after the dot (RFC 2033 4.2).
    /// Does not send MAIL when the message needs SMTPUTF8 (a non-ASCII address) and the server lacks it
    /// (<c>553 5.6.7</c>), or when the size exceeds the server's SIZE (<c>552 5.3.4</c>); those replies are synthesized.
    /// </summary>
    /// <param name="transaction">sender, parameters, recipients (at least one), size in bytes.</param>
    /// <param name="content">the message (headers, blank line, body; CRLF lines; not dot-stuffed); read once, not disposed.</param>
    /// <param name="cancellationToken">the caller's deadline.</param>
    /// <returns>per-recipient replies; the transaction is finished and the session usable again after RSET
    /// (or directly when the final reply was read).</returns>
    /// <exception cref="SmtpProtocolException">I/O failure, malformed reply or timeout; <see cref="SmtpProtocolException.RecipientReplies"/> holds what was decided.</exception>
    /// <exception cref="SmtpTransactionCanceledException">the caller's token fired mid-transaction.</exception>
    /// <exception cref="IOException">reading <paramref name="content"/> failed (a local error; the connection is unusable).</exception>
    public async Task<SmtpTransactionResult> SendAsync(SmtpTransaction transaction, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        ArgumentNullException.ThrowIfNull(content);
        if (transaction.Recipients.Count == 0) throw new ArgumentException("a transaction needs at least one recipient", nameof(transaction));
        if (_broken) throw new InvalidOperationException("the session is broken; reconnect");
        LastMailReply = null;
        TransactionMayBeOpen = false;
        int n = transaction.Recipients.Count;
        var decided = new SmtpRecipientReply?[n];

        var refusal = CheckBeforeMail(transaction);
        if (refusal != null)
            return new SmtpTransactionResult(null, Enumerable.Repeat(new SmtpRecipientReply(refusal, SmtpClientStage.MailFrom), n).ToArray());

        bool lmtp = _options.Protocol == SmtpClientProtocol.Lmtp;
        ReadOnlyMemory<byte> head = default;
        byte[]? headBuffer = null;
        if (!lmtp && _options.ChunkingSizeLimit > 0 && Capabilities.Supports(SmtpExtensions.Chunking) && Capabilities.Supports(SmtpExtensions.Pipelining)
            && !(transaction.Size > _options.ChunkingSizeLimit))
        {
            // Read up to the limit before sending anything: a message that fits goes as one BDAT LAST.
            headBuffer = System.Buffers.ArrayPool<byte>.Shared.Rent(_options.ChunkingSizeLimit + 1);
            int got = 0, r;
            while (got < _options.ChunkingSizeLimit + 1
                   && (r = await content.ReadAsync(headBuffer.AsMemory(got, _options.ChunkingSizeLimit + 1 - got), cancellationToken).ConfigureAwait(false)) > 0)
                got += r;
            head = headBuffer.AsMemory(0, got);
        }
        try
        {
            string mail = BuildMail(transaction);
            var rcpts = transaction.Recipients.Select(BuildRcpt).ToArray();
            if (headBuffer != null && head.Length <= _options.ChunkingSizeLimit)
                return await SendOneChunkAsync(mail, rcpts, head, decided, cancellationToken).ConfigureAwait(false);
            SmtpReply mailReply;
            var rcptReplies = new SmtpReply?[n];
            SmtpReply? dataReply = null;
            if (Capabilities.Supports(SmtpExtensions.Pipelining))
            {
                var sb = new StringBuilder(mail.Length + 2 + rcpts.Sum(r => r.Length + 2) + 6);
                sb.Append(mail).Append("\r\n");
                foreach (var r in rcpts) sb.Append(r).Append("\r\n");
                sb.Append("DATA\r\n");
                Stage = SmtpClientStage.MailFrom;
                await WriteAsync(Encoding.UTF8.GetBytes(sb.ToString()), SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                mailReply = await ReadAsync(SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                LastMailReply = mailReply;
                Stage = SmtpClientStage.RcptTo;
                for (int i = 0; i < n; i++)
                {
                    rcptReplies[i] = await ReadAsync(SmtpClientStage.RcptTo, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                    if (mailReply.IsPositive && !rcptReplies[i]!.IsPositive) decided[i] = new(rcptReplies[i]!, SmtpClientStage.RcptTo);
                }
                Stage = SmtpClientStage.Data;
                dataReply = await ReadAsync(SmtpClientStage.Data, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                Stage = SmtpClientStage.MailFrom;
                await WriteCommandAsync(mail, SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                mailReply = await ReadAsync(SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                LastMailReply = mailReply;
                if (mailReply.IsPositive)
                {
                    Stage = SmtpClientStage.RcptTo;
                    for (int i = 0; i < n; i++)
                    {
                        await WriteCommandAsync(rcpts[i], SmtpClientStage.RcptTo, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                        rcptReplies[i] = await ReadAsync(SmtpClientStage.RcptTo, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                        if (!rcptReplies[i]!.IsPositive) decided[i] = new(rcptReplies[i]!, SmtpClientStage.RcptTo);
                    }
                    if (rcptReplies.Any(r => r!.IsPositive))
                    {
                        Stage = SmtpClientStage.Data;
                        await WriteCommandAsync("DATA", SmtpClientStage.Data, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                        dataReply = await ReadAsync(SmtpClientStage.Data, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (!mailReply.IsPositive)
            {
                for (int i = 0; i < n; i++) decided[i] = new(mailReply, SmtpClientStage.MailFrom);
                await AbortDataAsync(dataReply, lmtp, cancellationToken).ConfigureAwait(false);
                return new SmtpTransactionResult(mailReply, decided!);
            }
            if (decided.All(d => d != null))
            {
                await AbortDataAsync(dataReply, lmtp, cancellationToken).ConfigureAwait(false);
                return new SmtpTransactionResult(mailReply, decided!);
            }
            if (dataReply is null || dataReply.Code != 354)
            {
                if (dataReply is null || dataReply.IsPositive)
                    throw new SmtpProtocolException(SmtpProtocolError.Malformed, SmtpClientStage.Data, $"unexpected reply to DATA: {dataReply}");
                for (int i = 0; i < n; i++) decided[i] ??= new(dataReply, SmtpClientStage.Data);
                return new SmtpTransactionResult(mailReply, decided!);
            }

            Stage = SmtpClientStage.Content;
            await SendContentAsync(head, content, cancellationToken).ConfigureAwait(false);

            Stage = SmtpClientStage.EndOfData;
            if (lmtp)
            {
                for (int i = 0; i < n; i++)
                {
                    if (decided[i] != null) continue;
                    var r = await ReadAsync(SmtpClientStage.EndOfData, _options.DataDoneTimeout, cancellationToken).ConfigureAwait(false);
                    decided[i] = new(r, SmtpClientStage.EndOfData);
                }
            }
            else
            {
                var r = await ReadAsync(SmtpClientStage.EndOfData, _options.DataDoneTimeout, cancellationToken).ConfigureAwait(false);
                for (int i = 0; i < n; i++) decided[i] ??= new(r, SmtpClientStage.EndOfData);
            }
            return new SmtpTransactionResult(mailReply, decided!);
        }
        catch (SmtpProtocolException e)
        {
            _broken = true;
            e.RecipientReplies ??= decided.Select(d => d?.Reply).ToArray();
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _broken = true;
            throw new SmtpTransactionCanceledException(Stage, decided.Select(d => d?.Reply).ToArray(), cancellationToken);
        }
        catch
        {
            _broken = true;
            throw;
        }
        finally
        {
            if (headBuffer != null) System.Buffers.ArrayPool<byte>.Shared.Return(headBuffer);
        }
    }

    /// <summary>
    /// MAIL, every RCPT and <c>BDAT n LAST</c> with the whole content in one write (RFC 3030 2 and 4.2, pipelined per
    /// RFC 2920), then their replies in order. The content gets its line ends repaired (bare LF becomes CRLF, a final
    /// CRLF is added) but no dot-stuffing. The server reads the chunk even when MAIL or every RCPT failed and then
    /// refuses BDAT; that reply is read and not used.
    /// </summary>
    private async Task<SmtpTransactionResult> SendOneChunkAsync(string mail, string[] rcpts, ReadOnlyMemory<byte> content,
        SmtpRecipientReply?[] decided, CancellationToken cancellationToken)
    {
        int n = rcpts.Length;
        var body = System.Buffers.ArrayPool<byte>.Shared.Rent(2 * content.Length + 2);
        byte[]? packet = null;
        try
        {
            var stuffer = new DotStuffer(stuffDots: false);
            int bodyLength = stuffer.Transform(content.Span, body);
            bodyLength += stuffer.FinishLine(body.AsSpan(bodyLength));
            var sb = new StringBuilder(mail.Length + 2 + rcpts.Sum(r => r.Length + 2) + 24);
            sb.Append(mail).Append("\r\n");
            foreach (var r in rcpts) sb.Append(r).Append("\r\n");
            sb.Append("BDAT ").Append(bodyLength).Append(" LAST\r\n");
            int commandBytes = Encoding.UTF8.GetByteCount(sb.ToString());
            packet = System.Buffers.ArrayPool<byte>.Shared.Rent(commandBytes + bodyLength);
            Encoding.UTF8.GetBytes(sb.ToString(), packet);
            body.AsSpan(0, bodyLength).CopyTo(packet.AsSpan(commandBytes));
            Stage = SmtpClientStage.MailFrom;
            await WriteAsync(packet.AsMemory(0, commandBytes + bodyLength), SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(body);
            if (packet != null) System.Buffers.ArrayPool<byte>.Shared.Return(packet);
        }
        var mailReply = await ReadAsync(SmtpClientStage.MailFrom, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        LastMailReply = mailReply;
        Stage = SmtpClientStage.RcptTo;
        for (int i = 0; i < n; i++)
        {
            var r = await ReadAsync(SmtpClientStage.RcptTo, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (mailReply.IsPositive && !r.IsPositive) decided[i] = new(r, SmtpClientStage.RcptTo);
        }
        Stage = SmtpClientStage.EndOfData;
        var final = await ReadAsync(SmtpClientStage.EndOfData, _options.DataDoneTimeout, cancellationToken).ConfigureAwait(false);
        if (!mailReply.IsPositive)
        {
            for (int i = 0; i < n; i++) decided[i] = new(mailReply, SmtpClientStage.MailFrom);
            return new SmtpTransactionResult(mailReply, decided!);
        }
        if (!final.IsPositive) TransactionMayBeOpen = true;
        if (final.IsPositive && decided.All(d => d != null))
            throw new SmtpProtocolException(SmtpProtocolError.Malformed, SmtpClientStage.EndOfData, $"BDAT accepted without an accepted recipient: {final}");
        for (int i = 0; i < n; i++) decided[i] ??= new(final, SmtpClientStage.EndOfData);
        return new SmtpTransactionResult(mailReply, decided!);
    }

    /// <summary>Sends RSET (RFC 5321 4.1.1.5) to end a transaction before reusing the connection.</summary>
    /// <returns>the reply (250 expected).</returns>
    /// <exception cref="SmtpProtocolException">I/O failure, malformed reply or timeout.</exception>
    public async Task<SmtpReply> ResetAsync(CancellationToken cancellationToken)
    {
        if (_broken) throw new InvalidOperationException("the session is broken; reconnect");
        Stage = SmtpClientStage.Reset;
        await WriteCommandAsync("RSET", SmtpClientStage.Reset, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        return await ReadAsync(SmtpClientStage.Reset, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends QUIT and reads its reply (RFC 5321 4.1.1.10). Does nothing on a broken session.</summary>
    /// <param name="cancellationToken">the caller's deadline.</param>
    /// <param name="readReply">false: only send QUIT and return null (Postfix smtp_skip_quit_response = yes),
    /// so a slow peer cannot hold up a delivery that is already decided.</param>
    /// <returns>the reply, or null when the session was already broken or the reply was not read.</returns>
    /// <exception cref="SmtpProtocolException">I/O failure, malformed reply or timeout.</exception>
    public async Task<SmtpReply?> QuitAsync(CancellationToken cancellationToken, bool readReply = true)
    {
        if (_broken) return null;
        Stage = SmtpClientStage.Quit;
        await WriteCommandAsync("QUIT", SmtpClientStage.Quit, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (!readReply) { _broken = true; return null; }
        var reply = await ReadAsync(SmtpClientStage.Quit, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        _broken = true;
        return reply;
    }

    /// <summary>Disposes the (possibly TLS) stream.</summary>
    public async ValueTask DisposeAsync()
    {
        _broken = true;
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    // ---- transaction helpers -------------------------------------------------------------------

    private SmtpReply? CheckBeforeMail(SmtpTransaction tx)
    {
        bool needsUtf8 = tx.Sender.RequiresSmtpUtf8 || tx.Recipients.Any(r => r.Address.RequiresSmtpUtf8);
        if (needsUtf8 && !Capabilities.Supports(SmtpExtensions.SmtpUtf8))
            return new SmtpReply(553, "5.6.7", "SMTPUTF8 is required, but was not offered by the server");
        long? size = tx.Size ?? tx.MailParameters.Size;
        if (size is long s && Capabilities.SizeLimit is long limit && limit > 0 && s > limit)
            return new SmtpReply(552, "5.3.4", $"message size {s} exceeds size limit {limit} of the server");
        return null;
    }

    private string BuildMail(SmtpTransaction tx)
    {
        var sb = new StringBuilder("MAIL FROM:");
        sb.Append(FormatPath(tx.Sender));
        var p = tx.MailParameters;
        long? size = tx.Size ?? p.Size;
        if (size is long s && Capabilities.Supports(SmtpExtensions.Size)) sb.Append(" SIZE=").Append(s);
        if (Capabilities.Supports(SmtpExtensions.EightBitMime))
        {
            if (p.Body == BodyType.EightBitMime) sb.Append(" BODY=8BITMIME");
            else if (p.Body == BodyType.SevenBit) sb.Append(" BODY=7BIT");
        }
        if (p.SmtpUtf8 && Capabilities.Supports(SmtpExtensions.SmtpUtf8)) sb.Append(" SMTPUTF8");
        if (Capabilities.Supports(SmtpExtensions.Dsn))
        {
            if (p.Ret == DsnRet.Full) sb.Append(" RET=FULL");
            else if (p.Ret == DsnRet.Headers) sb.Append(" RET=HDRS");
            if (p.EnvId != null) sb.Append(" ENVID=").Append(Xtext.Encode(p.EnvId));
        }
        return sb.ToString();
    }

    private string BuildRcpt(SmtpTransactionRecipient r)
    {
        var sb = new StringBuilder("RCPT TO:");
        sb.Append(FormatPath(r.Address));
        if (Capabilities.Supports(SmtpExtensions.Dsn))
        {
            var notify = r.Parameters.Notify;
            if (notify != DsnNotify.None)
            {
                sb.Append(" NOTIFY=");
                if (notify.HasFlag(DsnNotify.Never)) sb.Append("NEVER");
                else
                {
                    var parts = new List<string>(3);
                    if (notify.HasFlag(DsnNotify.Success)) parts.Add("SUCCESS");
                    if (notify.HasFlag(DsnNotify.Failure)) parts.Add("FAILURE");
                    if (notify.HasFlag(DsnNotify.Delay)) parts.Add("DELAY");
                    sb.AppendJoin(',', parts);
                }
            }
            var orcpt = r.Parameters.OriginalRecipient;
            if (orcpt != null)
            {
                int semi = orcpt.IndexOf(';');
                if (semi > 0) sb.Append(" ORCPT=").Append(orcpt, 0, semi + 1).Append(Xtext.Encode(orcpt[(semi + 1)..]));
            }
        }
        return sb.ToString();
    }

    private static string FormatPath(SmtpPath path)
    {
        var s = path.ToString();
        foreach (var c in s)
            if (c < 0x20 || c == 0x7f) throw new ArgumentException("address contains a control character: " + s.Replace('\r', '?').Replace('\n', '?'));
        return s;
    }

    /// <summary>After a pipelined DATA got 354 although nothing was accepted: send an empty message end (RFC 2920 3.1).</summary>
    private async Task AbortDataAsync(SmtpReply? dataReply, bool lmtp, CancellationToken cancellationToken)
    {
        if (dataReply?.Code != 354) return;
        Stage = SmtpClientStage.EndOfData;
        await WriteAsync(".\r\n"u8.ToArray(), SmtpClientStage.EndOfData, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (lmtp) { _broken = true; return; }   // no accepted recipient: the number of LMTP replies is unknown
        await ReadAsync(SmtpClientStage.EndOfData, _options.DataDoneTimeout, cancellationToken).ConfigureAwait(false);
    }

    private async Task SendContentAsync(ReadOnlyMemory<byte> head, Stream content, CancellationToken cancellationToken)
    {
        // Reads of the content (e.g. a Received: prefix, then the body) are gathered into one output
        // buffer with the final ".\r\n", so a small message goes out in one write: on loopback and
        // on a LAN each write is a segment and a wake-up of the peer.
        int size = Math.Max(512, _options.ContentBufferSize);
        var input = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
        var output = System.Buffers.ArrayPool<byte>.Shared.Rent(2 * size + 8);
        try
        {
            var stuffer = new DotStuffer();
            int used = 0, h = 0;
            while (true)
            {
                // First what was read ahead for a BDAT that did not fit, then the rest of the stream.
                ReadOnlyMemory<byte> block;
                if (h < head.Length)
                {
                    block = head.Slice(h, Math.Min(size, head.Length - h));
                    h += block.Length;
                }
                else
                {
                    int n = await content.ReadAsync(input.AsMemory(0, size), cancellationToken).ConfigureAwait(false);
                    if (n == 0) break;
                    block = input.AsMemory(0, n);
                }
                if (used + 2 * block.Length + 8 > output.Length)   // Transform writes at most 2n bytes, Finish 5
                {
                    await WriteAsync(output.AsMemory(0, used), SmtpClientStage.Content, _options.DataTransferTimeout, cancellationToken, flush: false).ConfigureAwait(false);
                    used = 0;
                }
                used += stuffer.Transform(block.Span, output.AsSpan(used));
            }
            used += stuffer.Finish(output.AsSpan(used));
            await WriteAsync(output.AsMemory(0, used), SmtpClientStage.Content, _options.DataTransferTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(input);
            System.Buffers.ArrayPool<byte>.Shared.Return(output);
        }
    }

    // ---- I/O with timeouts ---------------------------------------------------------------------

    private Task WriteCommandAsync(string command, SmtpClientStage stage, TimeSpan timeout, CancellationToken cancellationToken) =>
        WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"), stage, timeout, cancellationToken);

    private async Task WriteAsync(ReadOnlyMemory<byte> data, SmtpClientStage stage, TimeSpan timeout, CancellationToken cancellationToken, bool flush = true)
    {
        using var cts = Timeout(timeout, cancellationToken);
        try
        {
            await _stream.WriteAsync(data, cts.Token).ConfigureAwait(false);
            if (flush) await _stream.FlushAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Broken(new SmtpProtocolException(SmtpProtocolError.Timeout, stage, $"write timed out after {timeout.TotalSeconds:0.###} s", e));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            throw Broken(new SmtpProtocolException(SmtpProtocolError.ConnectionLost, stage, e.Message, e));
        }
    }

    private async Task<SmtpReply> ReadAsync(SmtpClientStage stage, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = Timeout(timeout, cancellationToken);
        try
        {
            return await _reader.ReadReplyAsync(stage, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw Broken(new SmtpProtocolException(SmtpProtocolError.Timeout, stage, $"no reply within {timeout.TotalSeconds:0.###} s", e));
        }
        catch (SmtpProtocolException e)
        {
            throw Broken(e);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Some streams (SslStream) surface a cancelled or reset read as IOException.
            throw Broken(new SmtpProtocolException(cts.IsCancellationRequested ? SmtpProtocolError.Timeout : SmtpProtocolError.ConnectionLost, stage, e.Message, e));
        }
    }

    private SmtpProtocolException Broken(SmtpProtocolException e)
    {
        _broken = true;
        return e;
    }

    private static CancellationTokenSource Timeout(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout > TimeSpan.Zero && timeout != System.Threading.Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        return cts;
    }
}
