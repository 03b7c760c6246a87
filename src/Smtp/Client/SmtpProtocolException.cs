// SmtpProtocolException and SmtpClientStage: "the protocol broke" on the client side (I/O failure,
// end of stream, malformed reply, timeout, TLS handshake failure), as opposed to "the peer refused",
// which is an SmtpReply value. Stage names follow Postfix smtp(8) log wording ("lost connection with
// host[addr] while sending RCPT TO"). RFC 5321 4.5.3.2 (timeouts), 4.2 (reply syntax).
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Client;

/// <summary>Where an SMTP/LMTP client dialog was when something happened (a read-status breadcrumb).</summary>
public enum SmtpClientStage
{
    /// <summary>Waiting for the 220 greeting.</summary>
    Greeting,
    /// <summary>EHLO / HELO / LHLO.</summary>
    Hello,
    /// <summary>STARTTLS command and its reply.</summary>
    StartTls,
    /// <summary>The TLS handshake after a 220 to STARTTLS.</summary>
    TlsHandshake,
    /// <summary>MAIL FROM.</summary>
    MailFrom,
    /// <summary>RCPT TO.</summary>
    RcptTo,
    /// <summary>The DATA command (waiting for 354).</summary>
    Data,
    /// <summary>Sending the message content.</summary>
    Content,
    /// <summary>Waiting for the reply (or, for LMTP, the replies) to the final dot.</summary>
    EndOfData,
    /// <summary>RSET.</summary>
    Reset,
    /// <summary>QUIT.</summary>
    Quit,
}

/// <summary>What kind of breakage a <see cref="SmtpProtocolException"/> reports.</summary>
public enum SmtpProtocolError
{
    /// <summary>The peer closed the connection or a read/write failed (Postfix: "lost connection").</summary>
    ConnectionLost,
    /// <summary>A per-step timeout expired (Postfix: "conversation ... timed out").</summary>
    Timeout,
    /// <summary>The peer sent something that is not a valid reply, or data the protocol forbids.</summary>
    Malformed,
    /// <summary>The TLS handshake callback failed.</summary>
    TlsHandshakeFailed,
}

/// <summary>
/// The client dialog is broken and the connection must be dropped (MailKit's SmtpProtocolException
/// split). A refusal by the peer is never reported this way; it is an <see cref="SmtpReply"/> value.
/// </summary>
public sealed class SmtpProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">kind of breakage.</param>
    /// <param name="stage">dialog stage when it happened.</param>
    /// <param name="message">human-readable detail (no host name; the caller adds it).</param>
    /// <param name="inner">the I/O exception, if any.</param>
    public SmtpProtocolException(SmtpProtocolError error, SmtpClientStage stage, string message, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        Stage = stage;
    }

    /// <summary>Kind of breakage.</summary>
    public SmtpProtocolError Error { get; }

    /// <summary>The stage at which the dialog broke.</summary>
    public SmtpClientStage Stage { get; }

    /// <summary>
    /// When the dialog broke inside <see cref="SmtpClientSession.SendAsync"/>: one entry per recipient
    /// of the transaction, in order; an entry is the reply that already decided that recipient (a RCPT
    /// refusal, or for LMTP a per-recipient reply received before the break), or null when the
    /// recipient is still undecided. Null outside a transaction.
    /// </summary>
    public IReadOnlyList<SmtpReply?>? RecipientReplies { get; internal set; }

    /// <summary>Postfix wording of the stage: "while receiving the initial server greeting", ...</summary>
    public string StageText => DescribeStage(Stage);

    /// <summary>Postfix smtp(8) wording for a stage, e.g. "while sending RCPT TO".</summary>
    public static string DescribeStage(SmtpClientStage stage) => stage switch
    {
        SmtpClientStage.Greeting => "while receiving the initial server greeting",
        SmtpClientStage.Hello => "while performing the EHLO handshake",
        SmtpClientStage.StartTls => "while sending STARTTLS",
        SmtpClientStage.TlsHandshake => "while performing the TLS handshake",
        SmtpClientStage.MailFrom => "while sending MAIL FROM",
        SmtpClientStage.RcptTo => "while sending RCPT TO",
        SmtpClientStage.Data => "while sending DATA command",
        SmtpClientStage.Content => "while sending message body",
        SmtpClientStage.EndOfData => "while sending end of data -- message may be sent more than once",
        SmtpClientStage.Reset => "while sending RSET",
        _ => "while sending QUIT",
    };
}
