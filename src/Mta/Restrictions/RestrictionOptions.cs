// RestrictionOptions: the SMTP access restriction lists other than relay/recipient (those stay in SmtpdOptions),
// smtpd_delay_reject, the access-map reply codes and the policy client defaults, with Postfix's names and
// defaults (postconf(5), SMTPD_ACCESS_README, SMTPD_POLICY_README).
using Mta.Configuration;
using Mta.PolicyDelegation;

namespace Mta.Restrictions;

/// <summary>Restriction lists and policy delegation settings. C# initializers equal the main.cf defaults.</summary>
public sealed class RestrictionOptions
{
    [Parameter("smtpd_client_restrictions", "", "Restrictions on the client address/name; evaluated at RCPT TO when smtpd_delay_reject = yes, else at connect.")]
    public IReadOnlyList<string> ClientRestrictions { get; set; } = [];
    [Parameter("smtpd_helo_restrictions", "", "Restrictions on the HELO/EHLO name; evaluated at RCPT TO when smtpd_delay_reject = yes, else at HELO/EHLO.")]
    public IReadOnlyList<string> HeloRestrictions { get; set; } = [];
    [Parameter("smtpd_sender_restrictions", "", "Restrictions on the MAIL FROM address; evaluated at RCPT TO when smtpd_delay_reject = yes, else at MAIL FROM.")]
    public IReadOnlyList<string> SenderRestrictions { get; set; } = [];
    [Parameter("smtpd_data_restrictions", "", "Restrictions applied to the DATA command (and the first BDAT).")]
    public IReadOnlyList<string> DataRestrictions { get; set; } = [];
    [Parameter("smtpd_end_of_data_restrictions", "", "Restrictions applied when the complete message has been received, before milters and delivery.")]
    public IReadOnlyList<string> EndOfDataRestrictions { get; set; } = [];
    [Parameter("smtpd_delay_reject", "yes", "Wait until RCPT TO before evaluating client, HELO and sender restrictions (policy services then see protocol_state=RCPT).")]
    public bool DelayReject { get; set; } = true;
    [Parameter("access_map_reject_code", "554", "SMTP code for REJECT from an access(5) result (policy service replies).")]
    public int AccessMapRejectCode { get; set; } = 554;
    [Parameter("access_map_defer_code", "450", "SMTP code for DEFER, DEFER_IF_PERMIT and DEFER_IF_REJECT from an access(5) result.")]
    public int AccessMapDeferCode { get; set; } = 450;
    [Parameter("smtpd_policy_service_timeout", "100s", "Time limit for connecting to a policy service and for each write and read.")]
    public TimeSpan PolicyServiceTimeout { get; set; } = TimeSpan.FromSeconds(100);
    [Parameter("smtpd_policy_service_max_idle", "300s", "Close a policy service connection that was unused this long.")]
    public TimeSpan PolicyServiceMaxIdle { get; set; } = TimeSpan.FromSeconds(300);
    [Parameter("smtpd_policy_service_max_ttl", "1000s", "Close a policy service connection this old (between requests).")]
    public TimeSpan PolicyServiceMaxTtl { get; set; } = TimeSpan.FromSeconds(1000);
    [Parameter("smtpd_policy_service_request_limit", "0", "Requests per policy service connection before it is closed (0 = no limit).")]
    public int PolicyServiceRequestLimit { get; set; }
    [Parameter("smtpd_policy_service_try_limit", "2", "Attempts per policy request before smtpd_policy_service_default_action applies.")]
    public int PolicyServiceTryLimit { get; set; } = 2;
    [Parameter("smtpd_policy_service_retry_delay", "1s", "Pause between policy request attempts.")]
    public TimeSpan PolicyServiceRetryDelay { get; set; } = TimeSpan.FromSeconds(1);
    [Parameter("smtpd_policy_service_default_action", "451 4.3.5 Server configuration problem", "The access(5) result used when a policy service cannot be reached or answers badly.")]
    public string PolicyServiceDefaultAction { get; set; } = "451 4.3.5 Server configuration problem";
    [Parameter("smtpd_policy_service_policy_context", "", "Value of the policy_context attribute sent to policy services.")]
    public string PolicyServicePolicyContext { get; set; } = "";

    /// <summary>The smtpd_policy_service_* values as the policy client's global settings (per-service { } overrides start from these).</summary>
    /// <exception cref="FormatException">A value the policy client cannot use (try limit &lt; 1, negative request limit, zero times).</exception>
    public PolicyServiceSettings ToPolicySettings(bool smtpUtf8Enable = true)
    {
        if (PolicyServiceTryLimit < 1) throw new FormatException($"smtpd_policy_service_try_limit = {PolicyServiceTryLimit}: must be at least 1");
        if (PolicyServiceRequestLimit < 0) throw new FormatException($"smtpd_policy_service_request_limit = {PolicyServiceRequestLimit}: must not be negative");
        foreach (var (name, t) in new[] { ("timeout", PolicyServiceTimeout), ("max_idle", PolicyServiceMaxIdle), ("max_ttl", PolicyServiceMaxTtl) })
            if (t <= TimeSpan.Zero) throw new FormatException($"smtpd_policy_service_{name} = {t.TotalSeconds}s: must be at least 1s");
        if (PolicyServiceDefaultAction.Length == 0) throw new FormatException("smtpd_policy_service_default_action: must not be empty");
        return new PolicyServiceSettings
        {
            Timeout = PolicyServiceTimeout,
            MaxIdle = PolicyServiceMaxIdle,
            MaxTtl = PolicyServiceMaxTtl,
            RequestLimit = PolicyServiceRequestLimit,
            TryLimit = PolicyServiceTryLimit,
            RetryDelay = PolicyServiceRetryDelay,
            DefaultAction = PolicyServiceDefaultAction,
            PolicyContext = PolicyServicePolicyContext,
            RequireUtf8Action = smtpUtf8Enable,
        };
    }
}
