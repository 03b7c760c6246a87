// SecurityCheck: the value one start-up security check produces (issue 5, `mta check`): its name, its
// status (ok, warning, failure), a human detail, and for a failure that DNS can fix the exact
// zone-file record to publish (RFC 1035 5.1 master-file syntax). Formatting of the `mta check` line
// lives here so that `mta check` and `mta serve`'s log print the same text.
namespace Mta.Checks;

/// <summary>Outcome of one check.</summary>
public enum CheckStatus
{
    /// <summary>The check passed.</summary>
    Ok,
    /// <summary>Passed for now, but needs attention (e.g. the certificate expires within 14 days).</summary>
    Warning,
    /// <summary>Failed: <c>mta check</c> exits 1 and <c>smtpd_security_checks = enforce</c> refuses to start.</summary>
    Failure,
}

/// <summary>
/// One check's result.
/// </summary>
/// <param name="Name">Kind and subject, e.g. <c>tlsa-match _25._tcp.mx.example.org</c>, <c>mx example.org</c>,
/// <c>tls-validity</c>. The kind is the first word (see <see cref="Kind"/>).</param>
/// <param name="Status">ok, warning or failure.</param>
/// <param name="Detail">What was found, one line, no trailing period.</param>
/// <param name="RecordToPublish">For a failure DNS can fix: the exact record in zone-file syntax
/// (<c>_25._tcp.mx.example.org. IN TLSA 3 1 1 ab12...</c>); null otherwise.</param>
public sealed record SecurityCheck(string Name, CheckStatus Status, string Detail, string? RecordToPublish = null)
{
    /// <summary>The first word of <see cref="Name"/>: <c>tls-certificate</c>, <c>tls-key</c>, <c>tls-validity</c>,
    /// <c>tls-hostname</c>, <c>mx</c>, <c>mx-dnssec</c>, <c>srv-submission</c>, <c>srv-imap</c>, <c>tlsa</c>,
    /// <c>tlsa-dnssec</c>, <c>tlsa-match</c>, <c>dkim</c>.</summary>
    public string Kind => Name.Split(' ', 2)[0];

    /// <summary>
    /// The <c>mta check</c> line: <c>ok: NAME: DETAIL</c>, <c>warning: NAME: DETAIL</c> or
    /// <c>failure: NAME: DETAIL</c>, followed by <c> ; publish: RECORD</c> when there is a record to publish.
    /// </summary>
    public string Format()
    {
        string status = Status switch
        {
            CheckStatus.Ok => "ok",
            CheckStatus.Warning => "warning",
            _ => "failure",
        };
        string line = $"{status}: {Name}: {Detail}";
        return RecordToPublish is null ? line : $"{line} ; publish: {RecordToPublish}";
    }

    /// <inheritdoc/>
    public override string ToString() => Format();

    internal static SecurityCheck Ok(string name, string detail) => new(name, CheckStatus.Ok, detail);
    internal static SecurityCheck Warn(string name, string detail) => new(name, CheckStatus.Warning, detail);
    internal static SecurityCheck Fail(string name, string detail, string? record = null) => new(name, CheckStatus.Failure, detail, record);
}
