// MtaSessionHandler: the host's ISmtpSessionHandler — connect/disconnect logging in Postfix's shape,
// relay control at RCPT, the queue ID, the Received: header, and the hand-off of each complete message
// to the pre-queue pipeline. One instance per session.
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Milters;
using Mta.Queue;
using Mta.Restrictions;
using Mta.Routing;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Pipeline;

/// <summary>Per-session stage decisions of the MTA.</summary>
public sealed class MtaSessionHandler : ISmtpSessionHandler
{
    private readonly IdentityOptions _identity;
    private readonly RelayPolicy _relay;
    private readonly PrequeuePipeline _pipeline;
    private readonly QueueIdGenerator _queueIds;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly MilterChain? _milters;
    private readonly IRouter? _router;
    private readonly RestrictionSession _checks;
    private string _client = "unknown[unknown]";
    private string? _queueId;
    private DateTimeOffset _mailTime;
    private bool _discard;

    /// <param name="identity">myhostname, mail_name.</param>
    /// <param name="relay">relay control at RCPT.</param>
    /// <param name="pipeline">delivery after end-of-data.</param>
    /// <param name="queueIds">queue ID source (one per transaction, at MAIL).</param>
    /// <param name="time">clock.</param>
    /// <param name="log">the smtpd log.</param>
    /// <param name="milters">the session's milters, or null when smtpd_milters is empty.</param>
    /// <param name="router">for the {rcpt_host}/{rcpt_mailer} macros; may be null.</param>
    public MtaSessionHandler(IdentityOptions identity, RelayPolicy relay, PrequeuePipeline pipeline, QueueIdGenerator queueIds, TimeProvider time, ILogger log,
        MilterChain? milters = null, IRouter? router = null)
    {
        _identity = identity;
        _relay = relay;
        _pipeline = pipeline;
        _queueIds = queueIds;
        _time = time;
        _log = log;
        _milters = milters;
        _router = router;
        _checks = relay.Engine.NewSession();
    }

    private SmtpReply? MilterRefusal(MilterStageResult r, string stage, SmtpSessionContext session, string extra)
    {
        if (r.Verdict == MilterVerdict.Discard) { _discard = true; return null; }
        if (r.Verdict != MilterVerdict.Refuse) return null;
        _log.LogInformation("{QueueId}: milter-reject: {Stage} from {Client}: {Reply};{Extra} proto={Proto} helo=<{Helo}>",
            _queueId ?? "NOQUEUE", stage, _client, r.Reply, extra, session.IsExtended ? "ESMTP" : "SMTP", session.HeloName);
        return r.Reply;
    }

    public async ValueTask<SmtpReply?> OnConnectAsync(SmtpSessionContext session, CancellationToken cancellationToken)
    {
        var addr = session.RemoteAddress;
        // No reverse lookup yet: loopback is "localhost", everything else "unknown" (Postfix's unverified name).
        session.ClientName = addr != null && IPAddress.IsLoopback(addr) ? "localhost" : "unknown";
        _client = $"{session.ClientName}[{addr?.ToString() ?? "unknown"}]";
        _log.LogInformation("connect from {Client}", _client);
        // Postfix order at every stage: smtpd restrictions first, then milters.
        if (await _checks.ConnectAsync(session, cancellationToken).ConfigureAwait(false) is { } refused) return refused;
        if (_milters is null) return null;
        return await ConnectMiltersAsync(session, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<SmtpReply?> ConnectMiltersAsync(SmtpSessionContext session, CancellationToken ct)
    {
        var m = _milters!.Macros;
        var local = session.LocalEndPoint as IPEndPoint;
        var remote = session.RemoteEndPoint as IPEndPoint;
        m["j"] = _identity.MyHostname;
        m["{daemon_name}"] = _milterOptions?.MacroDaemonName ?? _identity.MyHostname;
        if (local != null) { m["{daemon_addr}"] = Mapped(local.Address).ToString(); m["{daemon_port}"] = local.Port.ToString(System.Globalization.CultureInfo.InvariantCulture); }
        m["v"] = _milterOptions?.MacroV ?? _identity.MailName;
        var addr = session.RemoteAddress?.ToString() ?? "unknown";
        m["_"] = $"{session.ClientName} [{addr}]";
        m["{client_addr}"] = addr;
        m["{client_name}"] = session.ClientName;
        m["{client_ptr}"] = session.ClientName;
        if (remote != null) m["{client_port}"] = remote.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = await _milters.ConnectAsync(session.ClientName, session.RemoteEndPoint, ct).ConfigureAwait(false);
        if (MilterRefusal(r, "CONNECT", session, "") is not { } refusal) return null;
        // Postfix smtpd: 421 -> "421 <host> Service unavailable - try again later" and close;
        // 5xx -> "554 <host> ESMTP not accepting connections", the session stays until QUIT (RFC 5321 3.1).
        return refusal.Code == 421
            ? new SmtpReply(421, null, $"{_identity.MyHostname} Service unavailable - try again later")
            : new SmtpReply(554, null, $"{_identity.MyHostname} ESMTP not accepting connections");
    }

    /// <summary>Postfix's {rcpt_mailer}/{mail_mailer}: the transport name.</summary>
    private static string MailerName(NextHop hop) => hop.Transport.ToString().ToLowerInvariant();

    /// <summary>Postfix's {rcpt_host}/{mail_host}: the next hop as transport(5) writes it ([host]:port, host, domain).</summary>
    private string NextHopText(NextHop hop)
    {
        if (hop.Transport == TransportKind.Local) return _identity.MyHostname;
        if (hop.UnixSocketPath != null) return "unix:" + hop.UnixSocketPath;
        var host = hop.SuppressMx ? "[" + hop.Host + "]" : hop.Host;
        int defaultPort = hop.Transport == TransportKind.Lmtp ? 24 : 25;
        return hop.Port != 0 && hop.Port != defaultPort ? $"{host}:{hop.Port}" : host;
    }

    private static IPAddress Mapped(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    /// <summary>DKIM verification (untrusted clients) and signing (trusted clients, non-local next hops); null = none.</summary>
    public Authentication.MessageAuthentication? Authentication { get; init; }

    /// <summary>smtpd_proxy_filter of this listener, or null: accepted mail goes to the filter instead of the pipeline (docs/proxy-filter.md).</summary>
    public Proxy.ProxyFilterSettings? ProxyFilter { init => _proxy = value is null ? null : new Proxy.ProxySession(value, _log); }
    private readonly Proxy.ProxySession? _proxy;

    /// <summary>smtpd_authorized_xforward_hosts: clients that may send XFORWARD; null = nobody.</summary>
    public Server.NetworkList? XforwardHosts { get; init; }
    /// <summary>smtpd_authorized_xclient_hosts: clients that may send XCLIENT; null = nobody.</summary>
    public Server.NetworkList? XclientHosts { get; init; }

    /// <summary>An XFORWARD attribute of this transaction, or null when absent or "[UNAVAILABLE]"/"[TEMPUNAVAIL]".</summary>
    private static string? Forwarded(SmtpSessionContext session, string name) =>
        session.Xforward.TryGetValue(name, out var v) && v is not ("[UNAVAILABLE]" or "[TEMPUNAVAIL]") ? v : null;

    /// <summary>smtpd_authorized_xforward_hosts / smtpd_authorized_xclient_hosts, judged on the real peer address.</summary>
    public bool IsAuthorized(SmtpSessionContext session, SmtpVerb verb) => verb switch
    {
        SmtpVerb.Xforward => XforwardHosts?.Contains(session.PeerAddress) ?? false,
        SmtpVerb.Xclient => XclientHosts?.Contains(session.PeerAddress) ?? false,
        _ => false,
    };

    private Proxy.XforwardFacts Xforward(SmtpSessionContext session, SmtpTransaction tx) => new(
        session.ClientName, session.RemoteAddress, (session.RemoteEndPoint as IPEndPoint)?.Port,
        session.ProtocolName(tx.Parameters.SmtpUtf8), session.HeloName, _queueId);

    private static string MailLine(SmtpTransaction tx) => "MAIL FROM:" + string.Join(' ', MailArgv(tx.Sender, tx.Parameters));
    private static string RcptLine(SmtpPath rcpt, RecipientParameters p) => "RCPT TO:" + string.Join(' ', RcptArgv(rcpt, p));

    /// <summary>The milter parameters (macro values); set by the composition when milters are configured.</summary>
    public MilterOptions? MilterOptions { init => _milterOptions = value; }
    private readonly MilterOptions? _milterOptions;

    public async ValueTask<SmtpReply?> OnHeloAsync(SmtpSessionContext session, string heloName, CancellationToken cancellationToken)
    {
        if (await _checks.HeloAsync(session, heloName, session.IsExtended, cancellationToken).ConfigureAwait(false) is { } refused) return refused;
        if (_milters is null) return null;
        if (session.IsSecure && session.TlsDescription is { } tls)
        {
            // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384"
            var parts = tls.Split(' ');
            _milters.Macros["{tls_version}"] = parts[0];
            if (parts.Length >= 4) _milters.Macros["{cipher}"] = parts[3];
        }
        var r = await _milters.HeloAsync(heloName, cancellationToken).ConfigureAwait(false);
        return MilterRefusal(r, "HELO", session, "");
    }

    public async ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionContext session, SmtpPath sender, MailParameters parameters, CancellationToken cancellationToken)
    {
        _queueId = _queueIds.Next();
        _mailTime = _time.GetUtcNow();
        _discard = false;
        if (await _checks.MailAsync(session, sender, parameters, _queueId, cancellationToken).ConfigureAwait(false) is { } refused) return refused;
        if (_milters is null) return null;
        _milters.Macros.Remove("i"); // Postfix knows the queue ID only after the first accepted RCPT
        _milters.Macros["{mail_addr}"] = sender.Address;
        if (_router != null && !sender.IsNull && sender.Domain.Length > 0)
        {
            var hop = _router.Route(sender);
            _milters.Macros["{mail_mailer}"] = MailerName(hop);
            _milters.Macros["{mail_host}"] = NextHopText(hop);
        }
        else { _milters.Macros.Remove("{mail_mailer}"); _milters.Macros.Remove("{mail_host}"); }
        var r = await _milters.MailAsync(MailArgv(sender, parameters), cancellationToken).ConfigureAwait(false);
        return MilterRefusal(r, "MAIL", session, $" from=<{sender.Address}>");
    }

    /// <summary>MAIL argv as Postfix sends it to milters: the path in brackets, then the ESMTP parameters.</summary>
    internal static List<string> MailArgv(SmtpPath sender, MailParameters p)
    {
        var argv = new List<string> { sender.ToString() };
        if (p.Size is { } size) argv.Add("SIZE=" + size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (p.Body == BodyType.SevenBit) argv.Add("BODY=7BIT");
        if (p.Body == BodyType.EightBitMime) argv.Add("BODY=8BITMIME");
        if (p.SmtpUtf8) argv.Add("SMTPUTF8");
        if (p.Ret == DsnRet.Full) argv.Add("RET=FULL");
        if (p.Ret == DsnRet.Headers) argv.Add("RET=HDRS");
        if (p.EnvId != null) argv.Add("ENVID=" + Smtp.Envelope.Xtext.Encode(p.EnvId));
        return argv;
    }

    /// <summary>RCPT argv: the path in brackets, then NOTIFY and ORCPT.</summary>
    internal static List<string> RcptArgv(SmtpPath rcpt, RecipientParameters p)
    {
        var argv = new List<string> { rcpt.ToString() };
        if (p.Notify != DsnNotify.None)
        {
            var n = p.Notify.HasFlag(DsnNotify.Never) ? "NEVER"
                : string.Join(',', new[] { (DsnNotify.Success, "SUCCESS"), (DsnNotify.Failure, "FAILURE"), (DsnNotify.Delay, "DELAY") }.Where(x => p.Notify.HasFlag(x.Item1)).Select(x => x.Item2));
            argv.Add("NOTIFY=" + n);
        }
        if (p.OriginalRecipient is { } orcpt && orcpt.IndexOf(';') is int i and > 0)
            argv.Add("ORCPT=" + orcpt[..i] + ";" + Smtp.Envelope.Xtext.Encode(orcpt[(i + 1)..]));
        return argv;
    }

    public async ValueTask<SmtpReply?> OnRcptToAsync(SmtpSessionContext session, SmtpPath recipient, RecipientParameters parameters, CancellationToken cancellationToken)
    {
        // smtpd_relay_restrictions, smtpd_recipient_restrictions (and the delayed client/helo/sender lists); logs its rejects.
        if (await _checks.RcptAsync(session, recipient, cancellationToken).ConfigureAwait(false) is { } refusal) return refusal;
        if (_milters != null)
        {
            _milters.Macros["{rcpt_addr}"] = recipient.Address;
            if (_router != null)
            {
                var hop = _router.Route(recipient);
                _milters.Macros["{rcpt_mailer}"] = MailerName(hop);
                _milters.Macros["{rcpt_host}"] = NextHopText(hop);
            }
            var r = await _milters.RcptAsync(RcptArgv(recipient, parameters), cancellationToken).ConfigureAwait(false);
            if (MilterRefusal(r, "RCPT", session, $" from=<{session.Transaction!.Sender.Address}> to=<{recipient.Address}>") is { } milterRefusal) return milterRefusal;
        }
        if (_proxy != null && await _proxy.RcptAsync(Xforward(session, session.Transaction!), MailLine(session.Transaction!), RcptLine(recipient, parameters), cancellationToken).ConfigureAwait(false) is { } proxyRefusal)
            return proxyRefusal;
        if (session.Transaction!.Recipients.Count == 0)
        {
            _log.LogInformation("{QueueId}: client={Client}", _queueId, _client);
            if (_milters != null) _milters.Macros["i"] = _queueId!;
        }
        return null;
    }

    public async ValueTask<SmtpReply?> OnDataAsync(SmtpSessionContext session, CancellationToken cancellationToken)
    {
        var rcpts = session.Transaction!.Recipients;
        if (await _checks.DataAsync(session, rcpts.Count, rcpts.Count == 1 ? rcpts[0].Address : null, cancellationToken).ConfigureAwait(false) is { } refused) return refused;
        if (_milters != null && MilterRefusal(await _milters.DataAsync(cancellationToken).ConfigureAwait(false), "DATA", session, "") is { } milterRefusal) return milterRefusal;
        return _proxy is null ? null : await _proxy.DataAsync(_queueId, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<SmtpReply> OnMessageAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageSpool content, CancellationToken cancellationToken)
    {
        using var spool = content;
        var queueId = _queueId ?? _queueIds.Next();
        _queueId = null;
        var now = _time.GetUtcNow();
        var envelope = new MessageEnvelope
        {
            QueueId = queueId,
            Sender = transaction.Sender,
            MailParameters = transaction.Parameters,
            Recipients = transaction.Recipients.Select(r => new EnvelopeRecipient(r.Address, r.Parameters)).ToList(),
            ArrivalTime = now,
            // XFORWARD (from an authorized before-queue filter) names the original client for this transaction.
            ClientName = Forwarded(session, "NAME") ?? session.ClientName,
            ClientAddress = Forwarded(session, "ADDR") is { } fa ? (fa.StartsWith("IPV6:", StringComparison.OrdinalIgnoreCase) ? fa[5..] : fa) : session.RemoteAddress?.ToString() ?? "",
            HeloName = Forwarded(session, "HELO") ?? session.HeloName ?? "",
        };
        if (session.Xforward.Count > 0)
            _log.LogInformation("{QueueId}: xforward: client={Name}[{Addr}] helo=<{Helo}> ident={Ident}", queueId, envelope.ClientName, envelope.ClientAddress, envelope.HeloName, Forwarded(session, "IDENT") ?? "");
        var received = ReceivedHeader.Build(envelope.HeloName, envelope.ClientName, envelope.ClientAddress, _identity.MyHostname,
            _identity.MailName, session.ProtocolName(transaction.Parameters.SmtpUtf8), queueId, session.TlsDescription,
            transaction.Recipients.Count == 1 ? transaction.Recipients[0].Address.Address : null, now);
        var rcpts = transaction.Recipients;
        if (await _checks.EndOfDataAsync(session, rcpts.Count, rcpts.Count == 1 ? rcpts[0].Address : null, spool.Length, cancellationToken).ConfigureAwait(false) is { } refused)
        {
            _milters?.RequestAbort();
            _checks.ResetTransaction();
            return refused;
        }
        var effects = _checks.Effects;
        _checks.ResetTransaction();
        // PREPEND headers from the restrictions go above our Received:, in order (Postfix smtpd.c).
        var message = new MessageContent(RestrictionEffects.Prefix(effects, received), spool);
        MessageSpool? replacedBody = null;
        try
        {
            string? holdReason = null;
            if (effects.Discard != null)
            {
                _log.LogInformation("{QueueId}: from=<{Sender}>, size={Size}, nrcpt={Count}", queueId, envelope.Sender.Address, message.Length, envelope.Recipients.Count);
                _log.LogInformation("{QueueId}: discard: {Reason}", queueId, effects.Discard);
                return new SmtpReply(250, "2.0.0", $"Ok: {queueId}");
            }
            bool trusted = _relay.IsTrustedClient(session.RemoteAddress);
            if (Authentication != null && !trusted)
                message = await Authentication.VerifyAsync(queueId, message, cancellationToken).ConfigureAwait(false);
            if (_milters != null)
            {
                var block = RestrictionEffects.ShowPrependedToMilters(HeaderBlock.Read(message), effects);
                var result = await _milters.MessageAsync(block, spool, cancellationToken).ConfigureAwait(false);
                if (result.Decision.Verdict == MilterVerdict.Refuse)
                    return MilterRefusal(result.Decision, "END-OF-MESSAGE", session, $" from=<{transaction.Sender.Address}>")!;
                if (result.Decision.Verdict == MilterVerdict.Discard) _discard = true;
                if (result.EnvelopeEdits.Count > 0)
                    envelope = EnvelopeEditor.Apply(envelope, result.EnvelopeEdits, w => _log.LogWarning("{QueueId}: milter: {Warning}", queueId, w));
                if (result.Body != null)
                {
                    replacedBody = new MessageSpool(1 << 20, Path.GetTempPath());
                    replacedBody.Write(result.Body);
                    replacedBody.Flush();
                }
                if (result.Headers != null || replacedBody != null)
                    message = new MessageContent(block.Write(result.Headers ?? block.Headers), replacedBody ?? message.Body, replacedBody != null ? 0 : block.BodyOffset);
                holdReason = result.QuarantineReason;
            }
            envelope = RestrictionEffects.ApplyRecipients(envelope, effects);
            _log.LogInformation("{QueueId}: from=<{Sender}>, size={Size}, nrcpt={Count}", queueId, envelope.Sender.Address, message.Length, envelope.Recipients.Count);
            if (_discard)
            {
                _log.LogInformation("{QueueId}: milter-discard: END-OF-MESSAGE from {Client}: milter triggers DISCARD action", queueId, _client);
                return new SmtpReply(250, "2.0.0", $"Ok: {queueId}");
            }
            if (envelope.Recipients.Count == 0)
            {
                _log.LogInformation("{QueueId}: no recipients left after milter edits; message dropped", queueId);
                return new SmtpReply(250, "2.0.0", $"Ok: {queueId}");
            }
            if (Authentication != null && trusted && envelope.Recipients.Any(r => _router?.Route(r.Address).Transport is not (null or TransportKind.Local or TransportKind.Discard)))
                message = await Authentication.SignAsync(queueId, message, envelope.Sender.Address, cancellationToken).ConfigureAwait(false);
            if (holdReason != null) return await _pipeline.HoldAsync(envelope, message, "milter-hold: " + holdReason, cancellationToken).ConfigureAwait(false);
            if (effects.Hold != null) return await _pipeline.HoldAsync(envelope, message, effects.Hold, cancellationToken).ConfigureAwait(false);
            if (_proxy != null)
            {
                if (!_proxy.Settings.SpeedAdjust && !envelope.Recipients.Select(r => r.Address).SequenceEqual(transaction.Recipients.Select(r => r.Address)))
                    _log.LogWarning("{QueueId}: recipient changes after RCPT (milter or REDIRECT/BCC) are not seen by the proxy filter; use smtpd_proxy_options = speed_adjust", queueId);
                return await _proxy.MessageAsync(Xforward(session, transaction) with { Ident = queueId }, MailLine(transaction),
                    envelope.Recipients.Select(r => RcptLine(r.Address, r.Parameters)).ToList(), message,
                    $" from=<{envelope.Sender.Address}> to=<{string.Join(">,<", envelope.Recipients.Select(r => r.Address.Address))}> proto={session.ProtocolName(transaction.Parameters.SmtpUtf8)} helo=<{session.HeloName}>",
                    cancellationToken).ConfigureAwait(false);
            }
            return await _pipeline.DeliverAsync(envelope, message, _mailTime == default ? now : _mailTime, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            replacedBody?.Dispose();
            _milters?.RequestAbort();
            _proxy?.Abort();
        }
    }

    public async ValueTask<SmtpReply?> OnUnknownCommandAsync(SmtpSessionContext session, string commandLine, CancellationToken cancellationToken)
    {
        if (_milters is null) return null;
        var r = await _milters.UnknownAsync(commandLine, cancellationToken).ConfigureAwait(false);
        return r.Verdict == MilterVerdict.Refuse ? r.Reply : null;
    }

    public void OnTransactionAborted(SmtpSessionContext session)
    {
        _queueId = null;
        _checks.ResetTransaction();
        _milters?.RequestAbort();
        _proxy?.Abort();
    }

    public void OnDisconnected(SmtpSessionContext session)
    {
        var reason = session.EndReason switch
        {
            SessionEndReason.Quit or SessionEndReason.ClientClosed => "",
            var r => $" reason={r}",
        };
        _log.LogInformation("disconnect from {Client} {Counts}{Reason}", _client, session.FormatCommandCounts(), reason);
        if (_milters != null) _ = _milters.DisposeAsync().AsTask();
        _proxy?.Abort();
    }
}
