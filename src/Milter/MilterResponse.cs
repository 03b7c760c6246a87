// MilterResponse: the milter's decision for one event, as a value ("the peer refused" is never an exception).
// Reply texts for r/t/4 are the ones Postfix uses (milter8.c milter8_event, smtpd.c 'S' case).
namespace Mta.Milter;

/// <summary>The final decision a milter gave for one event.</summary>
public enum MilterAction
{
    /// <summary><c>c</c> (or no reply expected / event not sent): go on.</summary>
    Continue,
    /// <summary><c>a</c>: at CONNECT/HELO accept the whole session (no more events); later skip the rest of this message.</summary>
    Accept,
    /// <summary><c>r</c>: reject (5xx); at RCPT only that recipient.</summary>
    Reject,
    /// <summary><c>t</c>: temporary failure (4xx).</summary>
    TempFail,
    /// <summary><c>d</c>: accept and silently drop the whole message.</summary>
    Discard,
    /// <summary><c>y</c>: a custom SMTP reply, see <see cref="MilterResponse.ReplyText"/>.</summary>
    ReplyCode,
    /// <summary><c>4</c>: 421 and disconnect the SMTP client.</summary>
    Shutdown,
    /// <summary><c>s</c>: the milter wants no more events of this type (body chunks); treat as continue.</summary>
    Skip,
}

/// <summary>
/// One milter decision. <see cref="QuarantineReason"/> is set when the milter sent <c>SMFIR_QUARANTINE</c>
/// before its final reply to this event (Postfix accepts it at any stage and keeps reading).
/// </summary>
public sealed record MilterResponse
{
    private MilterResponse(MilterAction action, string? replyText, string? quarantineReason)
    {
        Action = action;
        ReplyText = replyText;
        QuarantineReason = quarantineReason;
    }

    /// <summary>The decision.</summary>
    public MilterAction Action { get; }

    /// <summary>
    /// For <see cref="MilterAction.ReplyCode"/>: the validated reply, <c>ddd[ x.y.z] text</c>, lines joined by
    /// CRLF (non-final lines <c>ddd-</c>), no trailing CRLF, with <c>%%</c> turned into <c>%</c> and lone
    /// <c>%</c> removed (Postfix). Null for the other actions.
    /// </summary>
    public string? ReplyText { get; }

    /// <summary>The quarantine reason (at most 100 characters) if the milter quarantined, else null.</summary>
    public string? QuarantineReason { get; }

    /// <summary>True for decisions that end the stage (everything but continue and skip).</summary>
    public bool IsFinal => Action is not (MilterAction.Continue or MilterAction.Skip);

    /// <summary>
    /// The SMTP reply Postfix would give for this decision: ReplyCode text; Reject "550 5.7.1 Command rejected";
    /// TempFail "451 4.7.1 Service unavailable - try again later"; Shutdown "421 4.7.0 Server closing connection";
    /// null for continue, accept, discard and skip.
    /// </summary>
    public string? SmtpReply => Action switch
    {
        MilterAction.ReplyCode => ReplyText,
        MilterAction.Reject => "550 5.7.1 Command rejected",
        MilterAction.TempFail => "451 4.7.1 Service unavailable - try again later",
        MilterAction.Shutdown => "421 4.7.0 Server closing connection",
        _ => null,
    };

    /// <summary>Continue.</summary>
    public static MilterResponse Continue { get; } = new(MilterAction.Continue, null, null);
    /// <summary>Accept.</summary>
    public static MilterResponse Accept { get; } = new(MilterAction.Accept, null, null);
    /// <summary>Reject.</summary>
    public static MilterResponse Reject { get; } = new(MilterAction.Reject, null, null);
    /// <summary>Temporary failure.</summary>
    public static MilterResponse TempFail { get; } = new(MilterAction.TempFail, null, null);
    /// <summary>Discard.</summary>
    public static MilterResponse Discard { get; } = new(MilterAction.Discard, null, null);
    /// <summary>Shutdown (421).</summary>
    public static MilterResponse Shutdown { get; } = new(MilterAction.Shutdown, null, null);
    /// <summary>Skip.</summary>
    public static MilterResponse Skip { get; } = new(MilterAction.Skip, null, null);

    /// <summary>A custom reply; <paramref name="text"/> must already be valid (see <see cref="Protocol.MilterReplyText.TryNormalize"/>).</summary>
    public static MilterResponse Reply(string text) => new(MilterAction.ReplyCode, text, null);

    /// <summary>This response with a quarantine reason attached (null keeps it unquarantined).</summary>
    public MilterResponse WithQuarantine(string? reason) =>
        reason is null ? this : new MilterResponse(Action, ReplyText, reason);

    /// <inheritdoc/>
    public override string ToString() =>
        Action + (ReplyText is null ? "" : " " + ReplyText) + (QuarantineReason is null ? "" : " (quarantine: " + QuarantineReason + ")");
}
