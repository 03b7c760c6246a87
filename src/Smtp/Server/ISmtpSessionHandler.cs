// ISmtpSessionHandler: the host's decisions at each SMTP stage (policy, relay control, the pre-queue
// pipeline). The session owns syntax, sequencing and limits; the handler owns meaning. Every decision
// is a reply value (null = accept with the default reply).
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

/// <summary>Stage callbacks. Implementations must not throw for a refusal: return the reply.</summary>
public interface ISmtpSessionHandler
{
    /// <summary>After accept, before the greeting. A non-null 4xx/5xx reply is sent instead of 220 and the session closes.</summary>
    ValueTask<SmtpReply?> OnConnectAsync(SmtpSessionContext session, CancellationToken cancellationToken);
    /// <summary>HELO/EHLO with a syntactically valid argument. Non-null refuses it.</summary>
    ValueTask<SmtpReply?> OnHeloAsync(SmtpSessionContext session, string heloName, CancellationToken cancellationToken);
    /// <summary>MAIL FROM passed syntax and size checks. Non-null refuses it.</summary>
    ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionContext session, SmtpPath sender, MailParameters parameters, CancellationToken cancellationToken);
    /// <summary>RCPT TO passed syntax and limit checks. Non-null refuses the recipient.</summary>
    ValueTask<SmtpReply?> OnRcptToAsync(SmtpSessionContext session, SmtpPath recipient, RecipientParameters parameters, CancellationToken cancellationToken);
    /// <summary>DATA or the first BDAT. Non-null refuses it (for BDAT the chunk is still read and discarded).</summary>
    ValueTask<SmtpReply?> OnDataAsync(SmtpSessionContext session, CancellationToken cancellationToken);
    /// <summary>
    /// A complete, well-formed message. Returns the end-of-data reply: 250 only when every recipient
    /// was delivered or durably queued. <paramref name="content"/> belongs to the handler afterwards
    /// (it must dispose it).
    /// </summary>
    ValueTask<SmtpReply> OnMessageAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageSpool content, CancellationToken cancellationToken);
    /// <summary>
    /// An unrecognised command (the whole line). A non-null 4xx replaces the default
    /// <c>500 5.5.2 Error: command not recognized</c> (Postfix uses a milter's 4xx for UNKNOWN, else its own 500).
    /// </summary>
    ValueTask<SmtpReply?> OnUnknownCommandAsync(SmtpSessionContext session, string commandLine, CancellationToken cancellationToken) =>
        ValueTask.FromResult<SmtpReply?>(null);

    /// <summary>
    /// True when the client may use <paramref name="verb"/> (XFORWARD or XCLIENT): Postfix's
    /// smtpd_authorized_xforward_hosts / smtpd_authorized_xclient_hosts. Default: nobody.
    /// </summary>
    bool IsAuthorized(SmtpSessionContext session, SmtpVerb verb) => false;

    /// <summary>The transaction ended without a message (RSET, HELO, error, disconnect).</summary>
    void OnTransactionAborted(SmtpSessionContext session);
    /// <summary>The session ended.</summary>
    void OnDisconnected(SmtpSessionContext session);
}
