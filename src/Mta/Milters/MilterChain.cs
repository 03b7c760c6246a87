// MilterChain: the configured milters for one SMTP session, called in order at every stage with
// Postfix's semantics (MILTER_README; reference filter-protocols.md 1.5-1.8):
//   - one connection per milter per SMTP session, reused for every message of the session;
//   - the first rejecting milter wins; ACCEPT stops a milter for the message (or the session at CONNECT/HELO);
//   - a reject at CONNECT/HELO is sticky: it is applied to MAIL FROM (421 closes at once);
//   - at end-of-message each milter sees the header and body edits of the milters before it;
//   - a milter that breaks the protocol (EOF, timeout, junk) gets its default action, then and for the
//     rest of the session, as Postfix does.
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.Milter;
using Mta.Milter.Headers;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Milters;

/// <summary>Outcome kinds of a milter stage.</summary>
public enum MilterVerdict
{
    /// <summary>Go on.</summary>
    Continue,
    /// <summary>Refuse with <see cref="MilterStageResult.Reply"/> (4xx/5xx; 421 closes the session).</summary>
    Refuse,
    /// <summary>Accept and silently drop the whole message.</summary>
    Discard,
}

/// <summary>The result of one stage.</summary>
public sealed record MilterStageResult(MilterVerdict Verdict, SmtpReply? Reply = null)
{
    /// <summary>Continue.</summary>
    public static MilterStageResult Continue { get; } = new(MilterVerdict.Continue);
}

/// <summary>The result of the end-of-message pass.</summary>
public sealed class MilterMessageResult
{
    /// <summary>The decision.</summary>
    public MilterStageResult Decision { get; init; } = MilterStageResult.Continue;
    /// <summary>The header list after edits, or null when no milter changed a header.</summary>
    public IReadOnlyList<MessageHeader>? Headers { get; init; }
    /// <summary>The replacement body (CRLF lines), or null when unchanged.</summary>
    public byte[]? Body { get; init; }
    /// <summary>Envelope edits in order (ADDRCPT, ADDRCPT_PAR, DELRCPT, CHGFROM).</summary>
    public IReadOnlyList<MilterModification> EnvelopeEdits { get; init; } = [];
    /// <summary>Set when a milter asked for quarantine (or its default action is quarantine).</summary>
    public string? QuarantineReason { get; init; }
}

/// <summary>The milters of one SMTP session.</summary>
public sealed class MilterChain : IAsyncDisposable
{
    private static readonly SmtpReply RejectReply = new(550, "5.7.1", "Command rejected");
    private static readonly SmtpReply TempFailReply = new(451, "4.7.1", "Service unavailable - try again later");
    private static readonly SmtpReply ShutdownReply = new(421, "4.7.0", "Server closing connection");

    private sealed class Slot(MilterSpec spec)
    {
        public MilterSpec Spec { get; } = spec;
        public MilterClient? Client { get; set; }
        public bool Failed { get; set; }
        public bool Disabled { get; set; }
    }

    private readonly List<Slot> _slots;
    private readonly MilterOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private string? _quarantine;
    private bool _abortPending;
    private bool _inTransaction;

    /// <summary>Creates the chain; nothing is connected until <see cref="ConnectAsync"/>.</summary>
    public MilterChain(IReadOnlyList<MilterSpec> specs, MilterOptions options, ILogger log, TimeProvider time)
    {
        _slots = specs.Select(s => new Slot(s)).ToList();
        _options = options;
        _log = log;
        _time = time;
    }

    /// <summary>Macro values known so far (the host fills them: j, _, i, {rcpt_addr} ...); each event sends the ones its stage lists.</summary>
    public Dictionary<string, string> Macros { get; } = new(StringComparer.Ordinal);

    /// <summary>A reply decided at CONNECT or HELO that applies to every later MAIL FROM, or null.</summary>
    public SmtpReply? StickyReply { get; private set; }

    /// <summary>
    /// Connects every milter and reports the SMTP client (CONNECT event). A 421 or 5xx decision is returned for
    /// the greeting (Postfix: 421 closes, 5xx becomes a 554 greeting); another 4xx is kept for MAIL FROM.
    /// </summary>
    public async Task<MilterStageResult> ConnectAsync(string clientName, EndPoint? remote, CancellationToken ct)
    {
        foreach (var slot in _slots)
        {
            var client = new MilterClient(new MilterClientOptions
            {
                ProtocolVersion = slot.Spec.Protocol,
                ConnectTimeout = slot.Spec.ConnectTimeout,
                CommandTimeout = slot.Spec.CommandTimeout,
                ContentTimeout = slot.Spec.ContentTimeout,
                TimeProvider = _time,
                Macros = new MilterMacroLists
                {
                    Connect = _options.ConnectMacros, Helo = _options.HeloMacros, Mail = _options.MailMacros, Rcpt = _options.RcptMacros,
                    Data = _options.DataMacros, EndOfHeaders = _options.EndOfHeaderMacros, EndOfMessage = _options.EndOfDataMacros,
                    Unknown = _options.UnknownCommandMacros,
                },
            });
            slot.Client = client;
            try { await client.ConnectAsync(slot.Spec.Endpoint, ct).ConfigureAwait(false); }
            catch (MilterProtocolException e) { Fail(slot, e); }
        }
        var r = await EventAsync((c, t) => c.ConnectEventAsync(clientName, remote, Macros, t), ct).ConfigureAwait(false);
        if (r.Verdict == MilterVerdict.Refuse && r.Reply!.Code is >= 400 and < 500 and not 421)
        {
            StickyReply = r.Reply; // Postfix: other 4xx at CONNECT -> normal 220, MAIL refused later
            return MilterStageResult.Continue;
        }
        return r.Verdict == MilterVerdict.Discard ? MilterStageResult.Continue : r;
    }

    /// <summary>HELO/EHLO (also after STARTTLS).</summary>
    public async Task<MilterStageResult> HeloAsync(string helo, CancellationToken ct)
    {
        await FlushAbortAsync().ConfigureAwait(false);
        return Sticky(await EventAsync((c, t) => c.HeloAsync(helo, Macros, t), ct).ConfigureAwait(false));
    }

    /// <summary>MAIL FROM with argv <c>&lt;sender&gt;</c> then ESMTP parameters.</summary>
    public async Task<MilterStageResult> MailAsync(IReadOnlyList<string> argv, CancellationToken ct)
    {
        if (StickyReply != null) return new MilterStageResult(MilterVerdict.Refuse, StickyReply);
        await FlushAbortAsync().ConfigureAwait(false);
        _quarantine = null;
        var r = await EventAsync((c, t) => c.MailAsync(argv, Macros, t), ct).ConfigureAwait(false);
        _inTransaction = r.Verdict != MilterVerdict.Refuse;
        return r;
    }

    /// <summary>RCPT TO; a refusal applies to this recipient only.</summary>
    public Task<MilterStageResult> RcptAsync(IReadOnlyList<string> argv, CancellationToken ct) =>
        EventAsync((c, t) => c.RcptAsync(argv, Macros, t), ct);

    /// <summary>An unrecognised SMTP command (the full line), protocol version 3 and later.</summary>
    public Task<MilterStageResult> UnknownAsync(string commandLine, CancellationToken ct) =>
        EventAsync((c, t) => c.UnknownAsync(commandLine, Macros, t), ct);

    /// <summary>DATA (also for the first BDAT).</summary>
    public Task<MilterStageResult> DataAsync(CancellationToken ct) =>
        EventAsync((c, t) => c.DataAsync(Macros, t), ct);

    private MilterStageResult Sticky(MilterStageResult r)
    {
        if (r.Verdict == MilterVerdict.Refuse && r.Reply!.Code != 421)
        {
            StickyReply = r.Reply;
            return MilterStageResult.Continue; // Postfix answers the greeting/HELO normally and refuses MAIL later
        }
        return r.Verdict == MilterVerdict.Discard ? MilterStageResult.Continue : r; // DISCARD is not allowed here
    }

    private async Task<MilterStageResult> EventAsync(Func<MilterClient, CancellationToken, Task<MilterResponse>> send, CancellationToken ct)
    {
        foreach (var slot in _slots)
        {
            if (slot.Disabled || slot.Client is null) continue;
            if (slot.Failed) { if (DefaultResult(slot) is { } d) return d; continue; }
            MilterResponse response;
            try { response = await send(slot.Client, ct).ConfigureAwait(false); }
            catch (MilterProtocolException e)
            {
                Fail(slot, e);
                if (DefaultResult(slot) is { } d) return d;
                continue;
            }
            if (response.QuarantineReason != null) _quarantine = response.QuarantineReason;
            var verdict = Verdict(slot, response);
            if (verdict.Verdict != MilterVerdict.Continue) return verdict;
        }
        return MilterStageResult.Continue;
    }

    private MilterStageResult Verdict(Slot slot, MilterResponse r)
    {
        switch (r.Action)
        {
            case MilterAction.Reject: return new(MilterVerdict.Refuse, RejectReply);
            case MilterAction.TempFail: return new(MilterVerdict.Refuse, TempFailReply);
            case MilterAction.Shutdown: return new(MilterVerdict.Refuse, ShutdownReply);
            case MilterAction.Discard: return new(MilterVerdict.Discard);
            case MilterAction.ReplyCode:
                var reply = ParseReply(r.ReplyText);
                if (reply is null)
                {
                    _log.LogWarning("milter {Milter}: malformed reply \"{Text}\"", slot.Spec.Endpoint, r.ReplyText);
                    slot.Failed = true;
                    return DefaultResult(slot) ?? MilterStageResult.Continue;
                }
                return new(MilterVerdict.Refuse, reply);
            default: return MilterStageResult.Continue;
        }
    }

    /// <summary>Parses a milter reply text (<c>ddd[-| ][x.y.z ]text</c> lines joined by CRLF) into an SMTP reply, or null.</summary>
    public static SmtpReply? ParseReply(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var lines = text.Split("\r\n");
        int code = 0;
        string? status = null;
        var texts = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            var l = lines[i];
            if (l.Length < 3 || !int.TryParse(l.AsSpan(0, 3), out int c) || c is < 400 or > 599) return null;
            if (i == 0) code = c; else if (c != code) return null;
            var rest = l.Length > 4 ? l[4..] : "";
            int sp = rest.IndexOf(' ');
            var first = sp < 0 ? rest : rest[..sp];
            if (first.Length >= 5 && first[0] - '0' == code / 100 && first.Count(ch => ch == '.') == 2 && first.All(ch => ch == '.' || char.IsAsciiDigit(ch)))
            {
                status ??= first;
                rest = sp < 0 ? "" : rest[(sp + 1)..];
            }
            texts.Add(rest);
        }
        return new SmtpReply(code, status, [.. texts]);
    }

    private void Fail(Slot slot, MilterProtocolException e)
    {
        _log.LogWarning("milter {Milter}: {Error}; applying default_action={Action}", slot.Spec.Endpoint, e.Message, slot.Spec.DefaultAction.ToString().ToLowerInvariant());
        slot.Failed = true;
        if (slot.Spec.DefaultAction == MilterDefaultAction.Accept) slot.Disabled = true;
    }

    private MilterStageResult? DefaultResult(Slot slot)
    {
        switch (slot.Spec.DefaultAction)
        {
            case MilterDefaultAction.Reject: return new(MilterVerdict.Refuse, new SmtpReply(550, "5.5.0", "Service unavailable"));
            case MilterDefaultAction.TempFail: return new(MilterVerdict.Refuse, TempFailReply);
            case MilterDefaultAction.Shutdown: return new(MilterVerdict.Refuse, new SmtpReply(421, "4.7.0", "Server configuration error"));
            case MilterDefaultAction.Quarantine: _quarantine ??= $"milter {slot.Spec.Endpoint} failed"; return null;
            default: return null;
        }
    }

    /// <summary>
    /// The end-of-message pass: headers (the hidden ones are not sent), end of headers, the body (from the
    /// block's body offset in <paramref name="spool"/>) in chunks, end of message; edits are applied between milters.
    /// </summary>
    public async Task<MilterMessageResult> MessageAsync(HeaderBlock block, MessageSpool spool, CancellationToken ct)
    {
        var editor = new HeaderEditor(block.Headers);
        bool headersChanged = false;
        byte[]? body = null;
        var envelopeEdits = new List<MilterModification>();
        foreach (var slot in _slots)
        {
            if (slot.Disabled || slot.Client is null) continue;
            if (slot.Failed)
            {
                if (DefaultResult(slot) is { } d) return new MilterMessageResult { Decision = d };
                continue;
            }
            var client = slot.Client;
            try
            {
                var final = await SendContentAsync(client, editor.Headers, body, spool, block.BodyOffset, ct).ConfigureAwait(false);
                if (final is not null)
                {
                    if (final.QuarantineReason != null) _quarantine = final.QuarantineReason;
                    var v = Verdict(slot, final);
                    if (v.Verdict != MilterVerdict.Continue) return new MilterMessageResult { Decision = v, QuarantineReason = _quarantine };
                    continue; // accepted before the end: no edits from this milter
                }
                var eom = await client.EndOfMessageAsync(Macros, ct).ConfigureAwait(false);
                if (eom.Response.QuarantineReason != null) _quarantine = eom.Response.QuarantineReason;
                var verdict = Verdict(slot, eom.Response);
                if (verdict.Verdict != MilterVerdict.Continue) return new MilterMessageResult { Decision = verdict, QuarantineReason = _quarantine };
                bool leadingSpace = client.Negotiation.HeaderLeadingSpace;
                List<byte>? newBody = null;
                foreach (var m in eom.Modifications)
                {
                    switch (m)
                    {
                        case MilterModification.ReplaceBody rb:
                            (newBody ??= []).AddRange(rb.Body.ToArray());
                            break;
                        case MilterModification.AddHeader or MilterModification.InsertHeader or MilterModification.ChangeHeader:
                            editor.Apply(AsByteStrings(m), leadingSpace);
                            headersChanged = true;
                            break;
                        default:
                            envelopeEdits.Add(m);
                            break;
                    }
                }
                if (newBody != null) body = NormalizeLineEnds(newBody);
            }
            catch (MilterProtocolException e)
            {
                Fail(slot, e);
                if (DefaultResult(slot) is { } d) return new MilterMessageResult { Decision = d };
            }
        }
        return new MilterMessageResult
        {
            Headers = headersChanged ? editor.Headers : null,
            Body = body,
            EnvelopeEdits = envelopeEdits,
            QuarantineReason = _quarantine,
        };
    }

    /// <summary>Header edits carry text decoded as UTF-8; the header block holds byte strings (HeaderBlock).</summary>
    private static MilterModification AsByteStrings(MilterModification m) => m switch
    {
        MilterModification.AddHeader a => a with { Name = HeaderBlock.ToByteString(a.Name), Value = HeaderBlock.ToByteString(a.Value) },
        MilterModification.InsertHeader i => i with { Name = HeaderBlock.ToByteString(i.Name), Value = HeaderBlock.ToByteString(i.Value) },
        MilterModification.ChangeHeader c => c with { Name = HeaderBlock.ToByteString(c.Name), Value = HeaderBlock.ToByteString(c.Value) },
        _ => m,
    };

    /// <summary>Sends headers, EOH and body; returns a final response if the milter decided early, else null.</summary>
    private async Task<MilterResponse?> SendContentAsync(MilterClient client, IReadOnlyList<MessageHeader> headers, byte[]? body,
        MessageSpool spool, long bodyOffset, CancellationToken ct)
    {
        foreach (var h in headers)
        {
            if (h.HiddenFromMilters) continue;
            var r = await client.HeaderAsync(h.Name.TrimEnd(' ', '\t'), h.Value, Macros, ct).ConfigureAwait(false);
            if (r.IsFinal) return r;
            if (r.Action == MilterAction.Skip) break;
        }
        var eoh = await client.EndOfHeadersAsync(Macros, ct).ConfigureAwait(false);
        if (eoh.IsFinal) return eoh;
        if (body != null)
        {
            for (int off = 0; off < body.Length; off += 65535)
            {
                var r = await client.BodyAsync(body.AsMemory(off, Math.Min(65535, body.Length - off)), Macros, ct).ConfigureAwait(false);
                if (r.IsFinal) return r;
                if (r.Action == MilterAction.Skip) break;
            }
            return null;
        }
        await using var stream = spool.OpenRead();
        stream.Seek(bodyOffset, SeekOrigin.Begin);
        var buffer = new byte[65535];
        while (true)
        {
            int n = 0, read;
            while (n < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(n), ct).ConfigureAwait(false)) > 0) n += read;
            if (n == 0) break;
            var r = await client.BodyAsync(buffer.AsMemory(0, n), Macros, ct).ConfigureAwait(false);
            if (r.IsFinal) return r;
            if (r.Action == MilterAction.Skip) break;
            if (n < buffer.Length) break;
        }
        return null;
    }

    /// <summary>REPLBODY as Postfix takes it: split on LF, drop a CR before it, write CRLF lines.</summary>
    private static byte[] NormalizeLineEnds(List<byte> raw)
    {
        var outp = new List<byte>(raw.Count + raw.Count / 40);
        for (int i = 0; i < raw.Count; i++)
        {
            byte b = raw[i];
            if (b == '\n')
            {
                if (outp.Count > 0 && outp[^1] == '\r') outp.RemoveAt(outp.Count - 1);
                outp.Add((byte)'\r'); outp.Add((byte)'\n');
            }
            else outp.Add(b);
        }
        return [.. outp];
    }

    /// <summary>
    /// Marks the transaction as ended: ABORT is sent before the next event (Postfix sends it after every
    /// transaction, even a completed one). Cheap and synchronous so the SMTP session never waits for it.
    /// </summary>
    public void RequestAbort() => _abortPending = true;

    private async Task FlushAbortAsync()
    {
        if (!_abortPending) return;
        _abortPending = false;
        await AbortAsync().ConfigureAwait(false);
    }

    /// <summary>ABORT now.</summary>
    public async Task AbortAsync()
    {
        foreach (var slot in _slots)
        {
            if (slot.Disabled || slot.Failed || slot.Client is not { IsActive: true }) continue;
            try { await slot.Client.AbortAsync().ConfigureAwait(false); }
            catch (MilterProtocolException e) { Fail(slot, e); }
        }
        _quarantine = null;
        _inTransaction = false;
    }

    /// <summary>QUIT at the end of the SMTP session and close every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        // Like Postfix (mail_reset before QUIT): a transaction still open at disconnect - e.g. every RCPT was
        // refused, or the client quit after RCPT - and the one just finished are ended with ABORT, so the milter's
        // abort callback runs before close.
        if (_abortPending || _inTransaction)
        {
            _abortPending = false;
            await AbortAsync().ConfigureAwait(false);
        }
        foreach (var slot in _slots)
        {
            if (slot.Client is null) continue;
            try { if (slot.Client.IsActive) await slot.Client.QuitAsync().ConfigureAwait(false); }
            catch (MilterProtocolException) { }
            await slot.Client.DisposeAsync().ConfigureAwait(false);
        }
    }
}
