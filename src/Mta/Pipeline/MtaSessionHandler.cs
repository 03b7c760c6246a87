// MtaSessionHandler: the host's ISmtpSessionHandler — connect/disconnect logging in Postfix's shape,
// relay control at RCPT, the queue ID, the Received: header, and the hand-off of each complete message
// to the pre-queue pipeline. One instance per session.
using System.Net;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Pipeline;

/// <summary>Per-session stage decisions of the MTA.</summary>
public sealed class MtaSessionHandler : ISmtpSessionHandler
{
    private readonly IdentityOptions _identity;
    private readonly RelayPolicy _relay;
    private readonly PrequeuePipeline _pipeline;
    private readonly QueueIdGenerator _queueIds;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private string _client = "unknown[unknown]";
    private string? _queueId;
    private DateTimeOffset _mailTime;

    public MtaSessionHandler(IdentityOptions identity, RelayPolicy relay, PrequeuePipeline pipeline, QueueIdGenerator queueIds, TimeProvider time, ILogger log)
    {
        _identity = identity;
        _relay = relay;
        _pipeline = pipeline;
        _queueIds = queueIds;
        _time = time;
        _log = log;
    }

    public ValueTask<SmtpReply?> OnConnectAsync(SmtpSessionContext session, CancellationToken cancellationToken)
    {
        var addr = session.RemoteAddress;
        // No reverse lookup yet: loopback is "localhost", everything else "unknown" (Postfix's unverified name).
        session.ClientName = addr != null && IPAddress.IsLoopback(addr) ? "localhost" : "unknown";
        _client = $"{session.ClientName}[{addr?.ToString() ?? "unknown"}]";
        _log.LogInformation("connect from {Client}", _client);
        return ValueTask.FromResult<SmtpReply?>(null);
    }

    public ValueTask<SmtpReply?> OnHeloAsync(SmtpSessionContext session, string heloName, CancellationToken cancellationToken) =>
        ValueTask.FromResult<SmtpReply?>(null);

    public ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionContext session, SmtpPath sender, MailParameters parameters, CancellationToken cancellationToken)
    {
        _queueId = _queueIds.Next();
        _mailTime = _time.GetUtcNow();
        return ValueTask.FromResult<SmtpReply?>(null);
    }

    public ValueTask<SmtpReply?> OnRcptToAsync(SmtpSessionContext session, SmtpPath recipient, RecipientParameters parameters, CancellationToken cancellationToken)
    {
        var refusal = _relay.CheckRecipient(session.RemoteAddress, recipient);
        if (refusal != null)
        {
            var tx = session.Transaction!;
            _log.LogInformation("NOQUEUE: reject: RCPT from {Client}: {Reply}; from={Sender} to={Rcpt} proto={Proto} helo=<{Helo}>",
                _client, refusal, tx.Sender, recipient, session.IsExtended ? "ESMTP" : "SMTP", session.HeloName);
            return ValueTask.FromResult<SmtpReply?>(refusal);
        }
        if (session.Transaction!.Recipients.Count == 0) _log.LogInformation("{QueueId}: client={Client}", _queueId, _client);
        return ValueTask.FromResult<SmtpReply?>(null);
    }

    public ValueTask<SmtpReply?> OnDataAsync(SmtpSessionContext session, CancellationToken cancellationToken) =>
        ValueTask.FromResult<SmtpReply?>(null);

    public async ValueTask<SmtpReply> OnMessageAsync(SmtpSessionContext session, SmtpTransaction transaction, MessageSpool content, CancellationToken cancellationToken)
    {
        using var spool = content;
        var queueId = _queueId ?? _queueIds.Next();
        _queueId = null;
        var now = _time.GetUtcNow();
        var envelope = new MessageEnvelope
        {
            QueueId = queueId,
            Sender = transaction.Sender,
            MailParameters = transaction.Parameters,
            Recipients = transaction.Recipients.Select(r => new EnvelopeRecipient(r.Address, r.Parameters)).ToList(),
            ArrivalTime = now,
            ClientName = session.ClientName,
            ClientAddress = session.RemoteAddress?.ToString() ?? "",
            HeloName = session.HeloName ?? "",
        };
        var received = ReceivedHeader.Build(session.HeloName ?? "", session.ClientName, envelope.ClientAddress, _identity.MyHostname,
            _identity.MailName, session.ProtocolName(transaction.Parameters.SmtpUtf8), queueId, session.TlsDescription,
            transaction.Recipients.Count == 1 ? transaction.Recipients[0].Address.Address : null, now);
        var message = new MessageContent(received, spool);
        _log.LogInformation("{QueueId}: from=<{Sender}>, size={Size}, nrcpt={Count}", queueId, transaction.Sender.Address, message.Length, envelope.Recipients.Count);
        return await _pipeline.DeliverAsync(envelope, message, _mailTime == default ? now : _mailTime, cancellationToken).ConfigureAwait(false);
    }

    public void OnTransactionAborted(SmtpSessionContext session) => _queueId = null;

    public void OnDisconnected(SmtpSessionContext session)
    {
        var reason = session.EndReason switch
        {
            SessionEndReason.Quit or SessionEndReason.ClientClosed => "",
            var r => $" reason={r}",
        };
        _log.LogInformation("disconnect from {Client} {Counts}{Reason}", _client, session.FormatCommandCounts(), reason);
    }
}
