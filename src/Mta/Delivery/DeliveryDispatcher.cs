// DeliveryDispatcher: the delivery step of the pre-queue pipeline (design.md "The flow of one message"):
// routes every recipient, groups recipients by next hop (one transaction per group), delivers the groups
// concurrently through the agent for their transport within the caller's deadline, and returns one
// outcome per recipient in recipient order. The per-recipient log lines are written by its callers (the
// pre-queue pipeline and the queue runner), which know the delays before delivery (Logging/DeliveryLog.cs).
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Routing;
using Mta.Smtp.Content;
using Mta.Smtp.Protocol;

namespace Mta.Delivery;

/// <summary>
/// Routes and delivers one message. Never throws for delivery failures: a routing exception, an agent
/// exception or a missing outcome becomes a Deferred <c>451 4.3.0</c> outcome (logged as an error).
/// </summary>
public sealed class DeliveryDispatcher
{
    private readonly IRouter _router;
    private readonly IReadOnlyDictionary<TransportKind, IDeliveryAgent> _agents;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the dispatcher.</summary>
    /// <param name="router">next hop per recipient.</param>
    /// <param name="agents">agent per transport; a transport without an agent defers its recipients (4.3.5).</param>
    /// <param name="logger">per-recipient delivery lines (category is the caller's choice).</param>
    /// <param name="timeProvider">clock for delay= (tests).</param>
    public DeliveryDispatcher(IRouter router, IReadOnlyDictionary<TransportKind, IDeliveryAgent> agents, ILogger<DeliveryDispatcher>? logger = null, TimeProvider? timeProvider = null)
    {
        _router = router ?? throw new ArgumentNullException(nameof(router));
        _agents = agents ?? throw new ArgumentNullException(nameof(agents));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Delivers <paramref name="content"/> to <paramref name="recipients"/>.</summary>
    /// <param name="envelope">the message envelope (queue ID, sender, MAIL parameters, arrival time).</param>
    /// <param name="recipients">the recipients to deliver now (e.g. all of <see cref="MessageEnvelope.Recipients"/>, or the ones still pending).</param>
    /// <param name="content">the message; each agent opens its own read stream.</param>
    /// <param name="deadline">cancelled at the pre-queue deadline; undecided recipients then come back Deferred.</param>
    /// <returns>exactly one outcome per recipient, same order.</returns>
    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(MessageEnvelope envelope, IReadOnlyList<EnvelopeRecipient> recipients,
        MessageContent content, CancellationToken deadline)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        ArgumentNullException.ThrowIfNull(recipients);
        ArgumentNullException.ThrowIfNull(content);
        var outcomes = new RecipientOutcome?[recipients.Count];
        var groups = new Dictionary<NextHop, List<int>>();
        for (int i = 0; i < recipients.Count; i++)
        {
            NextHop hop;
            try { hop = _router.Route(recipients[i].Address); }
            catch (Exception e)
            {
                _logger.LogError(e, "{QueueId}: routing <{Rcpt}> failed", envelope.QueueId, recipients[i].Address.Address);
                outcomes[i] = new RecipientOutcome(recipients[i], DeliveryStatus.Deferred, new SmtpReply(451, "4.3.0", "internal error while routing the recipient"), "none");
                continue;
            }
            if (!groups.TryGetValue(hop, out var list)) groups[hop] = list = [];
            list.Add(i);
        }

        // One next hop (the common case): deliver on this thread. Several: every group but the first
        // starts on the thread pool, since an agent may do synchronous work before its first await.
        bool parallel = groups.Count > 1;
        await Task.WhenAll(groups.Select((g, n) => DeliverGroupAsync(envelope, g.Key, g.Value, recipients, content, outcomes, deadline, yieldFirst: parallel && n > 0))).ConfigureAwait(false);

        var result = new RecipientOutcome[recipients.Count];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = outcomes[i] ?? new RecipientOutcome(recipients[i], DeliveryStatus.Deferred, new SmtpReply(451, "4.3.0", "internal error: no delivery outcome"), "none");
        }
        return result;
    }

    private async Task DeliverGroupAsync(MessageEnvelope envelope, NextHop hop, List<int> indexes, IReadOnlyList<EnvelopeRecipient> recipients,
        MessageContent content, RecipientOutcome?[] outcomes, CancellationToken deadline, bool yieldFirst)
    {
        var group = indexes.Select(i => recipients[i]).ToArray();
        if (!_agents.TryGetValue(hop.Transport, out var agent))
        {
            var reply = new SmtpReply(451, "4.3.5", $"no delivery agent configured for transport {hop.Transport.ToString().ToLowerInvariant()}");
            foreach (var i in indexes) outcomes[i] = new RecipientOutcome(recipients[i], DeliveryStatus.Deferred, reply, "none");
            return;
        }
        IReadOnlyList<RecipientOutcome>? got = null;
        try
        {
            if (yieldFirst) await Task.Yield();
            got = await agent.DeliverAsync(new DeliveryRequest(envelope, hop, group, content), deadline).ConfigureAwait(false);
            if (got.Count != group.Length)
            {
                _logger.LogError("{QueueId}: agent for {NextHop} returned {Got} outcomes for {Want} recipients", envelope.QueueId, hop, got.Count, group.Length);
                got = null;
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "{QueueId}: delivery agent for {NextHop} failed", envelope.QueueId, hop);
        }
        for (int k = 0; k < indexes.Count; k++)
        {
            outcomes[indexes[k]] = got?[k] ?? new RecipientOutcome(recipients[indexes[k]], DeliveryStatus.Deferred,
                new SmtpReply(451, "4.3.0", "internal error in the delivery agent"), "none");
        }
    }

}
