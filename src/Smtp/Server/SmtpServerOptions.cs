// SmtpServerOptions: the limits and announced extensions of one SMTP server session, as plain values
// (the host maps its main.cf parameters onto these). RFC 5321 4.5.3 (limits), 4.5.3.2 (timeouts).
namespace Mta.Smtp.Server;

/// <summary>Per-session settings. All sizes are bytes, all times are <see cref="TimeSpan"/>s.</summary>
public sealed record SmtpServerOptions
{
    /// <summary>Name used in the greeting, EHLO reply and 421 replies (myhostname).</summary>
    public string HostName { get; init; } = "localhost";
    /// <summary>Greeting text after "220 " (smtpd_banner).</summary>
    public string Banner { get; init; } = "localhost ESMTP";
    /// <summary>Maximum command line length including CRLF (line_length_limit).</summary>
    public int LineLengthLimit { get; init; } = 2048;
    /// <summary>Maximum message size (message_size_limit); 0 = unlimited.</summary>
    public long MessageSizeLimit { get; init; } = 10_240_000;
    /// <summary>Maximum recipients per transaction (smtpd_recipient_limit).</summary>
    public int RecipientLimit { get; init; } = 1000;
    /// <summary>Limit for reading one command or data chunk and for writing a reply (smtpd_timeout).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Limit for the whole session (smtpd_session_timeout).</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Errors after which each error reply is delayed by <see cref="ErrorSleepTime"/> (smtpd_soft_error_limit).</summary>
    public int SoftErrorLimit { get; init; } = 10;
    /// <summary>Errors after which the session gets 421 and is closed (smtpd_hard_error_limit).</summary>
    public int HardErrorLimit { get; init; } = 20;
    /// <summary>Delay per error past the soft limit (smtpd_error_sleep_time).</summary>
    public TimeSpan ErrorSleepTime { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Content bytes kept in memory before the spool moves to a file (smtpd_spool_memory_limit).</summary>
    public int SpoolMemoryLimit { get; init; } = 262_144;
    /// <summary>Directory for spool files.</summary>
    public string SpoolDirectory { get; init; } = Path.GetTempPath();
    /// <summary>Offer STARTTLS (when the transport can do TLS and it is not active yet).</summary>
    public bool OfferStartTls { get; init; } = true;
    /// <summary>Require TLS before MAIL (smtpd_tls_security_level = encrypt).</summary>
    public bool RequireTls { get; init; }
    /// <summary>Accept and announce SMTPUTF8 (smtputf8_enable).</summary>
    public bool SmtpUtf8 { get; init; } = true;
    /// <summary>EHLO keywords not announced, upper case (smtpd_discard_ehlo_keywords).</summary>
    public IReadOnlySet<string> DiscardEhloKeywords { get; init; } = new HashSet<string>();
}
