// MtaExpect: owns the assertions shared by the SMTP-core compat tests, i.e. the exact expectations
// on our MTA: a relayed message is the client's message byte for byte with exactly one header field
// added in front (our Received:); the queue holds no file after a reply that did not promise
// delivery; a DSN for a failed recipient is an RFC 3464 multipart/report naming that recipient.
using System.Text.RegularExpressions;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;

namespace Mta.CompatTests.Core;

/// <summary>Assertions about what our MTA did.</summary>
public static class MtaExpect
{
    /// <summary>
    /// <paramref name="stored"/> (as a downstream stored it) is our Received: field followed by exactly
    /// <paramref name="expected"/>. Returns our Received field.
    /// </summary>
    public static string OurReceivedThen(string expected, string stored)
    {
        var (received, rest) = Bytes.SplitFirstField(stored);
        Assert.True(received.StartsWith("Received:", StringComparison.OrdinalIgnoreCase),
            $"the relayed message must start with the MTA's Received: field, but starts with: {received}");
        Assert.Equal(expected, rest);
        return received;
    }

    /// <summary>No regular file anywhere under data_directory/queue.</summary>
    public static void QueueEmpty(MtaProcess mta, string because)
    {
        var files = mta.QueuedFiles();
        Assert.True(files.Count == 0, $"{because}, but the queue holds: {string.Join(", ", files)}");
    }

    /// <summary>At least one regular file under data_directory/queue.</summary>
    public static void QueueNotEmpty(MtaProcess mta, string because)
    {
        Assert.True(mta.QueuedFiles().Count > 0, $"{because}, but {mta.QueueDirectory} holds no file");
    }

    /// <summary>Waits (bounded) until the queue directory holds no file.</summary>
    public static Task QueueDrainsAsync(MtaProcess mta, TimeSpan timeout) =>
        Wait.UntilAsync(() => mta.QueuedFiles().Count == 0, timeout, $"the queue {mta.QueueDirectory} to drain",
            () => string.Join(", ", mta.QueuedFiles()));

    /// <summary>
    /// <paramref name="dsn"/> is an RFC 3464 delivery status notification reporting
    /// <paramref name="failed"/> as failed with a 5.x.x status, and not reporting <paramref name="notMentioned"/>.
    /// </summary>
    public static void DsnReportsFailure(string dsn, string failed, string status, string notMentioned)
    {
        var ci = RegexOptions.IgnoreCase | RegexOptions.Multiline;
        Assert.Matches(new Regex(@"^Content-Type:\s*multipart/report;[\s\S]*?report-type=""?delivery-status", ci), dsn);
        Assert.Matches(new Regex(@"^Content-Type:\s*message/delivery-status", ci), dsn);
        Assert.Matches(new Regex(@"^Final-Recipient:\s*rfc822;\s*" + Regex.Escape(failed) + @"\s*$", ci), dsn);
        Assert.Matches(new Regex(@"^Action:\s*failed\s*$", ci), dsn);
        Assert.Matches(new Regex(@"^Status:\s*" + Regex.Escape(status) + @"\s*$", ci), dsn);
        Assert.DoesNotMatch(new Regex(@"^Final-Recipient:\s*rfc822;\s*" + Regex.Escape(notMentioned), ci), dsn);
    }
}
