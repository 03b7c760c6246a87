// QueueEnvelope: owns reading the MTA's envelope records as an operator (or a test) sees them on disk:
// data_directory/queue/envelope/<ID>.json, one JSON object per queued message (schema version 1,
// camelCase: queueId, sender, recipients[] with localPart, domain, state, lastReply{code,
// enhancedStatus,lines}, lastRelay; attempts; nextAttempt). A recipient's "state" is omitted while
// it is Pending (the enum's default), so an absent state reads as "Pending" here. Only the fields the
// tests assert on are read; the record is parsed with System.Text.Json's DOM so an added field never
// breaks a test.
using System.Text.Json;

namespace Mta.CompatTests.Peers;

/// <summary>One recipient of a queued message.</summary>
/// <param name="Address">localPart@domain.</param>
/// <param name="State">Pending, Delivered or Bounced.</param>
/// <param name="LastCode">The reply code of the last attempt, or null.</param>
/// <param name="LastEnhancedStatus">The enhanced status code of the last attempt, or null.</param>
/// <param name="LastText">The lines of the last reply, joined with a space, or null.</param>
public sealed record QueuedRecipientRecord(string Address, string State, int? LastCode, string? LastEnhancedStatus, string? LastText);

/// <summary>One envelope record in data_directory/queue/envelope/.</summary>
/// <param name="Path">The record file.</param>
/// <param name="QueueId">The queue ID.</param>
/// <param name="Recipients">The recipients with their states.</param>
/// <param name="Json">The raw record, for failure messages.</param>
public sealed record QueueEnvelope(string Path, string QueueId, IReadOnlyList<QueuedRecipientRecord> Recipients, string Json)
{
    /// <summary>Addresses of the recipients still to be delivered.</summary>
    public IReadOnlyList<string> Pending => Recipients.Where(r => r.State == "Pending").Select(r => r.Address).ToArray();

    /// <summary>Reads every envelope record under <paramref name="queueDirectory"/>/envelope (none when it does not exist).</summary>
    public static IReadOnlyList<QueueEnvelope> ReadAll(string queueDirectory)
    {
        var dir = System.IO.Path.Combine(queueDirectory, "envelope");
        if (!Directory.Exists(dir))
        {
            return [];
        }
        var records = new List<QueueEnvelope>();
        foreach (var file in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            try
            {
                records.Add(Read(file));
            }
            catch (FileNotFoundException)
            {
                // Delivered and removed between listing and reading.
            }
        }
        return records;
    }

    /// <summary>Parses one record file.</summary>
    public static QueueEnvelope Read(string path)
    {
        var json = File.ReadAllText(path);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var recipients = new List<QueuedRecipientRecord>();
        foreach (var r in root.GetProperty("recipients").EnumerateArray())
        {
            var address = $"{r.GetProperty("localPart").GetString()}@{r.GetProperty("domain").GetString()}";
            var state = r.TryGetProperty("state", out var s) ? s.GetString() ?? "Pending" : "Pending";
            int? code = null;
            string? enhanced = null, text = null;
            if (r.TryGetProperty("lastReply", out var reply) && reply.ValueKind == JsonValueKind.Object)
            {
                code = reply.GetProperty("code").GetInt32();
                enhanced = reply.TryGetProperty("enhancedStatus", out var e) ? e.GetString() : null;
                text = reply.TryGetProperty("lines", out var l) ? string.Join(' ', l.EnumerateArray().Select(x => x.GetString())) : null;
            }
            recipients.Add(new QueuedRecipientRecord(address, state, code, enhanced, text));
        }
        return new QueueEnvelope(path, root.GetProperty("queueId").GetString() ?? "", recipients, json);
    }
}
