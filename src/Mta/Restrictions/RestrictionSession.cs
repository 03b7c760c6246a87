// RestrictionSession: evaluates the restriction lists for one SMTP session at each stage, with Postfix's
// per-stage DEFER_IF_PERMIT / DEFER_IF_REJECT state and the transaction's delegated actions (PREPEND, HOLD,
// DISCARD, REDIRECT, BCC). Builds the policy delegation request from the session.
// Follows Postfix smtpd_check.c (smtpd_check_client/helo/mail/rcpt/data/eod, generic_checks,
// check_table_result, smtpd_check_reject, defer_if, check_policy_service) and SMTPD_POLICY_README.
using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.PolicyDelegation;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Restrictions;

/// <summary>What the restrictions asked to do with the current message (reset at MAIL FROM and on abort).</summary>
public sealed class TransactionEffects
{
    /// <summary>PREPEND header lines (without CRLF), in the order they were triggered.</summary>
    public List<string> Prepend { get; } = [];
    /// <summary>HOLD: the log text when triggered, else null.</summary>
    public string? Hold { get; set; }
    /// <summary>DISCARD: the log text when triggered, else null.</summary>
    public string? Discard { get; set; }
    /// <summary>REDIRECT: the last target address, else null.</summary>
    public string? Redirect { get; set; }
    /// <summary>BCC: added recipients in order.</summary>
    public List<string> Bcc { get; } = [];
}

/// <summary>Per-session restriction state. Not thread-safe: one session, one caller at a time.</summary>
public sealed class RestrictionSession
{
    private enum Status { Dunno, Ok, Reject }

    private sealed class Check(RestrictionClass cls, string replyName, PolicyProtocolState where, string verb)
    {
        public RestrictionClass Class { get; } = cls;
        public string ReplyName { get; } = replyName;
        public PolicyProtocolState Where { get; } = where;
        public string Verb { get; } = verb;
        public AccessReply? Reply { get; set; }
    }

    private const int MaxRecursion = 100;
    private readonly RestrictionEngine _engine;
    private readonly string _mailVersion;
    private SmtpSessionContext? _session;
    private string? _helo;
    private SmtpPath? _sender;
    private SmtpPath? _recipient;
    private int _accepted;
    private string _queueId = "";
    private string _instance = "";
    private long _size;
    private AccessReply? _dip, _dir, _dipClient, _dipHelo, _dipSender;

    internal RestrictionSession(RestrictionEngine engine, string mailVersion)
    {
        _engine = engine;
        _mailVersion = mailVersion;
    }

    /// <summary>The delegated actions of the current transaction.</summary>
    public TransactionEffects Effects { get; private set; } = new();

    /// <summary>The instance attribute of the current transaction ("" before MAIL FROM).</summary>
    public string Instance => _instance;

    // The session's HELO name, or the last one given to HeloAsync (the session records it only after accepting it).
    private string? Helo => _helo ?? _session?.HeloName;

    private string ClientNameAddress => $"{_session?.ClientName ?? "unknown"}[{_session?.RemoteAddress?.ToString() ?? "unknown"}]";

    /// <summary>At connect: smtpd_client_restrictions when smtpd_delay_reject = no. Returns the refusal or null.</summary>
    public async ValueTask<SmtpReply?> ConnectAsync(SmtpSessionContext session, CancellationToken ct)
    {
        _session = session;
        if (_engine.Options.DelayReject) return null;
        return ToReply(await CheckClientAsync(PolicyProtocolState.Connect, "CONNECT", ct).ConfigureAwait(false));
    }

    /// <summary>At HELO/EHLO: smtpd_helo_restrictions when smtpd_delay_reject = no.</summary>
    public async ValueTask<SmtpReply?> HeloAsync(SmtpSessionContext session, string heloName, bool extended, CancellationToken ct)
    {
        _session = session;
        _helo = heloName;
        if (_engine.Options.DelayReject) return null;
        var where = extended ? PolicyProtocolState.Ehlo : PolicyProtocolState.Helo;
        var refused = ToReply(await CheckHeloAsync(heloName, where, extended ? "EHLO" : "HELO", ct).ConfigureAwait(false));
        if (refused != null) _helo = session.HeloName; // the refused name is not kept
        return refused;
    }

    /// <summary>At MAIL FROM: starts the transaction (instance, effects) and, when smtpd_delay_reject = no, runs smtpd_sender_restrictions.</summary>
    /// <param name="session">the session.</param>
    /// <param name="sender">MAIL FROM address.</param>
    /// <param name="parameters">MAIL FROM parameters (SIZE is sent as size).</param>
    /// <param name="queueId">the transaction's queue ID (sent as queue_id once a recipient was accepted, as Postfix opens its queue file then).</param>
    /// <param name="ct">cancelled when the session ends.</param>
    public async ValueTask<SmtpReply?> MailAsync(SmtpSessionContext session, SmtpPath sender, MailParameters parameters, string queueId, CancellationToken ct)
    {
        _session = session;
        ResetTransaction();
        _sender = sender;
        _size = parameters.Size ?? 0;
        _queueId = queueId;
        _instance = PolicyInstance.Create(_engine.Time);
        if (_engine.Options.DelayReject) return null;
        var reply = ToReply(await CheckSenderAsync(PolicyProtocolState.Mail, "MAIL", ct).ConfigureAwait(false));
        if (reply != null) ResetTransaction();
        return reply;
    }

    /// <summary>At RCPT TO: delayed client/helo/sender lists, then smtpd_relay_restrictions and smtpd_recipient_restrictions.</summary>
    public async ValueTask<SmtpReply?> RcptAsync(SmtpSessionContext session, SmtpPath recipient, CancellationToken ct)
    {
        _session = session;
        _recipient = recipient;
        try
        {
            if (recipient.Domain.Length == 0 && recipient.LocalPart.Equals("postmaster", StringComparison.OrdinalIgnoreCase)) return Accepted(); // RFC 5321 3.6
            if (_engine.Options.DelayReject)
            {
                AccessReply? err = await CheckClientAsync(PolicyProtocolState.Rcpt, "RCPT", ct).ConfigureAwait(false);
                if (err == null && Helo is { } helo) err = await CheckHeloAsync(helo, PolicyProtocolState.Rcpt, "RCPT", ct).ConfigureAwait(false);
                if (err == null) err = await CheckSenderAsync(PolicyProtocolState.Rcpt, "RCPT", ct).ConfigureAwait(false);
                if (err != null) return ToReply(err);
            }
            _dip = _dipSender;
            _dir = null;
            var check = new Check(RestrictionClass.Recipient, recipient.Address, PolicyProtocolState.Rcpt, "RCPT");
            var status = Status.Dunno;
            foreach (var list in new[] { _engine.Relay, _engine.Recipient })
            {
                status = await RunListAsync(list, check, 0, ct).ConfigureAwait(false);
                if (status == Status.Reject) break;
            }
            if (status != Status.Reject && _dip != null) status = Reject(check, _dip);
            if (status == Status.Reject) return LogReject(check);
            return Accepted();
        }
        finally
        {
            _recipient = null;
        }

        SmtpReply? Accepted()
        {
            _accepted++;
            return null;
        }
    }

    /// <summary>At DATA (or the first BDAT): smtpd_data_restrictions.</summary>
    /// <param name="session">the session.</param>
    /// <param name="recipientCount">recipients accepted.</param>
    /// <param name="onlyRecipient">the recipient when exactly one was accepted (sent as recipient), else null.</param>
    /// <param name="ct">cancelled when the session ends.</param>
    public async ValueTask<SmtpReply?> DataAsync(SmtpSessionContext session, int recipientCount, SmtpPath? onlyRecipient, CancellationToken ct)
    {
        _session = session;
        _accepted = recipientCount;
        _recipient = recipientCount == 1 ? onlyRecipient : null;
        var check = new Check(RestrictionClass.Data, "DATA", PolicyProtocolState.Data, "DATA");
        return await FinalCheckAsync(_engine.Data, check, ct).ConfigureAwait(false);
    }

    /// <summary>At end of message (before milters): smtpd_end_of_data_restrictions; <paramref name="size"/> is the message size in bytes.</summary>
    public async ValueTask<SmtpReply?> EndOfDataAsync(SmtpSessionContext session, int recipientCount, SmtpPath? onlyRecipient, long size, CancellationToken ct)
    {
        _session = session;
        _accepted = recipientCount;
        _recipient = recipientCount == 1 ? onlyRecipient : null;
        _size = size;
        var check = new Check(RestrictionClass.EndOfData, "END-OF-MESSAGE", PolicyProtocolState.EndOfMessage, "END-OF-MESSAGE");
        return await FinalCheckAsync(_engine.EndOfData, check, ct).ConfigureAwait(false);
    }

    /// <summary>The transaction ended (delivered, RSET, error): forget sender, instance and effects.</summary>
    public void ResetTransaction()
    {
        _sender = null;
        _recipient = null;
        _accepted = 0;
        _queueId = "";
        _instance = "";
        _size = 0;
        _dipSender = null;
        Effects = new TransactionEffects();
    }

    private async ValueTask<SmtpReply?> FinalCheckAsync(IReadOnlyList<Restriction> list, Check check, CancellationToken ct)
    {
        try
        {
            _dip = null;
            _dir = null;
            var status = await RunListAsync(list, check, 0, ct).ConfigureAwait(false);
            if (status != Status.Reject && _dip != null) status = Reject(check, _dip);
            return status == Status.Reject ? LogReject(check) : null;
        }
        finally
        {
            _recipient = null;
        }
    }

    // smtpd_check_client: resets defer_if_permit, remembers it for later stages.
    private async ValueTask<AccessReply?> CheckClientAsync(PolicyProtocolState where, string verb, CancellationToken ct)
    {
        _dip = null;
        _dir = null;
        var check = new Check(RestrictionClass.Client, ClientNameAddress, where, verb);
        var status = await RunListAsync(_engine.Client, check, 0, ct).ConfigureAwait(false);
        _dipClient = _dip;
        return status == Status.Reject ? LogRejectReply(check) : null;
    }

    private async ValueTask<AccessReply?> CheckHeloAsync(string helo, PolicyProtocolState where, string verb, CancellationToken ct)
    {
        _dip = _dipClient;
        _dir = null;
        var check = new Check(RestrictionClass.Helo, helo, where, verb);
        var status = await RunListAsync(_engine.Helo, check, 0, ct).ConfigureAwait(false);
        _dipHelo = _dip;
        return status == Status.Reject ? LogRejectReply(check) : null;
    }

    private async ValueTask<AccessReply?> CheckSenderAsync(PolicyProtocolState where, string verb, CancellationToken ct)
    {
        if (_sender is null) return null;
        _dip = _dipClient ?? _dipHelo;
        _dir = null;
        var check = new Check(RestrictionClass.Sender, _sender.Address, where, verb);
        var status = await RunListAsync(_engine.Sender, check, 0, ct).ConfigureAwait(false);
        _dipSender = _dip;
        return status == Status.Reject ? LogRejectReply(check) : null;
    }

    // generic_checks: first OK or REJECT ends the list; both defer_if_* raised also ends it.
    private async ValueTask<Status> RunListAsync(IReadOnlyList<Restriction> list, Check check, int depth, CancellationToken ct)
    {
        foreach (var r in list)
        {
            var status = await EvaluateAsync(r, check, depth, ct).ConfigureAwait(false);
            if (status != Status.Dunno) return status;
            if (_dip != null && _dir != null) break;
        }
        return Status.Dunno;
    }

    private async ValueTask<Status> EvaluateAsync(Restriction r, Check check, int depth, CancellationToken ct)
    {
        var client = _session?.RemoteAddress;
        string reply = check.ReplyName;
        string cls = PolicyCheckContext.ClassNameOf(check.Class);
        switch (r.Kind)
        {
            case RestrictionKind.Permit: return Status.Ok;
            case RestrictionKind.Reject: return Reject(check, AccessReplyBuilder.Finish(554, Dsn("5.7.1", check), $"<{reply}>: {cls} rejected: Access denied", _engine.ReplyOptions));
            case RestrictionKind.Defer: return Reject(check, AccessReplyBuilder.Finish(450, Dsn("4.7.1", check), $"<{reply}>: {cls} rejected: Try again later", _engine.ReplyOptions));
            case RestrictionKind.DeferIfPermit:
                _dip ??= AccessReplyBuilder.Finish(_engine.Options.AccessMapDeferCode, "4.7.1", $"<{reply}>: {cls} rejected: defer_if_permit requested", _engine.ReplyOptions);
                return Status.Dunno;
            case RestrictionKind.DeferIfReject:
                _dir ??= AccessReplyBuilder.Finish(_engine.Options.AccessMapDeferCode, "4.7.1", $"<{reply}>: {cls} rejected: defer_if_reject requested", _engine.ReplyOptions);
                return Status.Dunno;
            case RestrictionKind.PermitMynetworks: return _engine.MyNetworks.Contains(client) ? Status.Ok : Status.Dunno;
            case RestrictionKind.PermitSaslAuthenticated: return Status.Dunno;
            case RestrictionKind.PermitAuthDestination:
                return _recipient is { } p && _engine.Domains.IsAuthorizedDestination(p) ? Status.Ok : Status.Dunno;
            case RestrictionKind.RejectUnauthDestination:
            case RestrictionKind.DeferUnauthDestination:
                if (_recipient is not { } rcpt || _engine.Domains.IsAuthorizedDestination(rcpt)) return Status.Dunno;
                bool defer = r.Kind == RestrictionKind.DeferUnauthDestination;
                return Reject(check, AccessReplyBuilder.Finish(defer ? 454 : 554, defer ? "4.7.1" : "5.7.1", $"<{rcpt.Address}>: Relay access denied", _engine.ReplyOptions));
            case RestrictionKind.CheckPolicyService:
                return await PolicyAsync(r, check, depth, ct).ConfigureAwait(false);
            default:
                return Status.Dunno;
        }
    }

    private static string Dsn(string status, Check check) => EnhancedStatus.FixForClass(status, check.Class);

    private async ValueTask<Status> PolicyAsync(Restriction r, Check check, int depth, CancellationToken ct)
    {
        var result = await r.Client!.QueryAsync(BuildRequest(check.Where), ct).ConfigureAwait(false);
        foreach (var problem in result.Problems) _engine.Log.LogWarning("{Problem}", problem);
        if (result.UsedDefaultAction)
            _engine.Log.LogWarning("{QueueId}: policy service {Service} unavailable; using smtpd_policy_service_default_action {Action}",
                LogQueueId, r.Service, result.Action.Value);
        return await ApplyAsync(result.Action, check, r.Service!, depth, ct).ConfigureAwait(false);
    }

    private async ValueTask<Status> ApplyAsync(AccessAction a, Check check, string source, int depth, CancellationToken ct)
    {
        var ctx = new PolicyCheckContext(check.Class, check.ReplyName, check.Where, _sender != null);
        if (a.Warning != null) _engine.Log.LogWarning("policy service {Service}: {Warning}", source, a.Warning);
        if (a.IgnoredBecause(ctx) is { } why)
        {
            _engine.Log.LogWarning("access table {Service}: {Why}", source, why);
            return Status.Dunno;
        }
        switch (a.Kind)
        {
            case AccessActionKind.Ok: return Status.Ok;
            case AccessActionKind.Dunno: return Status.Dunno;
            case AccessActionKind.Reject or AccessActionKind.Defer or AccessActionKind.Reply or AccessActionKind.ServerError:
                return Reject(check, AccessReplyBuilder.Build(a, ctx, _engine.ReplyOptions)!);
            case AccessActionKind.DeferIfPermit:
                _dip ??= AccessReplyBuilder.Build(a, ctx, _engine.ReplyOptions);
                return Status.Dunno;
            case AccessActionKind.DeferIfReject:
                _dir ??= AccessReplyBuilder.Build(a, ctx, _engine.ReplyOptions);
                return Status.Dunno;
            case AccessActionKind.Hangup:
                return Reject(check, AccessReplyBuilder.Finish(421, "4.7.0", $"{check.Verb} Server closing connection", _engine.ReplyOptions));
            case AccessActionKind.Prepend:
                Effects.Prepend.Add(a.Text);
                return Status.Dunno;
            case AccessActionKind.Hold:
                if (Effects.Hold == null)
                {
                    Effects.Hold = a.DescribeForLog(ctx);
                    LogWhatsup("hold", check, Effects.Hold!);
                }
                return Status.Dunno;
            case AccessActionKind.Discard:
                Effects.Discard = a.DescribeForLog(ctx);
                LogWhatsup("discard", check, Effects.Discard!);
                return Status.Ok;
            case AccessActionKind.Redirect:
                Effects.Redirect = a.Text;
                LogWhatsup("redirect", check, a.DescribeForLog(ctx)!);
                return Status.Dunno;
            case AccessActionKind.Bcc:
                Effects.Bcc.Add(a.Text);
                LogWhatsup("bcc", check, a.DescribeForLog(ctx)!);
                return Status.Dunno;
            case AccessActionKind.Filter:
                _engine.Log.LogWarning("{QueueId}: {Text}: FILTER is not supported; treated as DUNNO", LogQueueId, a.DescribeForLog(ctx));
                return Status.Dunno;
            case AccessActionKind.Warn:
                LogWhatsup("warn", check, a.Text);
                return Status.Dunno;
            case AccessActionKind.Info:
                LogWhatsup("info", check, a.Text);
                return Status.Dunno;
            case AccessActionKind.Restrictions:
                if (depth >= MaxRecursion) return ServerError(check, $"{source}: restriction recursion limit exceeded");
                IReadOnlyList<Restriction> nested;
                try { nested = _engine.Parse($"policy service {source} reply", a.Restrictions); }
                catch (FormatException e) { return ServerError(check, e.Message); }
                return await RunListAsync(nested, check, depth + 1, ct).ConfigureAwait(false);
            default:
                return Status.Dunno;
        }
    }

    private Status ServerError(Check check, string warning)
    {
        _engine.Log.LogWarning("{Warning}", warning);
        return Reject(check, AccessReplyBuilder.Finish(451, "4.3.5", "Server configuration error", _engine.ReplyOptions));
    }

    // smtpd_check_reject: a 5xx becomes the pending DEFER_IF_REJECT reply.
    private Status Reject(Check check, AccessReply reply)
    {
        if (reply.Code >= 500 && _dir != null)
        {
            reply = _dir;
            _dir = null;
        }
        check.Reply = reply;
        return Status.Reject;
    }

    private SmtpReply LogReject(Check check) => ToReply(LogRejectReply(check))!;

    private AccessReply LogRejectReply(Check check)
    {
        LogWhatsup("reject", check, check.Reply!.Line);
        return check.Reply!;
    }

    private string LogQueueId => _accepted > 0 && _queueId.Length > 0 ? _queueId : "NOQUEUE";

    // Postfix log_whatsup: "QID: reject: RCPT from name[addr]: text; from=<s> to=<r> proto=ESMTP helo=<h>".
    private void LogWhatsup(string what, Check check, string text)
    {
        var s = _session;
        string from = _sender is { } snd ? $" from=<{snd.Address}>" : "";
        string to = _recipient is { } r ? $" to=<{r.Address}>" : "";
        string proto = s?.IsExtended == true ? "ESMTP" : "SMTP";
        string helo = Helo is { } h ? $" helo=<{h}>" : "";
        _engine.Log.LogInformation("{QueueId}: {What}: {Verb} from {Client}: {Text};{From}{To} proto={Proto}{Helo}",
            LogQueueId, what, check.Verb, ClientNameAddress, text, from, to, proto, helo);
    }

    private static SmtpReply? ToReply(AccessReply? r) => r is null ? null : new SmtpReply(r.Code, r.EnhancedStatus, r.Text);

    /// <summary>The policy request for the current session state at <paramref name="where"/> (Postfix check_policy_service).</summary>
    internal PolicyRequest BuildRequest(PolicyProtocolState where)
    {
        var s = _session;
        var remote = s?.RemoteEndPoint as IPEndPoint;
        var local = s?.LocalEndPoint as IPEndPoint;
        string Port(IPEndPoint? e) => e?.Port.ToString(CultureInfo.InvariantCulture) ?? "";
        string Addr(IPAddress? a) => a is null ? "" : (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString();
        var (protocol, cipher, bits) = ParseTls(s?.IsSecure == true ? s.TlsDescription : null);
        return new PolicyRequest
        {
            ProtocolState = where,
            ProtocolName = s?.IsExtended == true ? "ESMTP" : "SMTP",
            ClientAddress = Addr(s?.RemoteAddress),
            ClientName = s?.ClientName ?? "unknown",
            ClientPort = Port(remote),
            ReverseClientName = s?.ClientName ?? "unknown",
            ServerAddress = Addr(local?.Address),
            ServerPort = Port(local),
            HeloName = Helo ?? "",
            Sender = _sender?.Address ?? "",
            Recipient = _recipient?.Address ?? "",
            RecipientCount = _accepted,
            QueueId = _accepted > 0 ? _queueId : "",
            Instance = _instance,
            Size = _size,
            EncryptionProtocol = protocol,
            EncryptionCipher = cipher,
            EncryptionKeysize = bits,
            MailVersion = _mailVersion,
        };
    }

    // "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384" -> (TLSv1.3, TLS_AES_256_GCM_SHA384, 256)
    internal static (string Protocol, string Cipher, int Bits) ParseTls(string? description)
    {
        if (string.IsNullOrEmpty(description)) return ("", "", 0);
        var parts = description.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string protocol = parts[0];
        string cipher = parts.Length >= 4 ? parts[3] : "";
        int bits = cipher.Contains("256", StringComparison.Ordinal) || cipher.Contains("CHACHA20", StringComparison.Ordinal) ? 256
            : cipher.Contains("128", StringComparison.Ordinal) ? 128 : 0;
        return (protocol, cipher, bits);
    }
}
