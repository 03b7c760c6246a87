// SmtpParserOptions: the switches that change how SmtpCommandParser reads a command line.
// RFC 6531 3.3 (SMTPUTF8 in commands); Postfix strict_rfc821_envelopes (postconf(5)).
namespace Mta.Smtp.Protocol;

/// <summary>
/// Options for <see cref="SmtpCommandParser.Parse"/>. Immutable; one instance is shared by all
/// sessions of a listener.
/// </summary>
public sealed class SmtpParserOptions
{
    /// <summary>The defaults: SMTPUTF8 enabled, lenient envelopes (Postfix defaults).</summary>
    public static SmtpParserOptions Default { get; } = new();

    /// <summary>
    /// True (default) when the server offers SMTPUTF8 (RFC 6531): UTF-8 is accepted in command lines,
    /// the <c>SMTPUTF8</c> MAIL parameter is known, and UTF-8 mailboxes are valid. When false, any byte
    /// above 0x7F makes the line an error (<c>500 5.5.2 Error: non-ASCII character in command</c>)
    /// and <c>SMTPUTF8</c> is an unsupported option (555).
    /// </summary>
    public bool SmtpUtf8Enabled { get; init; } = true;

    /// <summary>
    /// Postfix <c>strict_rfc821_envelopes</c>: when true, MAIL FROM and RCPT TO addresses must be in
    /// angle brackets; when false (default) a bare <c>user@domain</c> is tolerated.
    /// </summary>
    public bool StrictEnvelopes { get; init; }
}
