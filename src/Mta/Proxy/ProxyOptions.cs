// ProxyOptions: the before-queue content filter (Postfix SMTPD_PROXY_README) and the XFORWARD/XCLIENT
// authorization lists (XFORWARD_README, XCLIENT_README), with Postfix's names and defaults.
using Mta.Configuration;

namespace Mta.Proxy;

/// <summary>smtpd_proxy_* and smtpd_authorized_* parameters.</summary>
public sealed class ProxyOptions
{
    [Parameter("smtpd_proxy_filter", "", "Before-queue SMTP content filter, host:port or inet:host:port; the client's transaction is relayed to it and its replies are the client's replies (SMTPD_PROXY_README). Usually set per listener in smtpd_listen.")]
    public string Filter { get; set; } = "";
    [Parameter("smtpd_proxy_ehlo", "$myhostname", "The EHLO name sent to the smtpd_proxy_filter.")]
    public string Ehlo { get; set; } = "";
    [Parameter("smtpd_proxy_timeout", "100s", "Time limit for connecting to the smtpd_proxy_filter and for each of its replies.")]
    public TimeSpan Timeout { get; set; }
    [Parameter("smtpd_proxy_options", "", "smtpd_proxy_filter options: speed_adjust (contact the filter only after the whole message was received).")]
    public IReadOnlyList<string> Options { get; set; } = [];
    [Parameter("smtpd_authorized_xforward_hosts", "", "Clients (CIDR) allowed to send XFORWARD (XFORWARD_README); everyone else gets 550 5.7.0.")]
    public IReadOnlyList<string> AuthorizedXforwardHosts { get; set; } = [];
    [Parameter("smtpd_authorized_xclient_hosts", "", "Clients (CIDR) allowed to send XCLIENT (XCLIENT_README); everyone else gets 550 5.7.0.")]
    public IReadOnlyList<string> AuthorizedXclientHosts { get; set; } = [];

    /// <summary>True when smtpd_proxy_options holds speed_adjust.</summary>
    public bool SpeedAdjust => Options.Any(o => o.Equals("speed_adjust", StringComparison.OrdinalIgnoreCase));
}
