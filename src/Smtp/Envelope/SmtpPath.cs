// SmtpPath: a reverse-path or forward-path mailbox as it appears in MAIL FROM / RCPT TO.
// RFC 5321 4.1.2 (Mailbox, Local-part, Domain, address-literal), RFC 6531 3.3 (UTF-8 mailboxes).
namespace Mta.Smtp.Envelope;

/// <summary>
/// A mailbox <c>local-part@domain</c> from an SMTP path, or the null reverse-path <c>&lt;&gt;</c>.
/// <see cref="LocalPart"/> is kept as sent (quoted form included); <see cref="Domain"/> is as sent
/// (an address literal keeps its brackets). Source routes (<c>@a,@b:</c>) are dropped on parse (RFC 5321 4.1.2, C.).
/// </summary>
public sealed record SmtpPath(string LocalPart, string Domain)
{
    /// <summary>The null reverse-path <c>&lt;&gt;</c> (bounces).</summary>
    public static SmtpPath Null { get; } = new("", "");

    /// <summary>True for <c>&lt;&gt;</c>.</summary>
    public bool IsNull => LocalPart.Length == 0 && Domain.Length == 0;

    /// <summary>The address without brackets: <c>local@domain</c>, or "" for the null path; a bare
    /// <c>postmaster</c> (RFC 5321 4.5.1) has an empty domain.</summary>
    public string Address => IsNull ? "" : Domain.Length == 0 ? LocalPart : LocalPart + "@" + Domain;

    /// <summary>True when any character is outside ASCII (needs SMTPUTF8 downstream).</summary>
    public bool RequiresSmtpUtf8 => !System.Text.Ascii.IsValid(LocalPart) || !System.Text.Ascii.IsValid(Domain);

    /// <summary>The domain lower-cased for routing and comparisons ("" when none).</summary>
    public string DomainLower => Domain.ToLowerInvariant();

    /// <summary>The path in angle brackets, as in a command: <c>&lt;local@domain&gt;</c>.</summary>
    public override string ToString() => "<" + Address + ">";
}
