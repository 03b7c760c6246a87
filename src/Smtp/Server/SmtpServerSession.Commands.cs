// SmtpServerSession.Commands: execution of each command line — state-table check, parameter and
// limit checks, handler call, reply. RFC 5321 4.1.1, 4.5.3.1.8 (recipient limit), RFC 1870 (SIZE),
// RFC 6531 3.4 (SMTPUTF8), RFC 3207 (STARTTLS), RFC 2034 (enhanced codes). Texts follow Postfix smtpd.
using System.Buffers;
using System.Text;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

public sealed partial class SmtpServerSession
{
    private static readonly SmtpReply Ok = new(250, "2.0.0", "Ok");
    private static readonly SmtpReply NoService = new(503, "5.5.1", "Error: no SMTP service here (the greeting was 554); send QUIT");

    /// <summary>Executes one command line; returns true when the rest of the input must be discarded (STARTTLS).</summary>
    private async Task<bool> ExecuteCommandLineAsync(ReadOnlySequence<byte> line)
    {
        var parsed = line.IsSingleSegment
            ? SmtpCommandParser.Parse(line.FirstSpan, _parserOptions)
            : SmtpCommandParser.Parse(line.ToArray(), _parserOptions);
        if (parsed.Error is { } syntaxError)
        {
            Count(VerbName(line), ok: false);
            await ReplyErrorAsync(syntaxError).ConfigureAwait(false);
            return false;
        }
        var cmd = parsed.Command!;
        string verbName = cmd.Verb == SmtpVerb.Unknown ? "unknown" : cmd.Verb.ToString().ToLowerInvariant();

        if (cmd.Verb == SmtpVerb.HttpRequest)
        {
            Count(verbName, ok: false);
            await EndWithAsync(new SmtpReply(221, "2.7.0", "Error: I can break rules, too. Goodbye."), SessionEndReason.ProtocolViolation).ConfigureAwait(false);
            return false;
        }

        if (_greetingRefused && cmd.Verb != SmtpVerb.Quit)
        {
            Count(verbName, ok: false);
            if (cmd.Verb == SmtpVerb.Bdat) { BeginDiscardChunk(cmd, NoService); return false; }
            await ReplyErrorAsync(NoService).ConfigureAwait(false);
            return false;
        }

        if (SmtpStateTable.Check(_state, cmd.Verb) is { } sequenceError)
        {
            if (cmd.Verb == SmtpVerb.Bdat) { BeginDiscardChunk(cmd, sequenceError); return false; }
            Count(verbName, ok: false);
            await ReplyErrorAsync(sequenceError).ConfigureAwait(false);
            return false;
        }

        SmtpReply reply = cmd.Verb switch
        {
            SmtpVerb.Helo or SmtpVerb.Ehlo => await HeloAsync(cmd).ConfigureAwait(false),
            SmtpVerb.Mail => await MailAsync(cmd).ConfigureAwait(false),
            SmtpVerb.Rcpt => await RcptAsync(cmd).ConfigureAwait(false),
            SmtpVerb.Data => await DataAsync().ConfigureAwait(false),
            SmtpVerb.Bdat => await BdatAsync(cmd).ConfigureAwait(false),
            SmtpVerb.Rset => Rset(),
            SmtpVerb.Noop => Ok,
            SmtpVerb.Quit => new SmtpReply(221, "2.0.0", "Bye"),
            SmtpVerb.Vrfy => new SmtpReply(252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"),
            SmtpVerb.Help => new SmtpReply(214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS"),
            SmtpVerb.StartTls => StartTlsPrecheck(),
            SmtpVerb.Auth => new SmtpReply(503, "5.5.1", "Error: authentication not enabled"),
            SmtpVerb.Xforward => Xforward(cmd),
            SmtpVerb.Xclient => Xclient(cmd),
            SmtpVerb.Expn or SmtpVerb.Etrn => new SmtpReply(502, "5.5.1", "Error: command not implemented"),
            _ => await UnknownAsync(line).ConfigureAwait(false),
        };

        if (cmd.Verb == SmtpVerb.Bdat && _mode == Mode.Bdat) return false; // reply comes after the chunk
        if (!(cmd.Verb == SmtpVerb.Data && reply.Code == 354)) Count(verbName, reply.Code < 400); // DATA counts at its end
        if (cmd.Verb == SmtpVerb.Quit)
        {
            await SendAsync(reply, flush: true).ConfigureAwait(false);
            End(SessionEndReason.Quit);
            return false;
        }
        if (cmd.Verb == SmtpVerb.StartTls && reply.Code == 220)
        {
            await SendAsync(reply, flush: true).ConfigureAwait(false);
            return true;
        }
        if (reply.Code < 400 && cmd.Verb != SmtpVerb.Data) _state = SmtpStateTable.Next(_state, cmd.Verb);
        await ReplyAsync(reply).ConfigureAwait(false);
        if (cmd.Verb == SmtpVerb.Data && reply.Code == 354) await FlushAsync().ConfigureAwait(false);
        return false;
    }

    private async ValueTask<SmtpReply> UnknownAsync(ReadOnlySequence<byte> line)
    {
        var text = Encoding.UTF8.GetString(line.IsSingleSegment ? line.FirstSpan : line.ToArray());
        var r = await _handler.OnUnknownCommandAsync(_context, text, _hardStop).ConfigureAwait(false);
        // RFC 5321 4.2.4: 500 for an unrecognised command (502 is for recognised but unimplemented ones).
        return r is { IsTransient: true } ? r : new SmtpReply(500, "5.5.2", "Error: command not recognized");
    }

    private static string VerbName(ReadOnlySequence<byte> line)
    {
        var span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        int sp = span.IndexOf((byte)' ');
        var verb = sp < 0 ? span : span[..sp];
        if (verb.Length is 0 or > 12) return "unknown";
        foreach (var b in verb) if (!char.IsAsciiLetter((char)b)) return "unknown";
        var name = Encoding.ASCII.GetString(verb).ToLowerInvariant();
        return Enum.TryParse<SmtpVerb>(name, ignoreCase: true, out _) ? name : "unknown";
    }

    private async ValueTask<SmtpReply> HeloAsync(SmtpCommand cmd)
    {
        var refusal = await _handler.OnHeloAsync(_context, cmd.Argument, _hardStop).ConfigureAwait(false);
        if (refusal != null) return refusal;
        AbortTransaction();
        _context.HeloName = cmd.Argument;
        _context.IsExtended = cmd.Verb == SmtpVerb.Ehlo;
        if (cmd.Verb == SmtpVerb.Helo) return new SmtpReply(250, null, _options.HostName);
        var lines = new List<string> { _options.HostName };
        void Add(string keyword, string? value = null)
        {
            if (!_options.DiscardEhloKeywords.Contains(keyword)) lines.Add(value == null ? keyword : keyword + " " + value);
        }
        Add("PIPELINING");
        Add("SIZE", _options.MessageSizeLimit > 0 ? _options.MessageSizeLimit.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
        Add("VRFY");
        if (_options.OfferStartTls && _transport.CanStartTls && !_transport.IsSecure) Add("STARTTLS");
        Add("ENHANCEDSTATUSCODES");
        Add("8BITMIME");
        Add("DSN");
        if (_options.SmtpUtf8) Add("SMTPUTF8");
        Add("CHUNKING");
        foreach (var x in XKeywords()) lines.Add(x);
        return new SmtpReply(250, null, [.. lines]);
    }

    private async ValueTask<SmtpReply> MailAsync(SmtpCommand cmd)
    {
        if (_options.RequireTls && !_transport.IsSecure) return new SmtpReply(530, "5.7.0", "Must issue a STARTTLS command first");
        var p = cmd.MailParameters ?? MailParameters.Empty;
        if (p.Size is { } size && _options.MessageSizeLimit > 0 && size > _options.MessageSizeLimit)
            return new SmtpReply(552, "5.3.4", "Message size exceeds fixed limit");
        if (p.Body == BodyType.BinaryMime)
            return new SmtpReply(555, "5.5.4", "Unsupported option: BODY=BINARYMIME");
        var sender = cmd.Path ?? SmtpPath.Null;
        var refusal = await _handler.OnMailFromAsync(_context, sender, p, _hardStop).ConfigureAwait(false);
        if (refusal != null) return refusal;
        _context.Transaction = new SmtpTransaction(sender, p);
        return new SmtpReply(250, "2.1.0", "Ok");
    }

    private async ValueTask<SmtpReply> RcptAsync(SmtpCommand cmd)
    {
        var tx = _context.Transaction!;
        var rcpt = cmd.Path!;
        if (tx.Recipients.Count >= _options.RecipientLimit) return new SmtpReply(452, "4.5.3", "Error: too many recipients");
        if (rcpt.RequiresSmtpUtf8 && !tx.Parameters.SmtpUtf8)
            return new SmtpReply(553, "5.6.7", $"{rcpt}: Must declare SMTPUTF8 to send unicode address");
        var p = cmd.RecipientParameters ?? RecipientParameters.Empty;
        var refusal = await _handler.OnRcptToAsync(_context, rcpt, p, _hardStop).ConfigureAwait(false);
        if (refusal != null) return refusal;
        tx.Recipients.Add(new AcceptedRecipient(rcpt, p));
        return new SmtpReply(250, "2.1.5", "Ok");
    }

    private SmtpReply Rset()
    {
        AbortTransaction();
        _context.Xforward.Clear();
        return Ok;
    }

    private SmtpReply StartTlsPrecheck()
    {
        if (_transport.IsSecure) return new SmtpReply(554, "5.5.1", "Error: TLS already active");
        if (!_options.OfferStartTls || !_transport.CanStartTls) return new SmtpReply(502, "5.5.1", "Error: command not implemented");
        return new SmtpReply(220, "2.0.0", "Ready to start TLS");
    }

    private async Task StartTlsAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(_options.CommandTimeout, _time);
            await _transport.StartTlsAsync(cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException or InvalidOperationException)
        {
            End(SessionEndReason.TlsFailure);
            return;
        }
        // RFC 3207 4.2: forget everything learned before TLS.
        AbortTransaction();
        _context.HeloName = null;
        _context.IsExtended = false;
        _context.IsSecure = true;
        _context.TlsDescription = _transport.TlsDescription;
        _state = SmtpSessionState.Connected;
    }
}
