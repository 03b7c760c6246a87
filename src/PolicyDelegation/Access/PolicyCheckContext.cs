// PolicyCheckContext: what a policy result is applied to (restriction class, reply name, stage),
// needed to word the SMTP reply as Postfix does.
// Follows Postfix smtpd/smtpd_dsn_fix.h (SMTPD_NAME_* class names) and smtpd_check.c
// (smtpd_check_client/helo/mail/rcpt/etrn/data/eod pass reply_name and reply_class to generic_checks).

namespace Mta.PolicyDelegation;

/// <summary>
/// The restriction list a policy service was called from. It decides the reply wording
/// (<c>&lt;name&gt;: Recipient address rejected: ...</c>) and the enhanced status code rewrite. It is the list,
/// not the protocol stage: with <c>smtpd_delay_reject=yes</c> a client restriction runs at RCPT time and
/// still says "Client host rejected".
/// </summary>
public enum RestrictionClass
{
    /// <summary>smtpd_client_restrictions: "Client host"; the name is <c>hostname[address]</c>.</summary>
    Client,
    /// <summary>smtpd_helo_restrictions: "Helo command"; the name is the HELO argument.</summary>
    Helo,
    /// <summary>smtpd_sender_restrictions: "Sender address"; the name is the sender (empty for &lt;&gt;).</summary>
    Sender,
    /// <summary>smtpd_relay_restrictions / smtpd_recipient_restrictions (also VRFY): "Recipient address".</summary>
    Recipient,
    /// <summary>smtpd_etrn_restrictions: "Etrn command"; the name is the ETRN argument.</summary>
    Etrn,
    /// <summary>smtpd_data_restrictions: "Data command"; the name is <c>DATA</c>.</summary>
    Data,
    /// <summary>smtpd_end_of_data_restrictions: "End-of-data"; the name is <c>END-OF-MESSAGE</c>.</summary>
    EndOfData,
}

/// <summary>
/// Where a policy result is applied: the restriction class, the name shown in replies (<c>reply_name</c>), the
/// protocol stage, and whether a mail transaction (MAIL FROM accepted) is open.
/// </summary>
/// <param name="Class">The restriction list.</param>
/// <param name="ReplyName">Shown between angle brackets in reply text; see the factory methods for Postfix's values.</param>
/// <param name="Where">The protocol stage (Postfix <c>state-&gt;where</c>).</param>
/// <param name="InMailTransaction">True after MAIL FROM was accepted (Postfix: <c>state-&gt;sender != 0</c>).</param>
public sealed record PolicyCheckContext(RestrictionClass Class, string ReplyName, PolicyProtocolState Where, bool InMailTransaction)
{
    /// <summary>The class wording Postfix uses in replies and logs, e.g. "Recipient address".</summary>
    public string ClassName => ClassNameOf(Class);

    /// <summary>Postfix's wording for <paramref name="replyClass"/> (SMTPD_NAME_*).</summary>
    public static string ClassNameOf(RestrictionClass replyClass) => replyClass switch
    {
        RestrictionClass.Client => "Client host",
        RestrictionClass.Helo => "Helo command",
        RestrictionClass.Sender => "Sender address",
        RestrictionClass.Recipient => "Recipient address",
        RestrictionClass.Etrn => "Etrn command",
        RestrictionClass.Data => "Data command",
        RestrictionClass.EndOfData => "End-of-data",
        _ => throw new ArgumentOutOfRangeException(nameof(replyClass), replyClass, null),
    };

    /// <summary>Postfix's client name form <c>name[address]</c>, or <c>name[address]:port</c> when port logging is on.</summary>
    public static string ClientNameAddress(string clientName, string clientAddress, string? clientPort = null) =>
        string.IsNullOrEmpty(clientPort) ? $"{clientName}[{clientAddress}]" : $"{clientName}[{clientAddress}]:{clientPort}";

    /// <summary>Client restrictions: name is <c>name[address]</c> (see <see cref="ClientNameAddress"/>).</summary>
    public static PolicyCheckContext ForClient(string nameAddress, PolicyProtocolState where, bool inMailTransaction) =>
        new(RestrictionClass.Client, nameAddress, where, inMailTransaction);

    /// <summary>HELO restrictions: name is the HELO argument.</summary>
    public static PolicyCheckContext ForHelo(string heloName, PolicyProtocolState where, bool inMailTransaction) =>
        new(RestrictionClass.Helo, heloName, where, inMailTransaction);

    /// <summary>Sender restrictions: name is the sender address without brackets, empty for the null sender.</summary>
    public static PolicyCheckContext ForSender(string sender, PolicyProtocolState where) =>
        new(RestrictionClass.Sender, sender, where, true);

    /// <summary>Recipient (and relay) restrictions at RCPT: name is the recipient address without brackets.</summary>
    public static PolicyCheckContext ForRecipient(string recipient, PolicyProtocolState where = PolicyProtocolState.Rcpt, bool inMailTransaction = true) =>
        new(RestrictionClass.Recipient, recipient, where, inMailTransaction);

    /// <summary>ETRN restrictions: name is the ETRN argument.</summary>
    public static PolicyCheckContext ForEtrn(string domain) =>
        new(RestrictionClass.Etrn, domain, PolicyProtocolState.Etrn, false);

    /// <summary>DATA restrictions: name is <c>DATA</c> (also for BDAT).</summary>
    public static PolicyCheckContext ForData(PolicyProtocolState where = PolicyProtocolState.Data) =>
        new(RestrictionClass.Data, "DATA", where, true);

    /// <summary>End-of-data restrictions: name is <c>END-OF-MESSAGE</c>.</summary>
    public static PolicyCheckContext ForEndOfData() =>
        new(RestrictionClass.EndOfData, "END-OF-MESSAGE", PolicyProtocolState.EndOfMessage, true);
}
