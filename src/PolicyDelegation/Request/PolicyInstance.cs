// PolicyInstance: creates the "instance" attribute value that identifies one mail transaction.
// Follows Postfix smtpd.c mail_cmd: "%x.%lx.%lx.%x" of pid, MAIL FROM time seconds, microseconds, sequence.
namespace Mta.PolicyDelegation;

/// <summary>
/// Builds the <c>instance</c> attribute: <c>hex(pid).hex(seconds).hex(microseconds).hex(sequence)</c>, lower-case
/// hex without padding, created at MAIL FROM and kept for every request of that transaction (policy servers
/// such as postgrey and policyd-spf use it to act once per message).
/// </summary>
public static class PolicyInstance
{
    private static int s_sequence = -1;

    /// <summary>Formats an instance value from its parts exactly as Postfix does.</summary>
    /// <param name="processId">Process ID (Postfix: the smtpd process).</param>
    /// <param name="arrival">Time of MAIL FROM; seconds and microseconds since the Unix epoch are used.</param>
    /// <param name="sequence">Transaction sequence number.</param>
    public static string Format(int processId, DateTimeOffset arrival, uint sequence)
    {
        long ticks = arrival.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out long rest);
        long micros = rest / (TimeSpan.TicksPerSecond / 1_000_000);
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{(uint)processId:x}.{(ulong)seconds:x}.{(ulong)micros:x}.{sequence:x}");
    }

    /// <summary>
    /// A new instance value for a transaction starting now. Postfix numbers transactions per smtpd process
    /// (one session at a time); this MTA runs all sessions in one process, so the sequence is process-wide
    /// to keep values unique across concurrent sessions. The format is unchanged.
    /// </summary>
    /// <param name="timeProvider">Clock for the MAIL FROM time; <see cref="TimeProvider.System"/> when null.</param>
    public static string Create(TimeProvider? timeProvider = null)
    {
        var now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        uint seq = unchecked((uint)Interlocked.Increment(ref s_sequence));
        return Format(Environment.ProcessId, now, seq);
    }
}
