// DSN and ESMTP parameter value types carried with a message.
// RFC 3461 (NOTIFY, ORCPT, RET, ENVID), RFC 1870 (SIZE), RFC 6152 (BODY=8BITMIME), RFC 3030 (BINARYMIME),
// RFC 6531 (SMTPUTF8).
namespace Mta.Smtp.Envelope;

/// <summary>RFC 3461 4.1 NOTIFY values. <see cref="None"/> is "no NOTIFY parameter given".</summary>
[Flags]
public enum DsnNotify
{
    /// <summary>No NOTIFY parameter: the default behaviour (failure, maybe delay).</summary>
    None = 0,
    /// <summary>NOTIFY=NEVER.</summary>
    Never = 1,
    /// <summary>SUCCESS.</summary>
    Success = 2,
    /// <summary>FAILURE.</summary>
    Failure = 4,
    /// <summary>DELAY.</summary>
    Delay = 8,
}

/// <summary>RFC 3461 4.3 RET values.</summary>
public enum DsnRet
{
    /// <summary>No RET parameter.</summary>
    Unspecified = 0,
    /// <summary>RET=FULL: return the whole message.</summary>
    Full,
    /// <summary>RET=HDRS: return only the headers.</summary>
    Headers,
}

/// <summary>The BODY parameter of MAIL (RFC 6152, RFC 3030).</summary>
public enum BodyType
{
    /// <summary>No BODY parameter (7BIT assumed, 8-bit tolerated as Postfix does).</summary>
    Unspecified = 0,
    /// <summary>BODY=7BIT.</summary>
    SevenBit,
    /// <summary>BODY=8BITMIME.</summary>
    EightBitMime,
    /// <summary>BODY=BINARYMIME (requires BDAT).</summary>
    BinaryMime,
}

/// <summary>Parameters of a MAIL FROM command, parsed and validated.</summary>
public sealed record MailParameters
{
    /// <summary>SIZE= in bytes (RFC 1870), or null when absent.</summary>
    public long? Size { get; init; }
    /// <summary>BODY=.</summary>
    public BodyType Body { get; init; }
    /// <summary>SMTPUTF8 keyword present (RFC 6531 3.4).</summary>
    public bool SmtpUtf8 { get; init; }
    /// <summary>RET= (RFC 3461 4.3).</summary>
    public DsnRet Ret { get; init; }
    /// <summary>ENVID= decoded from xtext (RFC 3461 4.4), or null.</summary>
    public string? EnvId { get; init; }
    /// <summary>AUTH= mailbox (RFC 4954 5), decoded from xtext, or null.</summary>
    public string? Auth { get; init; }

    /// <summary>The empty parameter set.</summary>
    public static MailParameters Empty { get; } = new();
}

/// <summary>Parameters of a RCPT TO command, parsed and validated.</summary>
public sealed record RecipientParameters
{
    /// <summary>NOTIFY= (RFC 3461 4.1).</summary>
    public DsnNotify Notify { get; init; }
    /// <summary>ORCPT= as <c>addr-type;address</c> with the address decoded from xtext (RFC 3461 4.2), or null.</summary>
    public string? OriginalRecipient { get; init; }

    /// <summary>The empty parameter set.</summary>
    public static RecipientParameters Empty { get; } = new();
}
