// MilterClient.Content: HEADER, EOH, BODY and EOB. Follows Postfix milter8.c milter8_message,
// milter8_header, milter8_eoh, milter8_body and milter8_eob: with NOHDRS/NOEOH/NOBODY the event is not
// produced at all (no macros either); body bytes are collected into 65535-byte chunks regardless of line
// boundaries and the remainder is sent as its own BODY before an empty EOB; content timeout per read/write.
using Mta.Milter.Protocol;

namespace Mta.Milter;

public sealed partial class MilterClient
{
    private readonly byte[] _body = new byte[MilterLimits.MaxOutboundPayload];
    private int _bodyLength;
    private MilterResponse? _contentResponse;

    /// <summary>Reports one message header (<c>L</c>), preceded by the end-of-header macros (<c>D L</c>).
    /// Do not pass the MTA's own Received: header (Postfix and Sendmail hide it).</summary>
    /// <param name="name">Header name as received (white space before the colon is dropped).</param>
    /// <param name="rawValue">Everything after the colon as received, without the final CRLF; folds may be
    /// CRLF or LF and are sent as LF. One leading space is removed unless HDR_LEADSPC was negotiated.</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision; once final, later content calls return it without contacting the milter.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke (also for a header over 65535 bytes).</exception>
    public async Task<MilterResponse> HeaderAsync(string name, string rawValue, IReadOnlyDictionary<string, string>? macros = null,
        CancellationToken cancellationToken = default)
    {
        if (ContentGate() is { } shortcut) return shortcut;
        if ((_negotiation!.Protocol & MilterProtocolFlags.NoHeaders) != 0) return MilterResponse.Continue;
        string wireName = MilterHeaderFormat.Name(name);
        string wireValue = MilterHeaderFormat.Value(rawValue, _negotiation.HeaderLeadingSpace);
        var r = await EventAsync(MilterCommand.Header, MilterProtocolFlags.NoHeaders, MilterProtocolFlags.NoReplyHeader,
            (int)MilterMacroStage.EndOfHeaders, macros, _options.ContentTimeout, null,
            w => MilterPacketWriter.WriteHeader(w, wireName, wireValue), cancellationToken).ConfigureAwait(false);
        return RecordContent(r);
    }

    /// <summary>Reports the end of the headers (<c>N</c>), preceded by the end-of-header macros.</summary>
    /// <inheritdoc cref="HeaderAsync"/>
    public async Task<MilterResponse> EndOfHeadersAsync(IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (ContentGate() is { } shortcut) return shortcut;
        if ((_negotiation!.Protocol & MilterProtocolFlags.NoEndOfHeaders) != 0) return MilterResponse.Continue;
        var r = await EventAsync(MilterCommand.EndOfHeaders, MilterProtocolFlags.NoEndOfHeaders, MilterProtocolFlags.NoReplyEndOfHeaders,
            (int)MilterMacroStage.EndOfHeaders, macros, _options.ContentTimeout, null,
            w => MilterPacketWriter.WriteEmpty(w, MilterCommand.EndOfHeaders), cancellationToken).ConfigureAwait(false);
        return RecordContent(r);
    }

    /// <summary>
    /// Passes body bytes: the body after the empty line that ends the headers, with CRLF line ends, in pieces of
    /// any size. Bytes are collected and sent as <c>B</c> packets of exactly 65535 bytes, each preceded by the
    /// end-of-message macros; the rest goes out in <see cref="EndOfMessageAsync"/>.
    /// </summary>
    /// <param name="data">The next body bytes.</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>Continue while the milter wants more; Skip once it asked for no more body (treat as continue);
    /// otherwise its final decision.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public async Task<MilterResponse> BodyAsync(ReadOnlyMemory<byte> data, IReadOnlyDictionary<string, string>? macros = null,
        CancellationToken cancellationToken = default)
    {
        if (ContentGate() is { } shortcut) return shortcut;
        if ((_negotiation!.Protocol & MilterProtocolFlags.NoBody) != 0) return MilterResponse.Continue;
        var last = _skipEvent == MilterCommand.Body ? MilterResponse.Skip : MilterResponse.Continue;
        while (!data.IsEmpty)
        {
            int n = Math.Min(data.Length, _body.Length - _bodyLength);
            data.Span[..n].CopyTo(_body.AsSpan(_bodyLength));
            _bodyLength += n;
            data = data[n..];
            if (_bodyLength == _body.Length)
            {
                var r = await SendBodyChunkAsync(macros, cancellationToken).ConfigureAwait(false);
                if (r.IsFinal || _state != MilterSessionState.Message) return r;
                if (r.Action == MilterAction.Skip || _skipEvent == MilterCommand.Body) last = MilterResponse.Skip;
            }
        }
        return last;
    }

    /// <summary>
    /// Ends the message: sends any collected body bytes as a last <c>B</c>, then <c>E</c> (always waits for the
    /// reply, whatever NR_* flags say) and reads the modification requests until the final decision, each read
    /// under a fresh content timeout. Afterwards the client is back in the envelope state (call <see cref="AbortAsync"/>
    /// as Postfix does before the next MAIL).
    /// </summary>
    /// <param name="macros">Macro values (end-of-message list); null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>Modifications in order and the final decision. If the message was decided earlier (reject at
    /// a header, accept, discard) nothing is sent and that decision is returned with no modifications.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke, including a modification request that
    /// is malformed (Configuration kind for bad header names and mixed body replacement).</exception>
    public async Task<MilterEndOfMessageResult> EndOfMessageAsync(IReadOnlyDictionary<string, string>? macros = null,
        CancellationToken cancellationToken = default)
    {
        if (ContentGate() is { } shortcut)
        {
            if (_state is MilterSessionState.Message or MilterSessionState.AcceptedMessage) EndMessage();
            return new MilterEndOfMessageResult([], shortcut);
        }
        try
        {
            if (_bodyLength > 0 && (_negotiation!.Protocol & MilterProtocolFlags.NoBody) == 0)
            {
                var r = await SendBodyChunkAsync(macros, cancellationToken).ConfigureAwait(false);
                if (r.IsFinal || _state != MilterSessionState.Message) return new MilterEndOfMessageResult([], r);
            }
            var mods = new List<MilterModification>();
            var final = await EventAsync(MilterCommand.BodyEnd, MilterProtocolFlags.None, MilterProtocolFlags.None,
                (int)MilterMacroStage.EndOfMessage, macros, _options.ContentTimeout, mods,
                w => MilterPacketWriter.WriteEmpty(w, MilterCommand.BodyEnd), cancellationToken).ConfigureAwait(false);
            return new MilterEndOfMessageResult(mods, final);
        }
        finally
        {
            if (_state is MilterSessionState.Message or MilterSessionState.AcceptedMessage) EndMessage();
        }
    }

    private async ValueTask<MilterResponse> SendBodyChunkAsync(IReadOnlyDictionary<string, string>? macros, CancellationToken ct)
    {
        int length = _bodyLength;
        _bodyLength = 0;
        var r = await EventAsync(MilterCommand.Body, MilterProtocolFlags.NoBody, MilterProtocolFlags.NoReplyBody,
            (int)MilterMacroStage.EndOfMessage, macros, _options.ContentTimeout, null,
            w => MilterPacketWriter.WriteBody(w, _body.AsSpan(0, length)), ct).ConfigureAwait(false);
        return RecordContent(r);
    }

    // Postfix MILTER8_MESSAGE_DONE: once the milter decided, further content is not sent.
    private MilterResponse? ContentGate()
    {
        if (Gate() is { } shortcut) return shortcut;
        switch (_state)
        {
            case MilterSessionState.AcceptedMessage:
                return MilterResponse.Continue;
            case MilterSessionState.Envelope:
                ResetMessage();
                _state = MilterSessionState.Message;
                return null;
            case MilterSessionState.Message:
                return _contentResponse;
            default:
                throw new InvalidOperationException($"message content not allowed in state {_state}");
        }
    }

    private MilterResponse RecordContent(MilterResponse r)
    {
        if (r.IsFinal && _state == MilterSessionState.Message) _contentResponse = r;
        return r;
    }

    private void ResetMessage()
    {
        _bodyLength = 0;
        _contentResponse = null;
    }

    private void EndMessage()
    {
        ResetMessage();
        _state = MilterSessionState.Envelope;
    }
}
