// SmtpStateTable: the whole command grammar of the server in one table — for each session state, which
// verbs are allowed and the reply when one is not. RFC 5321 4.1.4 (order of commands), RFC 3030 (BDAT),
// RFC 3207 (STARTTLS). Reply texts follow Postfix smtpd.
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

/// <summary>Where a session stands in the dialog.</summary>
public enum SmtpSessionState
{
    /// <summary>Greeting sent; no HELO/EHLO yet (again after STARTTLS).</summary>
    Connected,
    /// <summary>HELO/EHLO accepted; no transaction.</summary>
    Ready,
    /// <summary>MAIL accepted; no recipient yet.</summary>
    Mail,
    /// <summary>At least one RCPT accepted.</summary>
    Rcpt,
    /// <summary>Inside a BDAT sequence (at least one non-LAST chunk received).</summary>
    Chunking,
}

/// <summary>The declarative command/state table.</summary>
public static class SmtpStateTable
{
    private static readonly SmtpReply NeedHelo = new(503, "5.5.1", "Error: send HELO/EHLO first");
    private static readonly SmtpReply NestedMail = new(503, "5.5.1", "Error: nested MAIL command");
    private static readonly SmtpReply NeedMail = new(503, "5.5.1", "Error: need MAIL command");
    private static readonly SmtpReply NeedRcpt = new(503, "5.5.1", "Error: need RCPT command");
    private static readonly SmtpReply NoValidRcpt = new(554, "5.5.1", "Error: no valid recipients");
    private static readonly SmtpReply InChunking = new(503, "5.5.1", "Error: BDAT sequence in progress; send BDAT or RSET");
    private static readonly SmtpReply TxInProgress = new(503, "5.5.1", "Error: MAIL transaction in progress");

    /// <summary>
    /// Returns null when <paramref name="verb"/> is allowed in <paramref name="state"/>, else the reply to send.
    /// Verbs not listed (NOOP, RSET, QUIT, HELP, VRFY, unknown ...) are allowed everywhere except that
    /// only RSET, QUIT, NOOP and BDAT may interrupt a BDAT sequence.
    /// </summary>
    public static SmtpReply? Check(SmtpSessionState state, SmtpVerb verb) => (verb, state) switch
    {
        (SmtpVerb.Bdat, SmtpSessionState.Chunking) => null,
        (SmtpVerb.Rset or SmtpVerb.Quit or SmtpVerb.Noop, _) => null,
        (_, SmtpSessionState.Chunking) => InChunking,
        (SmtpVerb.Helo or SmtpVerb.Ehlo, _) => null,
        (SmtpVerb.Mail, SmtpSessionState.Connected) => NeedHelo,
        (SmtpVerb.Mail, SmtpSessionState.Mail or SmtpSessionState.Rcpt) => NestedMail,
        (SmtpVerb.Mail, _) => null,
        (SmtpVerb.Rcpt, SmtpSessionState.Mail or SmtpSessionState.Rcpt) => null,
        (SmtpVerb.Rcpt, SmtpSessionState.Connected) => NeedHelo,
        (SmtpVerb.Rcpt, _) => NeedMail,
        (SmtpVerb.Data or SmtpVerb.Bdat, SmtpSessionState.Rcpt) => null,
        (SmtpVerb.Data or SmtpVerb.Bdat, SmtpSessionState.Mail) => NoValidRcpt,
        (SmtpVerb.Data or SmtpVerb.Bdat, SmtpSessionState.Connected) => NeedHelo,
        (SmtpVerb.Data or SmtpVerb.Bdat, _) => NeedMail,
        (SmtpVerb.StartTls, SmtpSessionState.Mail or SmtpSessionState.Rcpt) => TxInProgress,
        _ => null,
    };

    /// <summary>The state after <paramref name="verb"/> succeeded in <paramref name="state"/>.</summary>
    public static SmtpSessionState Next(SmtpSessionState state, SmtpVerb verb, bool lastChunk = false) => verb switch
    {
        SmtpVerb.Helo or SmtpVerb.Ehlo => SmtpSessionState.Ready,
        SmtpVerb.Mail => SmtpSessionState.Mail,
        SmtpVerb.Rcpt => SmtpSessionState.Rcpt,
        SmtpVerb.Data => SmtpSessionState.Ready,
        SmtpVerb.Bdat => lastChunk ? SmtpSessionState.Ready : SmtpSessionState.Chunking,
        SmtpVerb.Rset => state == SmtpSessionState.Connected ? SmtpSessionState.Connected : SmtpSessionState.Ready,
        SmtpVerb.StartTls => SmtpSessionState.Connected,
        _ => state,
    };
}
