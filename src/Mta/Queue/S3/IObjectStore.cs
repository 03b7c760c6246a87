// IObjectStore: the few S3 operations the queue needs (conditional PUT, GET, HEAD, prefix LIST,
// DELETE), as a seam between the queue logic (S3QueueStore, S3LeaseManager) and AWSSDK.S3, so the
// same logic runs against Ceph RGW / AWS (AwsObjectStore) and an in-memory fake in unit tests.
// Conditional-write semantics follow AWS S3 "conditional requests" (If-None-Match: * on create,
// If-Match: ETag for compare-and-swap); see ../shared/reference/ceph-rgw.md for RGW's deviations.
namespace Mta.Queue.S3;

/// <summary>What a HEAD or LIST tells about an object. <see cref="ETag"/> is without quotes.</summary>
public sealed record ObjectHead(string Key, string ETag, long Size, DateTimeOffset LastModified, IReadOnlyDictionary<string, string> Metadata);

/// <summary>An object read whole (small objects: envelopes, leases).</summary>
public sealed record StoredObject(ObjectHead Head, byte[] Body);

/// <summary>An object opened for streaming (content); dispose <see cref="Body"/>.</summary>
public sealed record OpenedObject(ObjectHead Head, Stream Body);

/// <summary>
/// A conditional PUT was refused or its outcome is unknown: HTTP 412 (precondition failed), 409
/// (ConditionalRequestConflict) or 500 after a conditional write (RGW's lost CAS). The write may
/// still have happened (a lost response, then a retry that got 412): decide by re-reading.
/// </summary>
public sealed class ObjectConditionFailedException(string message, int statusCode) : IOException(message)
{
    /// <summary>The HTTP status that came back.</summary>
    public int StatusCode { get; } = statusCode;
}

/// <summary>The object store could not be reached or answered with an error (network, 5xx, auth).</summary>
public sealed class ObjectStoreUnavailableException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// The object operations of the S3 queue. Keys are full keys (prefix included). ETags are passed and
/// returned without quotes. Every method throws <see cref="ObjectStoreUnavailableException"/> when
/// the store cannot be reached; metadata names are lower-case ASCII without the x-amz-meta- prefix.
/// </summary>
public interface IObjectStore
{
    /// <summary>
    /// PUT <paramref name="key"/>. With <paramref name="ifNoneMatch"/> only when absent (If-None-Match: *);
    /// with <paramref name="ifMatch"/> only when the current ETag is that value (If-Match).
    /// </summary>
    /// <returns>the new ETag.</returns>
    /// <exception cref="ObjectConditionFailedException">a conditional write was refused or may have been lost.</exception>
    Task<string> PutAsync(string key, Stream body, IReadOnlyDictionary<string, string> metadata, bool ifNoneMatch, string? ifMatch, CancellationToken cancellationToken);

    /// <summary>GET a small object whole, or null when absent.</summary>
    Task<StoredObject?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>GET an object as a stream, or null when absent.</summary>
    Task<OpenedObject?> OpenAsync(string key, CancellationToken cancellationToken);

    /// <summary>HEAD: ETag, size and metadata, or null when absent.</summary>
    Task<ObjectHead?> HeadAsync(string key, CancellationToken cancellationToken);

    /// <summary>Every key under <paramref name="prefix"/> in key order (metadata is empty in listings).</summary>
    IAsyncEnumerable<ObjectHead> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>DELETE (unconditional; deleting an absent key is not an error).</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}
