// MilterClient.Envelope: CONNECT, HELO, MAIL, RCPT, DATA, UNKNOWN, ABORT, QUIT and the common event
// sender. Follows Postfix milter8.c milter8_event (order: non-protocol check, SKIP check, macros, NO* check,
// event, NR_* check, replies) and milter8_conn_event .. milter8_disc_event for the per-state rules.
using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Mta.Milter.Protocol;

namespace Mta.Milter;

public sealed partial class MilterClient
{
    /// <summary>Reports the SMTP client connection (<c>C</c>), with the connect macros.</summary>
    /// <param name="hostname">The verified client name, or <c>unknown</c>; Postfix sends <c>[address]</c> for
    /// <c>unknown</c> (unless the address is unknown too), and so does this method.</param>
    /// <param name="family">Address family; <see cref="MilterAddressFamily.Unknown"/> omits port and address.</param>
    /// <param name="port">Client TCP port (0..65535; sent as 0 for unix sockets).</param>
    /// <param name="address">Client address text (<c>192.0.2.1</c>, <c>2001:db8::1</c>, or a socket path).</param>
    /// <param name="macros">Macro values by name (<c>j</c> or <c>{j}</c> both match); null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision; reject/tempfail/reply/accept here apply to the whole SMTP session.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    /// <exception cref="InvalidOperationException">Not negotiated, or CONNECT already reported.</exception>
    public async Task<MilterResponse> ConnectEventAsync(string hostname, MilterAddressFamily family, int port, string address,
        IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return shortcut;
        if (_state != MilterSessionState.Ready) throw new InvalidOperationException("CONNECT was already reported");
        _state = MilterSessionState.Envelope;
        string smName = hostname != "unknown" || address == "unknown" ? hostname : "[" + address + "]";
        ushort wirePort = family == MilterAddressFamily.Unix || port is < 0 or > 65535 ? (ushort)0 : (ushort)port;
        return await EventAsync(MilterCommand.Connect, MilterProtocolFlags.NoConnect, MilterProtocolFlags.NoReplyConnect,
            (int)MilterMacroStage.Connect, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteConnect(w, smName, family, wirePort, address), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reports the SMTP client connection from its socket address: IPv4 (and IPv4-mapped IPv6) as
    /// family <c>4</c>, IPv6 as <c>6</c>, a unix socket as <c>L</c>, anything else (or null) as <c>U</c>.</summary>
    /// <inheritdoc cref="ConnectEventAsync(string, MilterAddressFamily, int, string, IReadOnlyDictionary{string, string}?, CancellationToken)"/>
    public Task<MilterResponse> ConnectEventAsync(string hostname, EndPoint? remote,
        IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        switch (remote)
        {
            case IPEndPoint ip:
                var addr = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
                var fam = addr.AddressFamily == AddressFamily.InterNetwork ? MilterAddressFamily.Inet : MilterAddressFamily.Inet6;
                return ConnectEventAsync(hostname, fam, ip.Port, addr.ToString(), macros, cancellationToken);
            case UnixDomainSocketEndPoint unix:
                return ConnectEventAsync(hostname, MilterAddressFamily.Unix, 0, unix.ToString(), macros, cancellationToken);
            default:
                return ConnectEventAsync(hostname, MilterAddressFamily.Unknown, 0, "unknown", macros, cancellationToken);
        }
    }

    /// <summary>Reports HELO/EHLO (<c>H</c>), with the HELO macros. Also after STARTTLS or a repeated EHLO.</summary>
    /// <param name="helo">The HELO/EHLO argument.</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision; reject/tempfail/reply/accept here apply to the whole SMTP session.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public Task<MilterResponse> HeloAsync(string helo, IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return Task.FromResult(shortcut);
        RequireEnvelope(allowAcceptedMessage: true);
        return EventAsync(MilterCommand.Helo, MilterProtocolFlags.NoHelo, MilterProtocolFlags.NoReplyHelo,
            (int)MilterMacroStage.Helo, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteHelo(w, helo), cancellationToken).AsTask();
    }

    /// <summary>Reports MAIL FROM (<c>M</c>), with the MAIL macros.</summary>
    /// <param name="argv"><c>&lt;sender&gt;</c> with angle brackets, then each ESMTP parameter (<c>SIZE=123</c>).</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision for this transaction.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public Task<MilterResponse> MailAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return Task.FromResult(shortcut);
        // Postfix always sends ABORT before the next MAIL; be lenient if the host did not.
        if (_state == MilterSessionState.AcceptedMessage) _state = MilterSessionState.Envelope;
        RequireEnvelope(allowAcceptedMessage: false);
        return EventAsync(MilterCommand.Mail, MilterProtocolFlags.NoMail, MilterProtocolFlags.NoReplyMail,
            (int)MilterMacroStage.EnvelopeFrom, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteMail(w, argv), cancellationToken).AsTask();
    }

    /// <summary>Reports RCPT TO (<c>R</c>), with the RCPT macros.</summary>
    /// <param name="argv"><c>&lt;recipient&gt;</c> with angle brackets, then each ESMTP parameter.</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision; reject/tempfail refer to this recipient only.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public Task<MilterResponse> RcptAsync(IReadOnlyList<string> argv, IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return Task.FromResult(shortcut);
        if (_state == MilterSessionState.AcceptedMessage) return Task.FromResult(MilterResponse.Continue);
        RequireEnvelope(allowAcceptedMessage: false);
        return EventAsync(MilterCommand.Rcpt, MilterProtocolFlags.NoRcpt, MilterProtocolFlags.NoReplyRcpt,
            (int)MilterMacroStage.EnvelopeRcpt, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteRcpt(w, argv), cancellationToken).AsTask();
    }

    /// <summary>Reports the DATA command (<c>T</c>, protocol version 4 and later only), with the DATA macros.
    /// Call it once per message, also for BDAT. Must precede the first header (libmilter ignores out-of-order events).</summary>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision for this message.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public Task<MilterResponse> DataAsync(IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return Task.FromResult(shortcut);
        if (_state == MilterSessionState.AcceptedMessage) return Task.FromResult(MilterResponse.Continue);
        RequireEnvelope(allowAcceptedMessage: false);
        return EventAsync(MilterCommand.Data, MilterProtocolFlags.NoData, MilterProtocolFlags.NoReplyData,
            (int)MilterMacroStage.Data, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteEmpty(w, MilterCommand.Data), cancellationToken).AsTask();
    }

    /// <summary>Reports an unrecognised SMTP command (<c>U</c>, version 3 and later), with the unknown-command macros.</summary>
    /// <param name="commandLine">The full command line as received, without CRLF.</param>
    /// <param name="macros">Macro values; null = none.</param>
    /// <param name="cancellationToken">Cancels the call; the connection is then closed.</param>
    /// <returns>The decision; Postfix uses only a 4xx from the milter, else its own 500 reply.</returns>
    /// <exception cref="MilterProtocolException">The conversation broke.</exception>
    public Task<MilterResponse> UnknownAsync(string commandLine, IReadOnlyDictionary<string, string>? macros = null, CancellationToken cancellationToken = default)
    {
        if (Gate() is { } shortcut) return Task.FromResult(shortcut);
        if (_state == MilterSessionState.AcceptedMessage) return Task.FromResult(MilterResponse.Continue);
        RequireEnvelope(allowAcceptedMessage: false);
        return EventAsync(MilterCommand.Unknown, MilterProtocolFlags.NoUnknown, MilterProtocolFlags.NoReplyUnknown,
            UnknownMacroIndex, macros, _options.CommandTimeout, null,
            w => MilterPacketWriter.WriteUnknown(w, commandLine), cancellationToken).AsTask();
    }

    /// <summary>Ends the current mail transaction (<c>A</c>, no reply). Postfix sends it after every transaction
    /// (RSET, rejects, after a completed message) and on a repeated HELO/EHLO. Nothing is sent before CONNECT or
    /// after the milter ended the session.</summary>
    /// <exception cref="MilterProtocolException">The write failed.</exception>
    public async Task AbortAsync(CancellationToken cancellationToken = default)
    {
        if (_state is not (MilterSessionState.Envelope or MilterSessionState.Message or MilterSessionState.AcceptedMessage)) return;
        ResetMessage();
        _state = MilterSessionState.Envelope;
        MilterPacketWriter.WriteEmpty(_transport!.Output, MilterCommand.Abort);
        await SendAsync(MilterCommand.Abort, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Ends the session: sends <c>Q</c> (no reply) when the milter is still listening, then closes the
    /// connection. Never throws for I/O errors.</summary>
    public async Task QuitAsync(CancellationToken cancellationToken = default)
    {
        if (_state is (MilterSessionState.Envelope or MilterSessionState.Message or MilterSessionState.AcceptedMessage) && _transport is not null)
        {
            try
            {
                MilterPacketWriter.WriteEmpty(_transport.Output, MilterCommand.Quit);
                await SendAsync(MilterCommand.Quit, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (MilterProtocolException)
            {
                // The session ends anyway.
            }
        }
        CloseTransport();
        _state = MilterSessionState.Closed;
    }

    // Session-level short cuts shared by all events (Postfix: ERROR / ACCEPT_CON / REJECT_CON states).
    private MilterResponse? Gate() => _state switch
    {
        MilterSessionState.Error => throw new MilterProtocolException("milter conversation already failed"),
        MilterSessionState.Closed => throw new InvalidOperationException("milter is not connected"),
        MilterSessionState.AcceptedConnection => MilterResponse.Continue,
        MilterSessionState.RejectedConnection => _sticky,
        _ => null,
    };

    private void RequireEnvelope(bool allowAcceptedMessage)
    {
        if (_state == MilterSessionState.Envelope || (allowAcceptedMessage && _state == MilterSessionState.AcceptedMessage)) return;
        throw new InvalidOperationException(_state == MilterSessionState.Ready
            ? "report CONNECT first"
            : $"event not allowed in state {_state}");
    }

    /// <summary>The common event path of Postfix milter8_event.</summary>
    private async ValueTask<MilterResponse> EventAsync(byte evt, MilterProtocolFlags noSend, MilterProtocolFlags noReply,
        int macroIndex, IReadOnlyDictionary<string, string>? macros, TimeSpan timeout, List<MilterModification>? mods,
        Action<IBufferWriter<byte>> writeEvent, CancellationToken ct)
    {
        var n = _negotiation!;
        // Events outside the negotiated protocol version: nothing at all, not even macros.
        if ((noSend & n.NonProtocolEvents) != 0) return MilterResponse.Continue;
        // After SMFIR_SKIP: drop further events of the same type; a different event ends the skipping.
        if (_skipEvent != 0)
        {
            if (_skipEvent == evt) return MilterResponse.Continue;
            _skipEvent = 0;
        }

        var output = _transport?.Output ?? throw Fail("milter connection is closed");
        bool suppressed = (noSend & n.Protocol) != 0;
        try
        {
            // Macros go out even when the milter does not want the event itself (Postfix does the same).
            if (macroIndex >= 0) MilterPacketWriter.WriteMacros(output, evt, LookupMacros(macroIndex, macros));
            if (!suppressed) writeEvent(output);
        }
        catch (MilterProtocolException e)
        {
            throw Fail(e.Message);
        }
        await SendAsync(evt, timeout, ct).ConfigureAwait(false);
        if (suppressed) return MilterResponse.Continue;
        if (noReply != 0 && (n.Protocol & noReply) != 0) return MilterResponse.Continue;
        return await ReadReplyAsync(evt, timeout, mods, ct).ConfigureAwait(false);
    }

    private List<KeyValuePair<string, string>> LookupMacros(int index, IReadOnlyDictionary<string, string>? macros)
    {
        var result = new List<KeyValuePair<string, string>>();
        if (macros is null || macros.Count == 0) return result;
        foreach (var name in _macroNames[index])
        {
            if (macros.TryGetValue(name, out var value)
                || macros.TryGetValue(AlternateMacroName(name), out value))
                result.Add(new(name, value));
        }
        return result;
    }

    // "{i}" <-> "i": libmilter and rspamd treat both spellings alike; the host may key either way.
    private static string AlternateMacroName(string name) =>
        name.Length >= 2 && name[0] == '{' && name[^1] == '}' ? name[1..^1] : "{" + name + "}";
}
