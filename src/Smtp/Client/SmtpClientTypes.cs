// Value types of the SMTP/LMTP client: options (per-step timeouts), the transaction to send and its
// per-recipient result. Postfix smtp(8)/lmtp(8) timeouts (smtp_helo_timeout, smtp_command_timeout,
// smtp_data_xfer_timeout, smtp_data_done_timeout); RFC 5321 3.3 (mail transaction), RFC 2033 4.2 (LMTP).
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Client;

/// <summary>Which dialect the session speaks.</summary>
public enum SmtpClientProtocol
{
    /// <summary>SMTP (RFC 5321): EHLO with HELO fallback, one reply after end-of-data.</summary>
    Smtp,
    /// <summary>LMTP (RFC 2033): LHLO, one reply per accepted recipient after end-of-data.</summary>
    Lmtp,
}

/// <summary>Settings of one client session. A timeout of zero or <see cref="Timeout.InfiniteTimeSpan"/> disables it.</summary>
public sealed record SmtpClientOptions
{
    /// <summary>SMTP or LMTP.</summary>
    public SmtpClientProtocol Protocol { get; init; } = SmtpClientProtocol.Smtp;
    /// <summary>The EHLO/HELO/LHLO argument: a domain name or an address literal such as <c>[192.0.2.1]</c>.</summary>
    public string HeloName { get; init; } = "localhost";
    /// <summary>Time limit for the greeting and for the EHLO/HELO/LHLO reply (smtp_helo_timeout; default 300 s).</summary>
    public TimeSpan HeloTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Time limit for the reply to MAIL, RCPT, DATA, RSET, STARTTLS, QUIT and for the TLS handshake, and for writing a command (smtp_command_timeout; default 300 s).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Time limit for writing one buffer of message content (smtp_data_xfer_timeout; default 180 s).</summary>
    public TimeSpan DataTransferTimeout { get; init; } = TimeSpan.FromSeconds(180);
    /// <summary>Time limit for the reply (each LMTP reply) after end-of-data (smtp_data_done_timeout; default 600 s).</summary>
    public TimeSpan DataDoneTimeout { get; init; } = TimeSpan.FromSeconds(600);
    /// <summary>Bytes of content read per write (default 64 KiB); at most twice this is sent per write after dot-stuffing.</summary>
    public int ContentBufferSize { get; init; } = 64 * 1024;
    /// <summary>Largest message (bytes after line-end repair) sent as one <c>BDAT n LAST</c> in the same write as
    /// MAIL and RCPT when the server offers CHUNKING and PIPELINING (RFC 3030 2, 4.2): one round trip instead of two.
    /// Larger messages, LMTP, and 0 use DATA. Default 64 KiB.</summary>
    public int ChunkingSizeLimit
    {
        get => _chunkingSizeLimit;
        init => _chunkingSizeLimit = value is >= 0 and <= MaxChunkingSizeLimit ? value
            : throw new ArgumentOutOfRangeException(nameof(ChunkingSizeLimit), value, $"must be 0..{MaxChunkingSizeLimit}");
    }
    private readonly int _chunkingSizeLimit = 64 * 1024;
    /// <summary>Upper bound of <see cref="ChunkingSizeLimit"/> (16 MiB): the whole message is held in memory to send it as one chunk.</summary>
    public const int MaxChunkingSizeLimit = 16 * 1024 * 1024;
}

/// <summary>One recipient of a transaction with its RCPT parameters (NOTIFY, ORCPT; RFC 3461 4).</summary>
public sealed record SmtpTransactionRecipient(SmtpPath Address, RecipientParameters Parameters)
{
    /// <summary>A recipient without parameters.</summary>
    public SmtpTransactionRecipient(SmtpPath address) : this(address, RecipientParameters.Empty) { }
}

/// <summary>
/// A mail transaction: sender with MAIL parameters, recipients in order, and the content size in bytes
/// (sent as SIZE= when the server announced SIZE; RFC 1870). The content itself is passed to
/// <see cref="SmtpClientSession.SendAsync"/> as a stream.
/// </summary>
public sealed record SmtpTransaction(SmtpPath Sender, MailParameters MailParameters, IReadOnlyList<SmtpTransactionRecipient> Recipients, long? Size);

/// <summary>The reply that decided one recipient and the command it answered.</summary>
/// <param name="Reply">the server's reply, or one the client synthesized when it did not send (SMTPUTF8 or SIZE not supported).</param>
/// <param name="InReplyTo">
/// <see cref="SmtpClientStage.MailFrom"/> (MAIL refused, or the client refused to send),
/// <see cref="SmtpClientStage.RcptTo"/> (RCPT refused), <see cref="SmtpClientStage.Data"/> (DATA refused),
/// or <see cref="SmtpClientStage.EndOfData"/> (the final reply; positive means delivered).
/// </param>
public sealed record SmtpRecipientReply(SmtpReply Reply, SmtpClientStage InReplyTo)
{
    /// <summary>Postfix wording: "MAIL FROM", "RCPT TO", "DATA", "end of DATA".</summary>
    public string CommandText => InReplyTo switch
    {
        SmtpClientStage.MailFrom => "MAIL FROM",
        SmtpClientStage.RcptTo => "RCPT TO",
        SmtpClientStage.Data => "DATA",
        _ => "end of DATA",
    };
}

/// <summary>Result of <see cref="SmtpClientSession.SendAsync"/>: exactly one reply per recipient, in transaction order.</summary>
/// <param name="MailReply">the reply to MAIL FROM, or null when the client did not send it.</param>
/// <param name="Recipients">one entry per recipient of the transaction, same order.</param>
public sealed record SmtpTransactionResult(SmtpReply? MailReply, IReadOnlyList<SmtpRecipientReply> Recipients);

/// <summary>
/// The caller's token cancelled <see cref="SmtpClientSession.SendAsync"/> mid-transaction. Carries what
/// was already decided, because LMTP recipients answered before the cancellation were really delivered.
/// The connection must be dropped.
/// </summary>
public sealed class SmtpTransactionCanceledException : OperationCanceledException
{
    /// <summary>Creates the exception.</summary>
    public SmtpTransactionCanceledException(SmtpClientStage stage, IReadOnlyList<SmtpReply?> recipientReplies, CancellationToken token)
        : base("SMTP transaction cancelled " + SmtpProtocolException.DescribeStage(stage), null, token)
    {
        Stage = stage;
        RecipientReplies = recipientReplies;
    }

    /// <summary>The stage at which the transaction was abandoned.</summary>
    public SmtpClientStage Stage { get; }

    /// <summary>Per recipient: the reply that decided it before the cancellation, or null.</summary>
    public IReadOnlyList<SmtpReply?> RecipientReplies { get; }
}
