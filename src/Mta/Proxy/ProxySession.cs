// ProxySession: the smtpd_proxy_filter side of one SMTP session — when to connect (first accepted RCPT,
// or after the whole message with speed_adjust), what to replay, and the Postfix-shaped log lines
// (proxy-accept / proxy-reject / warning). Used by MtaSessionHandler; one instance per session.
using Microsoft.Extensions.Logging;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Proxy;

/// <summary>The proxy filter state of one SMTP session (at most one filter connection, per transaction).</summary>
public sealed class ProxySession(ProxyFilterSettings settings, ILogger log)
{
    private ProxyFilterClient? _client;
    private bool _recipientsSent;   // the filter accepted at least one RCPT on _client: never reconnect in this transaction
    private bool _broken;

    /// <summary>The listener's proxy settings.</summary>
    public ProxyFilterSettings Settings => settings;

    /// <summary>
    /// Default mode, called for each RCPT that passed our own restrictions and milters: connects at the first
    /// one (banner, EHLO, XFORWARD, MAIL), then relays the RCPT. Null = the filter accepted the recipient;
    /// else the reply for the client (the filter's refusal, or 451 4.3.0). Does nothing with speed_adjust.
    /// </summary>
    public async Task<SmtpReply?> RcptAsync(XforwardFacts facts, string mailLine, string rcptLine, CancellationToken ct)
    {
        if (settings.SpeedAdjust) return null;
        if (_broken) return ProxyFilterClient.Masked;
        if (_client is null)
        {
            var (client, refusal, failure) = await ProxyFilterClient.OpenAsync(settings, facts, mailLine, ct).ConfigureAwait(false);
            if (client is null) { LogFailure(facts.Ident, "RCPT", failure, refusal!); return refusal; }
            _client = client;
        }
        var r = await _client.RcptAsync(rcptLine, ct).ConfigureAwait(false);
        if (ReferenceEquals(r, ProxyFilterClient.Masked))
        {
            LogFailure(facts.Ident, "RCPT", _client.Failure, r);
            if (_recipientsSent) _broken = true;   // the filter may hold earlier recipients: no second connection
            else await DropAsync().ConfigureAwait(false);
            return r;
        }
        if (r is null) _recipientsSent = true;
        else log.LogInformation("{QueueId}: proxy-reject: RCPT: {Reply}; {Line}", facts.Ident, r, rcptLine);
        return r;
    }

    /// <summary>Default mode, at DATA: relays DATA. Null = 354; else the filter's refusal or 451 4.3.0.</summary>
    public async Task<SmtpReply?> DataAsync(string? queueId, CancellationToken ct)
    {
        if (settings.SpeedAdjust) return null;
        if (_client is null || _broken)
        {
            LogFailure(queueId, "DATA", "no proxy filter connection", ProxyFilterClient.Masked);
            return ProxyFilterClient.Masked;
        }
        var r = await _client.DataCommandAsync(ct).ConfigureAwait(false);
        if (ReferenceEquals(r, ProxyFilterClient.Masked)) LogFailure(queueId, "DATA", _client.Failure, r);
        else if (r != null) log.LogInformation("{QueueId}: proxy-reject: DATA: {Reply}", queueId, r);
        return r;
    }

    /// <summary>
    /// End of data: sends the message (with speed_adjust first the whole dialogue: MAIL and every RCPT of
    /// <paramref name="rcptLines"/>; one refused recipient refuses the message, since the client was already
    /// told 250 for all of them) and returns the filter's final reply as it came, or 451 4.3.0.
    /// </summary>
    public async Task<SmtpReply> MessageAsync(XforwardFacts facts, string mailLine, IReadOnlyList<string> rcptLines, MessageContent content,
        string logSuffix, CancellationToken ct)
    {
        try
        {
            if (settings.SpeedAdjust)
            {
                var (client, refusal, failure) = await ProxyFilterClient.OpenAsync(settings, facts, mailLine, ct).ConfigureAwait(false);
                if (client is null) { LogFailure(facts.Ident, "END-OF-MESSAGE", failure, refusal!); return refusal!; }
                _client = client;
                foreach (var line in rcptLines)
                {
                    if (await client.RcptAsync(line, ct).ConfigureAwait(false) is { } refused)
                    {
                        if (ReferenceEquals(refused, ProxyFilterClient.Masked)) LogFailure(facts.Ident, "END-OF-MESSAGE", client.Failure, refused);
                        else log.LogInformation("{QueueId}: proxy-reject: END-OF-MESSAGE: {Reply} (at {Line}, speed_adjust: all recipients or none);{Suffix}", facts.Ident, refused, line, logSuffix);
                        return refused;
                    }
                }
            }
            if (_client is null || _broken)
            {
                LogFailure(facts.Ident, "END-OF-MESSAGE", "no proxy filter connection", ProxyFilterClient.Masked);
                return ProxyFilterClient.Masked;
            }
            var reply = await _client.SendMessageAsync(content, ct).ConfigureAwait(false);
            if (ReferenceEquals(reply, ProxyFilterClient.Masked)) LogFailure(facts.Ident, "END-OF-MESSAGE", _client.Failure, reply);
            else log.LogInformation("{QueueId}: proxy-{Verdict}: END-OF-MESSAGE: {Reply};{Suffix}", facts.Ident, reply.IsPositive ? "accept" : "reject", reply, logSuffix);
            return reply;
        }
        finally
        {
            await DropAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The transaction ended without a message (RSET, a refusal of ours, disconnect): abandon the filter's transaction.</summary>
    public void Abort()
    {
        var c = _client;
        _client = null;
        _broken = false;
        _recipientsSent = false;
        if (c != null) _ = c.AbortAsync();
    }

    private async Task DropAsync()
    {
        var c = _client;
        _client = null;
        _broken = false;
        _recipientsSent = false;
        if (c != null) await c.AbortAsync().ConfigureAwait(false);
    }

    private void LogFailure(string? queueId, string stage, string? failure, SmtpReply reply)
    {
        if (ReferenceEquals(reply, ProxyFilterClient.Masked))
            log.LogWarning("{QueueId}: proxy filter {Filter} at {Stage}: {Failure}; answered {Reply}", queueId ?? "NOQUEUE", settings.EndPoint, stage, failure, reply);
        else
            log.LogInformation("{QueueId}: proxy-reject: {Stage}: {Reply}", queueId ?? "NOQUEUE", stage, reply);
    }
}
