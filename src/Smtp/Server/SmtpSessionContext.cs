// SmtpSessionContext and SmtpTransaction: the facts of one session and of its current mail transaction,
// visible to the handler; plus the reason a session ended (recorded for logs, like Pipelines.Sockets'
// PipeShutdownKind).
using System.Net;
using Mta.Smtp.Envelope;

namespace Mta.Smtp.Server;

/// <summary>Why a session ended.</summary>
public enum SessionEndReason
{
    /// <summary>Still running.</summary>
    None,
    /// <summary>The client sent QUIT.</summary>
    Quit,
    /// <summary>The client closed the connection without QUIT.</summary>
    ClientClosed,
    /// <summary>smtpd_timeout passed while waiting for the client.</summary>
    CommandTimeout,
    /// <summary>smtpd_session_timeout passed.</summary>
    SessionTimeout,
    /// <summary>smtpd_hard_error_limit reached.</summary>
    TooManyErrors,
    /// <summary>The handler answered 421 (or refused the connection).</summary>
    Refused,
    /// <summary>An HTTP request or other cross-protocol traffic.</summary>
    ProtocolViolation,
    /// <summary>The TLS handshake failed.</summary>
    TlsFailure,
    /// <summary>An I/O error on the connection.</summary>
    IoError,
    /// <summary>The server is shutting down.</summary>
    Shutdown,
}

/// <summary>One accepted recipient with its RCPT parameters.</summary>
public sealed record AcceptedRecipient(SmtpPath Address, RecipientParameters Parameters);

/// <summary>The current mail transaction (RFC 5321 3.3): from MAIL to end-of-data or RSET.</summary>
public sealed class SmtpTransaction
{
    internal SmtpTransaction(SmtpPath sender, MailParameters parameters)
    {
        Sender = sender;
        Parameters = parameters;
    }

    /// <summary>The envelope sender.</summary>
    public SmtpPath Sender { get; }
    /// <summary>MAIL FROM parameters.</summary>
    public MailParameters Parameters { get; }
    /// <summary>Accepted recipients, in order.</summary>
    public List<AcceptedRecipient> Recipients { get; } = [];
    /// <summary>Free slot for the host (e.g. its queue ID and per-transaction state).</summary>
    public object? HostState { get; set; }
}

/// <summary>Facts about one SMTP session.</summary>
public sealed class SmtpSessionContext
{
    /// <summary>Creates a context for a connection.</summary>
    public SmtpSessionContext(EndPoint? remote, EndPoint? local)
    {
        RemoteEndPoint = remote;
        LocalEndPoint = local;
    }

    /// <summary>Client endpoint (IPEndPoint for TCP).</summary>
    public EndPoint? RemoteEndPoint { get; }
    /// <summary>Server endpoint the client connected to.</summary>
    public EndPoint? LocalEndPoint { get; }
    /// <summary>The connected peer's IP address (never changed by XCLIENT), or null.</summary>
    public IPAddress? PeerAddress => (RemoteEndPoint as IPEndPoint)?.Address is { } a && a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : (RemoteEndPoint as IPEndPoint)?.Address;
    /// <summary>Client IP address: the peer's, or the one an authorized XCLIENT set; null when unknown.</summary>
    public IPAddress? RemoteAddress => XclientAddress ?? PeerAddress;
    /// <summary>The client address set by XCLIENT ADDR (Postfix XCLIENT_README), or null.</summary>
    public IPAddress? XclientAddress { get; internal set; }
    /// <summary>
    /// XFORWARD attributes (NAME ADDR PORT PROTO HELO IDENT SOURCE, decoded; "[UNAVAILABLE]" kept as sent) for
    /// the current transaction only (Postfix XFORWARD_README); empty when none.
    /// </summary>
    public Dictionary<string, string> Xforward { get; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Verified client host name, or "unknown" (set by the host).</summary>
    public string ClientName { get; set; } = "unknown";
    /// <summary>The last accepted HELO/EHLO argument, or null.</summary>
    public string? HeloName { get; internal set; }
    /// <summary>True after EHLO (ESMTP), false after HELO.</summary>
    public bool IsExtended { get; internal set; }
    /// <summary>True once TLS is active.</summary>
    public bool IsSecure { get; internal set; }
    /// <summary>TLS details (protocol, cipher) or null.</summary>
    public string? TlsDescription { get; internal set; }
    /// <summary>The transaction in progress, or null.</summary>
    public SmtpTransaction? Transaction { get; internal set; }
    /// <summary>Why the session ended.</summary>
    public SessionEndReason EndReason { get; internal set; }
    /// <summary>Per-verb counters "accepted/total" for Postfix's disconnect line (ehlo=1 mail=1 ...).</summary>
    public SortedDictionary<string, (int Ok, int Total)> CommandCounts { get; } = new(StringComparer.Ordinal);
    /// <summary>Errors counted toward the soft/hard error limits.</summary>
    public int ErrorCount { get; internal set; }
    /// <summary>Free slot for the host.</summary>
    public object? HostState { get; set; }

    /// <summary>RFC 3848 protocol name for Received: (SMTP, ESMTP, ESMTPS; UTF8SMTP/UTF8SMTPS per RFC 6531).</summary>
    public string ProtocolName(bool smtpUtf8) =>
        !IsExtended ? "SMTP" : smtpUtf8 ? (IsSecure ? "UTF8SMTPS" : "UTF8SMTP") : (IsSecure ? "ESMTPS" : "ESMTP");

    /// <summary>Postfix's disconnect summary: <c>ehlo=1 mail=1 rcpt=0/1 data=1 quit=1 commands=4/5</c>.</summary>
    public string FormatCommandCounts()
    {
        int ok = 0, total = 0;
        var parts = new List<string>();
        foreach (var (verb, (o, t)) in CommandCounts)
        {
            parts.Add(o == t ? $"{verb}={t}" : $"{verb}={o}/{t}");
            ok += o; total += t;
        }
        parts.Add(ok == total ? $"commands={total}" : $"commands={ok}/{total}");
        return string.Join(' ', parts);
    }
}
