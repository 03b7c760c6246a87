// SmtpCommand: one parsed SMTP command line as a value. Parsing lives in SmtpCommandParser.cs.
// RFC 5321 4.1.1 (commands), 4.1.2 (paths), RFC 3030 (BDAT), RFC 3207 (STARTTLS).
using Mta.Smtp.Envelope;

namespace Mta.Smtp.Protocol;

/// <summary>The command verbs the server recognises.</summary>
public enum SmtpVerb
{
    /// <summary>Not a known command; the session answers 502 5.5.2.</summary>
    Unknown = 0,
    Helo, Ehlo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth, Etrn,
    /// <summary>XFORWARD (Postfix XFORWARD_README).</summary>
    Xforward,
    /// <summary>XCLIENT (Postfix XCLIENT_README).</summary>
    Xclient,
    /// <summary>An HTTP verb (GET, POST, CONNECT, ...) seen as a command: cross-protocol attack; answer and close.</summary>
    HttpRequest,
}

/// <summary>
/// A parsed command. <see cref="Argument"/> is the text after the verb with the separating blanks and
/// trailing blanks removed (may be "").
/// For MAIL, <see cref="Path"/> and <see cref="MailParameters"/> are set; for RCPT, <see cref="Path"/> and
/// <see cref="RecipientParameters"/>; for BDAT, <see cref="ChunkSize"/> and <see cref="IsLastChunk"/>;
/// for HELO/EHLO, <see cref="Argument"/> is the first word of the argument, unchecked (Postfix accepts any
/// HELO name unless a restriction says otherwise).
/// </summary>
public sealed record SmtpCommand(SmtpVerb Verb, string Argument)
{
    /// <summary>The verb as the client sent it, upper-cased (for logs and milter UNKNOWN).</summary>
    public string VerbText { get; init; } = Verb.ToString().ToUpperInvariant();
    /// <summary>MAIL FROM / RCPT TO path.</summary>
    public SmtpPath? Path { get; init; }
    /// <summary>MAIL FROM parameters.</summary>
    public MailParameters? MailParameters { get; init; }
    /// <summary>RCPT TO parameters.</summary>
    public RecipientParameters? RecipientParameters { get; init; }
    /// <summary>BDAT chunk size in bytes.</summary>
    public long ChunkSize { get; init; }
    /// <summary>BDAT ... LAST.</summary>
    public bool IsLastChunk { get; init; }
}
