// S3RunnerQueueView: the queue as this node's QueueRunner must see it in a shared S3 queue: only
// messages under leases this node holds, each claimed (fenced CAS) before delivery, and outcomes
// written only while the lease is still held at the claimed epoch. QueueRunner itself stays
// backend-neutral: it gets this view instead of the store (the SMTP session and the admin use the
// store itself).
using System.Runtime.CompilerServices;
using Mta.Smtp.Content;

namespace Mta.Queue.S3;

/// <summary>
/// The fenced runner view of an <see cref="S3QueueStore"/>. <see cref="ListAsync"/> yields the messages of held
/// leases; <see cref="LoadAsync"/> claims (null when not this node's to deliver); <see cref="UpdateAsync"/> and
/// <see cref="DeleteAsync"/> throw <see cref="QueueOwnershipLostException"/> when the lease was taken over meanwhile.
/// </summary>
public sealed class S3RunnerQueueView(S3QueueStore store, IQueueLeases leases) : IQueueStore
{
    /// <inheritdoc/>
    public Task EnqueueAsync(QueuedMessage message, MessageContent content, CancellationToken cancellationToken) =>
        store.EnqueueAsync(message, content, cancellationToken);

    /// <inheritdoc/>
    public Task UpdateAsync(QueuedMessage message, CancellationToken cancellationToken) => store.FencedUpdateAsync(message, cancellationToken);

    /// <inheritdoc/>
    public Task DeleteAsync(string queueId, CancellationToken cancellationToken) => store.FencedDeleteAsync(queueId, cancellationToken);

    /// <inheritdoc/>
    public Task<QueuedMessage?> LoadAsync(string queueId, CancellationToken cancellationToken) => store.ClaimAsync(queueId, cancellationToken);

    /// <inheritdoc/>
    public Task<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken) => store.OpenContentAsync(queueId, cancellationToken);

    /// <inheritdoc/>
    public async IAsyncEnumerable<QueuedMessage> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var v in store.ListVersionsAsync(cancellationToken).ConfigureAwait(false))
        {
            if (leases.TryGetHeld(v.Owner, out long epoch) && v.Epoch <= epoch) yield return v.Message;
        }
    }
}
