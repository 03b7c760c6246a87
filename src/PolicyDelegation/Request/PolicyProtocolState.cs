// PolicyProtocolState: the SMTP stage a policy request is made for, and its wire name.
// Follows Postfix SMTPD_POLICY_README ("protocol_state") and smtpd_check.c check_policy_service
// (BDAT is sent as DATA).
namespace Mta.PolicyDelegation;

/// <summary>
/// The SMTP command (stage) being answered when the policy request is made; sent as the
/// <c>protocol_state</c> attribute. Note that with <c>smtpd_delay_reject=yes</c> (Postfix's default)
/// client, HELO and sender restrictions are evaluated at RCPT time, so a policy service listed there
/// sees <see cref="Rcpt"/>.
/// </summary>
public enum PolicyProtocolState
{
    /// <summary><c>CONNECT</c>: the client connected (smtpd_client_restrictions without delay_reject).</summary>
    Connect,
    /// <summary><c>EHLO</c>.</summary>
    Ehlo,
    /// <summary><c>HELO</c>.</summary>
    Helo,
    /// <summary><c>MAIL</c>.</summary>
    Mail,
    /// <summary><c>RCPT</c>.</summary>
    Rcpt,
    /// <summary><c>DATA</c> (smtpd_data_restrictions).</summary>
    Data,
    /// <summary>BDAT: sent on the wire as <c>DATA</c>, exactly as Postfix does.</summary>
    Bdat,
    /// <summary><c>END-OF-MESSAGE</c> (smtpd_end_of_data_restrictions).</summary>
    EndOfMessage,
    /// <summary><c>VRFY</c>.</summary>
    Vrfy,
    /// <summary><c>ETRN</c>.</summary>
    Etrn,
}

/// <summary>Wire names of <see cref="PolicyProtocolState"/>.</summary>
public static class PolicyProtocolStateNames
{
    /// <summary>
    /// The <c>protocol_state</c> value Postfix sends for <paramref name="state"/>:
    /// CONNECT, EHLO, HELO, MAIL, RCPT, DATA (also for BDAT), END-OF-MESSAGE, VRFY, ETRN.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Unknown enum value.</exception>
    public static string ToWireName(this PolicyProtocolState state) => state switch
    {
        PolicyProtocolState.Connect => "CONNECT",
        PolicyProtocolState.Ehlo => "EHLO",
        PolicyProtocolState.Helo => "HELO",
        PolicyProtocolState.Mail => "MAIL",
        PolicyProtocolState.Rcpt => "RCPT",
        PolicyProtocolState.Data => "DATA",
        PolicyProtocolState.Bdat => "DATA",
        PolicyProtocolState.EndOfMessage => "END-OF-MESSAGE",
        PolicyProtocolState.Vrfy => "VRFY",
        PolicyProtocolState.Etrn => "ETRN",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown protocol state"),
    };

    /// <summary>True for the stages at which Postfix sends a non-zero <c>recipient_count</c> (DATA, BDAT, END-OF-MESSAGE).</summary>
    public static bool CarriesRecipientCount(this PolicyProtocolState state) =>
        state is PolicyProtocolState.Data or PolicyProtocolState.Bdat or PolicyProtocolState.EndOfMessage;
}
