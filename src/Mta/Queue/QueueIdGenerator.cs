// QueueIdGenerator: owns the shape and generation of queue IDs.
// Follows the idea of Postfix's long queue IDs (postconf(5) enable_long_queue_ids): a time part that
// sorts by arrival, then a per-node uniqueness part; our own encoding, documented below.
using System.Security.Cryptography;

namespace Mta.Queue;

/// <summary>
/// Generates queue IDs: 15 characters of Crockford base-32 (<c>0-9 A-H J K M N P-T V-Z</c>; no I, L, O, U),
/// upper case. Characters 1..11 are the microseconds since 1970-01-01 UTC (55 bits, good until the
/// year 3111); characters 12..15 are a 20-bit sequence that starts at a random value below 2^19 in
/// each new microsecond and counts up within it. IDs from one generator are strictly increasing, so
/// they sort by generation time (ordinal string comparison); a clock stepping backwards never
/// reorders them (the generator keeps its last time). Example: <c>0CQ7ZB1K3T94P2M</c>.
/// Thread-safe. IDs are file names in the local queue, so only these 32 characters ever occur.
/// </summary>
public sealed class QueueIdGenerator
{
    /// <summary>The 32-character alphabet, in ascending ASCII order so that IDs sort by value.</summary>
    public const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    /// <summary>Length of a generated ID in characters.</summary>
    public const int Length = 15;
    private const int TimeChars = 11;
    private const int SequenceBits = 20;

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private long _lastMicros = -1;
    private int _sequence;

    /// <param name="time">the clock (UTC); <see cref="TimeProvider.System"/> in production.</param>
    public QueueIdGenerator(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>Returns a new queue ID (see the class summary for the shape).</summary>
    public string Next()
    {
        long micros;
        int seq;
        lock (_lock)
        {
            long now = (_time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
            if (now > _lastMicros)
            {
                _lastMicros = now;
                _sequence = RandomNumberGenerator.GetInt32(1 << (SequenceBits - 1));
            }
            else if (++_sequence >= 1 << SequenceBits)
            {
                // A million IDs in one microsecond (or a clock that went back): borrow the next microsecond.
                _lastMicros++;
                _sequence = 0;
            }
            micros = _lastMicros;
            seq = _sequence;
        }
        return string.Create(Length, (micros, seq), static (span, s) =>
        {
            long t = s.micros;
            for (int i = TimeChars - 1; i >= 0; i--) { span[i] = Alphabet[(int)(t & 31)]; t >>= 5; }
            int q = s.seq;
            for (int i = Length - 1; i >= TimeChars; i--) { span[i] = Alphabet[q & 31]; q >>= 5; }
        });
    }

    /// <summary>
    /// True when <paramref name="queueId"/> is safe to use as a queue file name: 1..64 characters of
    /// ASCII letters and digits. Accepts IDs of other generators (e.g. Postfix's) too; rejects
    /// anything with path separators, dots or white space.
    /// </summary>
    public static bool IsValid(string? queueId)
    {
        if (string.IsNullOrEmpty(queueId) || queueId.Length > 64) return false;
        foreach (char c in queueId)
            if (!char.IsAsciiLetterOrDigit(c)) return false;
        return true;
    }

    /// <summary>Decodes the time part of an ID made by this generator, or null when it is not one.</summary>
    public static DateTimeOffset? TimeOf(string queueId)
    {
        if (queueId.Length != Length) return null;
        long t = 0;
        for (int i = 0; i < TimeChars; i++)
        {
            int v = Alphabet.IndexOf(queueId[i]);
            if (v < 0) return null;
            t = (t << 5) | (uint)v;
        }
        return DateTimeOffset.UnixEpoch.AddTicks(t * 10);
    }
}
