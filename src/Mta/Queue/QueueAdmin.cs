// QueueAdmin: owns the administrator's queue operations behind `mta queue ...`: listing in the
// shape of Postfix mailq/postqueue -p (and postqueue -j JSON lines), showing one message like
// postcat(1), and postsuper(1)-style hold (-h), release (-H), delete (-d), requeue (-r), plus
// postqueue -f / -i flush. See Postfix postqueue(1), postsuper(1), postcat(1), mailq(1).
using System.Globalization;
using System.Text;
using System.Text.Json;
using Mta.Smtp.Envelope;

namespace Mta.Queue;

/// <summary>The result of an admin operation on one queue ID.</summary>
public enum QueueAdminResult
{
    /// <summary>Done (exit code 0).</summary>
    Done,
    /// <summary>Nothing to do: already in the requested state (exit code 0).</summary>
    Unchanged,
    /// <summary>No such message in the queue (exit code 1).</summary>
    NotFound,
    /// <summary>The text is not a queue ID (exit code 2).</summary>
    InvalidId,
}

/// <summary>
/// Queue administration for the CLI. Works on any <see cref="IQueueStore"/>. When a
/// <see cref="QueueRunner"/> runs in the same process, pass it so that flush, release and requeue
/// wake it at once and <see cref="ListAsync"/> marks active messages with <c>*</c>; from another process
/// the running server sees the change at its next queue run (queue_run_delay at most).
/// Changes by the admin and by a delivery in progress are not merged: the delivery's final record
/// wins for the message it is delivering.
/// </summary>
public sealed class QueueAdmin
{
    private readonly IQueueStore _store;
    private readonly TimeProvider _time;
    private readonly QueueRunner? _runner;

    /// <param name="store">the queue.</param>
    /// <param name="time">clock for "now" and for local arrival times; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="runner">the in-process runner to wake, or null.</param>
    public QueueAdmin(IQueueStore store, TimeProvider? time = null, QueueRunner? runner = null)
    {
        _store = store;
        _time = time ?? TimeProvider.System;
        _runner = runner;
    }

    /// <summary>Process exit code for a result: 0 for Done and Unchanged, 1 for NotFound, 2 for InvalidId.</summary>
    public static int ExitCode(QueueAdminResult result) => result switch
    {
        QueueAdminResult.Done or QueueAdminResult.Unchanged => 0,
        QueueAdminResult.NotFound => 1,
        _ => 2,
    };

    /// <summary>A one-line message for a result, e.g. <c>mta queue: 0CQ7...: no such message in the queue</c>.</summary>
    public static string Describe(string operation, string queueId, QueueAdminResult result) => result switch
    {
        QueueAdminResult.Done => $"{queueId}: {operation}",
        QueueAdminResult.Unchanged => $"{queueId}: already {operation}",
        QueueAdminResult.NotFound => $"mta queue: {queueId}: no such message in the queue",
        _ => $"mta queue: '{queueId}' is not a queue ID",
    };

    /// <summary>
    /// Writes the queue listing. Text (mailq shape): a header line; per message the queue ID with
    /// <c>!</c> when held or <c>*</c> when being delivered, size in bytes, arrival time (local), sender
    /// (<c>MAILER-DAEMON</c> for <c>&lt;&gt;</c>); then per Pending recipient its last reply in
    /// parentheses (when any) and its address; a blank line; finally
    /// <c>-- N Kbytes in M Requests.</c>, or <c>Mail queue is empty</c>. JSON: one object per line as
    /// Postfix's <c>postqueue -j</c> (<c>queue_name, queue_id, arrival_time</c> (Unix seconds),
    /// <c>message_size, sender, recipients[{address, delay_reason}]</c>) plus <c>attempts,
    /// next_attempt, hold_reason</c>.
    /// </summary>
    /// <returns>the number of messages listed.</returns>
    /// <exception cref="IOException">the queue cannot be read.</exception>
    public async Task<int> ListAsync(TextWriter output, bool json, CancellationToken cancellationToken = default)
    {
        int count = 0;
        long total = 0;
        var active = _runner?.ActiveQueueIds.ToHashSet(StringComparer.Ordinal) ?? [];
        await foreach (var m in _store.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            long size = await SizeAsync(m.QueueId, cancellationToken).ConfigureAwait(false);
            var pending = m.Recipients.Where(r => r.State == QueuedRecipientState.Pending).ToList();
            if (json)
            {
                await output.WriteLineAsync(Json(m, size, pending, active.Contains(m.QueueId))).ConfigureAwait(false);
            }
            else
            {
                if (count == 0) await output.WriteLineAsync("-Queue ID-       --Size-- ----Arrival Time---- -Sender/Recipient-------").ConfigureAwait(false);
                string flag = m.Held ? "!" : active.Contains(m.QueueId) ? "*" : "";
                var arrival = TimeZoneInfo.ConvertTime(m.Envelope.ArrivalTime, _time.LocalTimeZone);
                string when = arrival.ToString("ddd MMM d HH:mm:ss", CultureInfo.InvariantCulture);
                if (arrival.Day < 10) when = when.Insert(8, " ");   // ctime's space-padded day
                string sender = m.Envelope.Sender.IsNull ? "MAILER-DAEMON" : m.Envelope.Sender.Address;
                await output.WriteLineAsync($"{m.QueueId + flag,-17}{size,8} {when,-20} {sender}").ConfigureAwait(false);
                foreach (var r in pending)
                {
                    if (r.LastReply != null) await output.WriteLineAsync(new string(' ', 46) + "(" + r.LastReply + ")").ConfigureAwait(false);
                    await output.WriteLineAsync(new string(' ', 47) + r.Recipient.Address.Address).ConfigureAwait(false);
                }
                await output.WriteLineAsync().ConfigureAwait(false);
            }
            count++;
            total += size;
        }
        if (!json)
        {
            if (count == 0) await output.WriteLineAsync("Mail queue is empty").ConfigureAwait(false);
            else await output.WriteLineAsync($"-- {(total + 1023) / 1024} Kbytes in {count} Request{(count == 1 ? "" : "s")}.").ConfigureAwait(false);
        }
        return count;
    }

    /// <summary>
    /// Writes one message like postcat: <c>*** ENVELOPE RECORDS ID ***</c> (sender, MAIL parameters,
    /// client, arrival, attempts, next attempt, hold state, then one line per recipient with NOTIFY,
    /// ORCPT, state, relay and last reply), <c>*** MESSAGE CONTENTS ID ***</c> with the stored bytes as
    /// UTF-8 text, and <c>*** END OF MESSAGE ***</c>.
    /// </summary>
    /// <returns>Done, NotFound or InvalidId (nothing written then).</returns>
    public async Task<QueueAdminResult> ShowAsync(string queueId, TextWriter output, CancellationToken cancellationToken = default)
    {
        if (!QueueIdGenerator.IsValid(queueId)) return QueueAdminResult.InvalidId;
        var m = await _store.LoadAsync(queueId, cancellationToken).ConfigureAwait(false);
        if (m is null) return QueueAdminResult.NotFound;
        var e = m.Envelope;
        var sb = new StringBuilder();
        sb.Append("*** ENVELOPE RECORDS ").Append(queueId).Append(" ***\n");
        sb.Append("arrival_time: ").Append(e.ArrivalTime.ToString("O", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("sender: ").Append(e.Sender).Append('\n');
        var p = e.MailParameters;
        var mp = new List<string>();
        if (p.Size is { } size) mp.Add("SIZE=" + size.ToString(CultureInfo.InvariantCulture));
        if (p.Body != BodyType.Unspecified) mp.Add("BODY=" + p.Body switch { BodyType.SevenBit => "7BIT", BodyType.EightBitMime => "8BITMIME", _ => "BINARYMIME" });
        if (p.SmtpUtf8) mp.Add("SMTPUTF8");
        if (p.Ret != DsnRet.Unspecified) mp.Add("RET=" + (p.Ret == DsnRet.Full ? "FULL" : "HDRS"));
        if (p.EnvId != null) mp.Add("ENVID=" + p.EnvId);
        if (p.Auth != null) mp.Add("AUTH=" + p.Auth);
        sb.Append("mail_parameters: ").Append(string.Join(' ', mp)).Append('\n');
        sb.Append("client: ").Append(e.ClientName).Append('[').Append(e.ClientAddress).Append("] helo=").Append(e.HeloName).Append('\n');
        sb.Append("attempts: ").Append(m.Attempts).Append('\n');
        sb.Append("next_attempt: ").Append(m.NextAttempt.ToString("O", CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("held: ").Append(m.Held ? "yes" + (m.HoldReason is null ? "" : " (" + m.HoldReason + ")") : "no").Append('\n');
        foreach (var r in m.Recipients)
        {
            sb.Append("recipient: ").Append(r.Recipient.Address).Append(" state=").Append(r.State.ToString().ToLowerInvariant());
            if (r.Recipient.Parameters.Notify != DsnNotify.None) sb.Append(" NOTIFY=").Append(r.Recipient.Parameters.Notify.ToString().ToUpperInvariant().Replace(", ", ",", StringComparison.Ordinal));
            if (r.Recipient.Parameters.OriginalRecipient is { } o) sb.Append(" ORCPT=").Append(o);
            if (r.LastRelay != null) sb.Append(" relay=").Append(r.LastRelay);
            if (r.LastReply != null) sb.Append(" (").Append(r.LastReply).Append(')');
            sb.Append('\n');
        }
        sb.Append("*** MESSAGE CONTENTS ").Append(queueId).Append(" ***\n");
        await output.WriteAsync(sb.ToString()).ConfigureAwait(false);
        try
        {
            using var s = await _store.OpenContentAsync(queueId, cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(s, new UTF8Encoding(false, false));
            await output.WriteAsync(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (QueueEntryNotFoundException) { await output.WriteLineAsync("(content missing)").ConfigureAwait(false); }
        await output.WriteLineAsync("*** END OF MESSAGE ***").ConfigureAwait(false);
        return QueueAdminResult.Done;
    }

    /// <summary>Puts a message on hold (postsuper -h); the runner skips it until released.</summary>
    /// <param name="queueId">the queue ID.</param>
    /// <param name="reason">why, shown by <see cref="ShowAsync"/>; null for "admin".</param>
    /// <param name="cancellationToken">cancels the operation.</param>
    public Task<QueueAdminResult> HoldAsync(string queueId, string? reason = null, CancellationToken cancellationToken = default) =>
        ChangeAsync(queueId, m => m.Held ? null : m with { Held = true, HoldReason = reason ?? "admin" }, wake: false, cancellationToken);

    /// <summary>Releases a held message (postsuper -H) and makes it due now.</summary>
    public Task<QueueAdminResult> ReleaseAsync(string queueId, CancellationToken cancellationToken = default) =>
        ChangeAsync(queueId, m => m.Held ? m with { Held = false, HoldReason = null, NextAttempt = _time.GetUtcNow() } : null, wake: true, cancellationToken);

    /// <summary>Makes a message due now and restarts its backoff (Attempts = 0), like postsuper -r; a held message stays held.</summary>
    public Task<QueueAdminResult> RequeueAsync(string queueId, CancellationToken cancellationToken = default) =>
        ChangeAsync(queueId, m => m with { Attempts = 0, NextAttempt = _time.GetUtcNow() }, wake: true, cancellationToken);

    /// <summary>
    /// Makes one message (postqueue -i ID) or, with null, every non-held message (postqueue -f) due
    /// now, durably, and wakes the in-process runner. Held messages are not changed.
    /// </summary>
    /// <returns>for one ID: Done, Unchanged (held or already due), NotFound, InvalidId; for all: Done.</returns>
    public async Task<QueueAdminResult> FlushAsync(string? queueId, CancellationToken cancellationToken = default)
    {
        if (queueId != null)
            return await ChangeAsync(queueId, m => m.Held || m.NextAttempt <= _time.GetUtcNow() ? null : m with { NextAttempt = _time.GetUtcNow() }, wake: true, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        var due = new List<QueuedMessage>();
        await foreach (var m in _store.ListAsync(cancellationToken).ConfigureAwait(false))
            if (!m.Held && m.NextAttempt > now) due.Add(m);
        foreach (var m in due)
        {
            try { await _store.UpdateAsync(m with { NextAttempt = now }, cancellationToken).ConfigureAwait(false); }
            catch (QueueEntryNotFoundException) { }
        }
        if (_runner != null) await _runner.FlushAsync(null, cancellationToken).ConfigureAwait(false);
        return QueueAdminResult.Done;
    }

    /// <summary>Deletes a message without any notification (postsuper -d).</summary>
    public async Task<QueueAdminResult> DeleteAsync(string queueId, CancellationToken cancellationToken = default)
    {
        if (!QueueIdGenerator.IsValid(queueId)) return QueueAdminResult.InvalidId;
        if (await _store.LoadAsync(queueId, cancellationToken).ConfigureAwait(false) is null) return QueueAdminResult.NotFound;
        await _store.DeleteAsync(queueId, cancellationToken).ConfigureAwait(false);
        return QueueAdminResult.Done;
    }

    private async Task<QueueAdminResult> ChangeAsync(string queueId, Func<QueuedMessage, QueuedMessage?> change, bool wake, CancellationToken cancellationToken)
    {
        if (!QueueIdGenerator.IsValid(queueId)) return QueueAdminResult.InvalidId;
        var m = await _store.LoadAsync(queueId, cancellationToken).ConfigureAwait(false);
        if (m is null) return QueueAdminResult.NotFound;
        var changed = change(m);
        if (changed is null) return QueueAdminResult.Unchanged;
        try { await _store.UpdateAsync(changed, cancellationToken).ConfigureAwait(false); }
        catch (QueueEntryNotFoundException) { return QueueAdminResult.NotFound; }
        if (wake) _runner?.Wake();
        return QueueAdminResult.Done;
    }

    private async Task<long> SizeAsync(string queueId, CancellationToken cancellationToken)
    {
        try
        {
            using var s = await _store.OpenContentAsync(queueId, cancellationToken).ConfigureAwait(false);
            return s.CanSeek ? s.Length : 0;
        }
        catch (IOException) { return 0; }
    }

    private static string Json(QueuedMessage m, long size, List<QueuedRecipient> pending, bool active)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("queue_name", m.Held ? "hold" : active ? "active" : "deferred");
            w.WriteString("queue_id", m.QueueId);
            w.WriteNumber("arrival_time", m.Envelope.ArrivalTime.ToUnixTimeSeconds());
            w.WriteNumber("message_size", size);
            w.WriteString("sender", m.Envelope.Sender.Address);
            w.WriteStartArray("recipients");
            foreach (var r in pending)
            {
                w.WriteStartObject();
                w.WriteString("address", r.Recipient.Address.Address);
                if (r.LastReply != null) w.WriteString("delay_reason", r.LastReply.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("attempts", m.Attempts);
            w.WriteNumber("next_attempt", m.NextAttempt.ToUnixTimeSeconds());
            if (m.HoldReason != null) w.WriteString("hold_reason", m.HoldReason);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
