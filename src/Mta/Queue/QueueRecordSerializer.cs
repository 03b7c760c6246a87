// QueueRecordSerializer: owns the on-disk (and later on-S3) JSON form of an envelope record, schema
// version 1, and its mapping to and from QueuedMessage. System.Text.Json with a source-generated
// context (no reflection). Fields mirror RFC 5321 2.3.1 (envelope) and RFC 3461 (NOTIFY, ORCPT,
// RET, ENVID) as MessageEnvelope carries them; Postfix keeps the same facts in its queue file records
// (see Postfix's qmgr(8) and the record types of rec_type.h: sender, recipient, DSN fields, time).
using System.Text.Json;
using System.Text.Json.Serialization;
using Mta.Delivery;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Queue;

/// <summary>An envelope record whose <c>version</c> this build does not understand (written by a newer build).</summary>
public sealed class QueueRecordVersionException(string message) : IOException(message);

/// <summary>An envelope record that cannot be parsed or holds invalid values.</summary>
public sealed class QueueRecordCorruptException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Converts <see cref="QueuedMessage"/> to and from its JSON record (UTF-8). Shape, schema version 1:
/// <code>
/// { "version": 1, "queueId": "...", "sender": {"localPart","domain"},
///   "mail": {"size","body","smtpUtf8","ret","envId","auth"},
///   "envelopeRecipients": [ {"localPart","domain","notify","orcpt"} ],
///   "arrivalTime", "clientName", "clientAddress", "heloName",
///   "recipients": [ {"localPart","domain","notify","orcpt","state","lastReply":{"code","enhancedStatus","lines"},"lastRelay"} ],
///   "attempts", "nextAttempt", "held", "holdReason" }
/// </code>
/// Enums are written as names; times as ISO 8601 with offset. A later version must keep reading version 1.
/// </summary>
public static class QueueRecordSerializer
{
    /// <summary>The schema version this build writes.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Serializes a record to UTF-8 JSON.</summary>
    public static byte[] Serialize(QueuedMessage message) =>
        JsonSerializer.SerializeToUtf8Bytes(ToRecord(message), QueueRecordJsonContext.Default.QueueRecordV1);

    /// <summary>Parses a record.</summary>
    /// <exception cref="QueueRecordVersionException">a version other than 1.</exception>
    /// <exception cref="QueueRecordCorruptException">not valid JSON, a missing field, or an invalid value.</exception>
    public static QueuedMessage Deserialize(ReadOnlySpan<byte> json)
    {
        QueueRecordV1? r;
        try
        {
            var probe = JsonSerializer.Deserialize(json, QueueRecordJsonContext.Default.QueueRecordVersionProbe);
            if (probe is null) throw new QueueRecordCorruptException("envelope record is JSON null");
            if (probe.Version <= 0) throw new QueueRecordCorruptException("envelope record has no valid version");
            if (probe.Version != CurrentVersion) throw new QueueRecordVersionException($"envelope record version {probe.Version} is not supported (this build reads {CurrentVersion})");
            r = JsonSerializer.Deserialize(json, QueueRecordJsonContext.Default.QueueRecordV1);
        }
        catch (JsonException e) { throw new QueueRecordCorruptException("envelope record is not valid JSON: " + e.Message, e); }
        if (r is null) throw new QueueRecordCorruptException("envelope record is JSON null");
        try { return FromRecord(r); }
        catch (Exception e) when (e is ArgumentException or NullReferenceException or InvalidOperationException)
        {
            throw new QueueRecordCorruptException("envelope record has invalid values: " + e.Message, e);
        }
    }

    private static QueueRecordV1 ToRecord(QueuedMessage m)
    {
        var e = m.Envelope;
        return new QueueRecordV1
        {
            Version = CurrentVersion,
            QueueId = e.QueueId,
            Sender = new PathV1 { LocalPart = e.Sender.LocalPart, Domain = e.Sender.Domain },
            Mail = new MailV1
            {
                Size = e.MailParameters.Size, Body = e.MailParameters.Body, SmtpUtf8 = e.MailParameters.SmtpUtf8,
                Ret = e.MailParameters.Ret, EnvId = e.MailParameters.EnvId, Auth = e.MailParameters.Auth,
            },
            EnvelopeRecipients = [.. e.Recipients.Select(ToRecipient)],
            ArrivalTime = e.ArrivalTime,
            ClientName = e.ClientName,
            ClientAddress = e.ClientAddress,
            HeloName = e.HeloName,
            Recipients = [.. m.Recipients.Select(q =>
            {
                var r = ToRecipient(q.Recipient);
                r.State = q.State;
                r.LastRelay = q.LastRelay;
                r.LastReply = q.LastReply is null ? null : new ReplyV1 { Code = q.LastReply.Code, EnhancedStatus = q.LastReply.EnhancedStatus, Lines = [.. q.LastReply.Lines] };
                return r;
            })],
            Attempts = m.Attempts,
            NextAttempt = m.NextAttempt,
            Held = m.Held,
            HoldReason = m.HoldReason,
        };
    }

    private static RecipientV1 ToRecipient(EnvelopeRecipient r) => new()
    {
        LocalPart = r.Address.LocalPart, Domain = r.Address.Domain,
        Notify = r.Parameters.Notify, Orcpt = r.Parameters.OriginalRecipient,
    };

    private static EnvelopeRecipient FromRecipient(RecipientV1 r) =>
        new(new SmtpPath(Req(r.LocalPart, "recipient localPart"), r.Domain ?? ""),
            new RecipientParameters { Notify = r.Notify, OriginalRecipient = r.Orcpt });

    private static QueuedMessage FromRecord(QueueRecordV1 r)
    {
        string id = Req(r.QueueId, "queueId");
        if (!QueueIdGenerator.IsValid(id)) throw new ArgumentException($"queueId '{id}' is not a valid queue ID");
        var envelope = new MessageEnvelope
        {
            QueueId = id,
            Sender = r.Sender is null ? throw new ArgumentException("sender missing") : new SmtpPath(r.Sender.LocalPart ?? "", r.Sender.Domain ?? ""),
            MailParameters = r.Mail is null ? MailParameters.Empty : new MailParameters
            {
                Size = r.Mail.Size, Body = r.Mail.Body, SmtpUtf8 = r.Mail.SmtpUtf8, Ret = r.Mail.Ret, EnvId = r.Mail.EnvId, Auth = r.Mail.Auth,
            },
            Recipients = [.. (r.EnvelopeRecipients ?? throw new ArgumentException("envelopeRecipients missing")).Select(FromRecipient)],
            ArrivalTime = r.ArrivalTime,
            ClientName = r.ClientName ?? "unknown",
            ClientAddress = r.ClientAddress ?? "",
            HeloName = r.HeloName ?? "",
        };
        var recipients = (r.Recipients ?? throw new ArgumentException("recipients missing")).Select(q =>
        {
            if (!Enum.IsDefined(q.State)) throw new ArgumentException($"recipient state {q.State} unknown");
            return new QueuedRecipient(FromRecipient(q), q.State)
            {
                LastRelay = q.LastRelay,
                LastReply = q.LastReply is null ? null : new SmtpReply(q.LastReply.Code, q.LastReply.EnhancedStatus, [.. q.LastReply.Lines ?? [""]]),
            };
        }).ToList();
        return new QueuedMessage
        {
            Envelope = envelope,
            Recipients = recipients,
            Attempts = r.Attempts,
            NextAttempt = r.NextAttempt,
            Held = r.Held,
            HoldReason = r.HoldReason,
        };
    }

    private static string Req(string? value, string name) => value ?? throw new ArgumentException(name + " missing");
}

internal sealed class QueueRecordVersionProbe
{
    public int Version { get; set; }
}

internal sealed class QueueRecordV1
{
    public int Version { get; set; }
    public string? QueueId { get; set; }
    public PathV1? Sender { get; set; }
    public MailV1? Mail { get; set; }
    public List<RecipientV1>? EnvelopeRecipients { get; set; }
    public DateTimeOffset ArrivalTime { get; set; }
    public string? ClientName { get; set; }
    public string? ClientAddress { get; set; }
    public string? HeloName { get; set; }
    public List<RecipientV1>? Recipients { get; set; }
    public int Attempts { get; set; }
    public DateTimeOffset NextAttempt { get; set; }
    public bool Held { get; set; }
    public string? HoldReason { get; set; }
}

internal sealed class PathV1
{
    public string? LocalPart { get; set; }
    public string? Domain { get; set; }
}

internal sealed class MailV1
{
    public long? Size { get; set; }
    public BodyType Body { get; set; }
    public bool SmtpUtf8 { get; set; }
    public DsnRet Ret { get; set; }
    public string? EnvId { get; set; }
    public string? Auth { get; set; }
}

internal sealed class RecipientV1
{
    public string? LocalPart { get; set; }
    public string? Domain { get; set; }
    public DsnNotify Notify { get; set; }
    public string? Orcpt { get; set; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public QueuedRecipientState State { get; set; }
    public ReplyV1? LastReply { get; set; }
    public string? LastRelay { get; set; }
}

internal sealed class ReplyV1
{
    public int Code { get; set; }
    public string? EnhancedStatus { get; set; }
    public List<string>? Lines { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(QueueRecordV1))]
[JsonSerializable(typeof(QueueRecordVersionProbe))]
internal sealed partial class QueueRecordJsonContext : JsonSerializerContext;
