// MilterOptions: the milter parameters, with Postfix's names and defaults (postconf(5), MILTER_README).
using Mta.Configuration;

namespace Mta.Milters;

/// <summary>Milter client settings.</summary>
public sealed class MilterOptions
{
    [Parameter("smtpd_milters", "", "Milters for mail from SMTP clients, in order: inet:host:port or unix:/path, each optionally as { endpoint, default_action=..., protocol=..., connect_timeout=..., command_timeout=..., content_timeout=... }.")]
    public IReadOnlyList<string> SmtpdMilters { get; set; } = [];
    [Parameter("milter_default_action", "tempfail", "What to do when a milter is unreachable, times out or breaks the protocol: accept, reject, tempfail, quarantine or shutdown.")]
    public string DefaultAction { get; set; } = "";
    [Parameter("milter_protocol", "6", "The milter protocol version offered (2, 3, 4 or 6).")]
    public int Protocol { get; set; }
    [Parameter("milter_connect_timeout", "30s", "Time limit for connecting to a milter.")]
    public TimeSpan ConnectTimeout { get; set; }
    [Parameter("milter_command_timeout", "30s", "Time limit for a milter's reply to negotiation and to CONNECT, HELO, MAIL, RCPT, DATA and unknown-command events.")]
    public TimeSpan CommandTimeout { get; set; }
    [Parameter("milter_content_timeout", "300s", "Time limit for a milter's replies to header, end-of-header, body and end-of-message events.")]
    public TimeSpan ContentTimeout { get; set; }
    [Parameter("milter_connect_macros", "j {daemon_name} {daemon_addr} v _", "Macros sent to milters with the CONNECT event.")]
    public string ConnectMacros { get; set; } = "";
    [Parameter("milter_helo_macros", "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}", "Macros sent with HELO/EHLO.")]
    public string HeloMacros { get; set; } = "";
    [Parameter("milter_mail_macros", "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}", "Macros sent with MAIL FROM.")]
    public string MailMacros { get; set; } = "";
    [Parameter("milter_rcpt_macros", "i {rcpt_addr} {rcpt_host} {rcpt_mailer}", "Macros sent with RCPT TO.")]
    public string RcptMacros { get; set; } = "";
    [Parameter("milter_data_macros", "i", "Macros sent with DATA.")]
    public string DataMacros { get; set; } = "";
    [Parameter("milter_end_of_header_macros", "i", "Macros sent with the end of headers.")]
    public string EndOfHeaderMacros { get; set; } = "";
    [Parameter("milter_end_of_data_macros", "i", "Macros sent with the end of the message.")]
    public string EndOfDataMacros { get; set; } = "";
    [Parameter("milter_unknown_command_macros", "", "Macros sent with an unknown SMTP command.")]
    public string UnknownCommandMacros { get; set; } = "";
    [Parameter("milter_macro_daemon_name", "$myhostname", "The {daemon_name} macro value.")]
    public string MacroDaemonName { get; set; } = "";
    [Parameter("milter_macro_v", "$mail_name 0.1", "The {v} macro value (mail system name and version).")]
    public string MacroV { get; set; } = "";
}
