// PolicyRig: shared steps of the policy compat tests: send one message with swaks through an MTA (ours or
// Postfix) that relays dest.test to an smtp-sink, and read what the sink received from a given sender.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;

namespace Mta.CompatTests.Policy;

internal static class PolicyRig
{
    public const string Recipient = "rcpt@dest.test";

    /// <summary>Our MTA relaying dest.test to <paramref name="sink"/>, with extra parameters.</summary>
    public static Task<MtaProcess> StartMtaAsync(Scenario s, SmtpSinkPeer sink, params (string Name, string Value)[] parameters) =>
        s.StartMtaAsync(c =>
        {
            c.Transports(("dest.test", "smtp:" + sink.NextHop));
            foreach (var (n, v) in parameters) c.Set(n, v);
        });

    /// <summary>A private Postfix relaying dest.test to <paramref name="sink"/>, with extra main.cf lines.</summary>
    public static Task<PostfixPeer> StartPostfixAsync(Scenario s, SmtpSinkPeer sink, params string[] mainCf) =>
        s.StartPostfixAsync(new PostfixOptions
        {
            Transports = new Dictionary<string, string> { ["dest.test"] = "smtp:" + sink.NextHop },
            ExtraMainCf = mainCf,
        });

    /// <summary>One swaks session to <paramref name="port"/>.</summary>
    public static Task<SwaksResult> SendAsync(Scenario s, int port, string from) =>
        s.SwaksAsync(new SwaksRequest { Port = port, From = from, To = [Recipient], TimeoutSeconds = 60 });

    /// <summary>The RCPT reply line without swaks' direction marker, e.g. "450 4.2.0 &lt;rcpt@dest.test&gt;: ...".</summary>
    public static string RcptLine(SwaksResult r) => Strip(Assert.Single(r.Rcpt).Text);

    public static string Strip(string swaksLine) => swaksLine[(swaksLine.IndexOf(' ') + 1)..].Trim();

    /// <summary>Waits for the sink's message from <paramref name="from"/> and returns it (headers and body as delivered).</summary>
    public static async Task<string> DeliveredFromAsync(SmtpSinkPeer sink, string from)
    {
        SinkDump? found = null;
        await Wait.UntilAsync(() => (found = sink.Dumps().FirstOrDefault(d => d.MailArgs.Contains(from, StringComparison.OrdinalIgnoreCase))) != null,
            TimeSpan.FromSeconds(30), $"the sink to receive the message from {from}");
        return found!.Message;
    }

    /// <summary>The header fields of a delivered message (unfolded not needed: one line each here), in order.</summary>
    public static IReadOnlyList<string> Headers(string message) =>
        message.Replace("\r\n", "\n").Split("\n\n")[0].Split('\n').Aggregate(new List<string>(), (acc, line) =>
        {
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t') && acc.Count > 0) acc[^1] += "\n" + line;
            else acc.Add(line);
            return acc;
        });
}
