// PolicyResult: the outcome of one policy query as a value (the decision plus how it was reached).
// Follows Postfix smtpd_check.c check_policy_service (reply action, or default_action after failures).

namespace Mta.PolicyDelegation;

/// <summary>
/// What a policy query decided. A service that cannot be reached or answers badly is not an exception: after
/// try_limit attempts the result carries the service's default action with <see cref="UsedDefaultAction"/> set.
/// </summary>
public sealed record PolicyResult
{
    /// <summary>The access(5) result to apply: the server's action or the default action.</summary>
    public required AccessAction Action { get; init; }

    /// <summary>True when every attempt failed (or the action was not valid UTF-8) and the default action was used.</summary>
    public required bool UsedDefaultAction { get; init; }

    /// <summary>Attempts made, 1..try_limit.</summary>
    public required int Attempts { get; init; }

    /// <summary>One line per failed attempt (or rejected reply), for the host's warning log, in order.</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];

    /// <summary>The SMTP reply this result produces in <paramref name="context"/>, or null when the action produces none.</summary>
    public AccessReply? BuildReply(PolicyCheckContext context, AccessReplyOptions? options = null) =>
        AccessReplyBuilder.Build(Action, context, options);
}
