// S3QueueOptions: the main.cf parameters of the queue backend choice and of the S3 object-store queue
// (queue_backend = s3): endpoint, bucket, credentials, the quirks of older Ceph RGW, and the node
// lease timing that bounds how fast another node takes over a dead node's queue. See docs/queue-s3.md.
using Mta.Configuration;

namespace Mta.Queue.S3;

/// <summary>Queue backend selection and the S3 queue's settings.</summary>
public sealed class S3QueueOptions
{
    [Parameter("queue_backend", "local", "Where the durable queue lives: local (queue_directory on this machine) or s3 (an S3-compatible bucket shared by several nodes).")]
    public string QueueBackend { get; set; } = "";
    [Parameter("queue_s3_endpoint", "", "S3 endpoint URL (e.g. http://127.0.0.1:7480 for Ceph RGW); empty for AWS S3 in queue_s3_region.")]
    public string Endpoint { get; set; } = "";
    [Parameter("queue_s3_bucket", "", "Bucket that holds the queue (must exist; required with queue_backend = s3).")]
    public string Bucket { get; set; } = "";
    [Parameter("queue_s3_region", "us-east-1", "Region used for request signing (and for the AWS endpoint when queue_s3_endpoint is empty).")]
    public string Region { get; set; } = "";
    [Parameter("queue_s3_prefix", "mta/", "Key prefix of every queue object in the bucket; nodes sharing a queue use the same prefix.")]
    public string Prefix { get; set; } = "";
    [Parameter("queue_s3_access_key", "", "S3 access key id; empty means the standard AWS credential chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws, instance roles).")]
    public string AccessKey { get; set; } = "";
    [Parameter("queue_s3_secret_key", "", "S3 secret access key (with queue_s3_access_key).")]
    public string SecretKey { get; set; } = "";
    [Parameter("queue_s3_force_path_style", "yes", "Address the bucket as endpoint/bucket/key instead of bucket.endpoint/key (needed by Ceph RGW and MinIO).")]
    public bool ForcePathStyle { get; set; }
    [Parameter("queue_s3_unquoted_etag_if_match", "no", "Send the ETag in If-Match without its quotes (Ceph RGW 16.x Pacific needs this; AWS documents the quoted form).")]
    public bool UnquotedEtagIfMatch { get; set; }
    [Parameter("queue_s3_checksum_when_required", "no", "Compute and validate request/response checksums only when the operation requires them (needed by Ceph RGW 16.x, which rejects the SDK's trailing checksums).")]
    public bool ChecksumWhenRequired { get; set; }
    [Parameter("queue_s3_request_timeout", "10s", "Timeout of one S3 request; a session whose queue write takes longer gets 451 4.3.0.")]
    public TimeSpan RequestTimeout { get; set; }
    [Parameter("queue_node_id", "$myhostname", "Name of this node in the shared S3 queue (its lease is <prefix>lease/<queue_node_id>); unique per node.")]
    public string NodeId { get; set; } = "";
    [Parameter("queue_lease_timeout", "10s", "A node's lease that was not renewed for this long is taken over by another node, which then delivers its queued mail.")]
    public TimeSpan LeaseTimeout { get; set; }
    [Parameter("queue_lease_renew_interval", "3s", "How often a node renews the leases it holds and looks for expired ones (well below queue_lease_timeout).")]
    public TimeSpan LeaseRenewInterval { get; set; }

    /// <summary>True when <see cref="QueueBackend"/> is <c>s3</c>.</summary>
    public bool IsS3 => string.Equals(QueueBackend, "s3", StringComparison.OrdinalIgnoreCase);

    /// <summary>Checks the values that binding cannot: backend name, bucket, node id, lease timing.</summary>
    /// <exception cref="FormatException">a value that cannot be used, naming the parameter.</exception>
    public void Validate()
    {
        if (!IsS3 && !string.Equals(QueueBackend, "local", StringComparison.OrdinalIgnoreCase))
            throw new FormatException($"queue_backend = {QueueBackend}: expected local or s3");
        if (!IsS3) return;
        if (string.IsNullOrWhiteSpace(Bucket)) throw new FormatException("queue_s3_bucket is empty: required with queue_backend = s3");
        if (string.IsNullOrWhiteSpace(NodeId) || NodeId.Any(c => c is '/' or '\\' || char.IsWhiteSpace(c) || c > '~'))
            throw new FormatException($"queue_node_id = {NodeId}: must be non-empty ASCII without white space or '/'");
        if (Endpoint.Length > 0 && !Uri.TryCreate(Endpoint, UriKind.Absolute, out _))
            throw new FormatException($"queue_s3_endpoint = {Endpoint}: not an absolute URL");
        if (LeaseTimeout < TimeSpan.FromSeconds(1)) throw new FormatException($"queue_lease_timeout = {LeaseTimeout.TotalSeconds}s: must be at least 1s");
        if (LeaseRenewInterval <= TimeSpan.Zero || LeaseRenewInterval * 2 > LeaseTimeout)
            throw new FormatException($"queue_lease_renew_interval = {LeaseRenewInterval.TotalSeconds}s: must be positive and at most half of queue_lease_timeout ({LeaseTimeout.TotalSeconds}s)");
        if (AccessKey.Length > 0 != SecretKey.Length > 0)
            throw new FormatException("queue_s3_access_key and queue_s3_secret_key must be set together (or both left empty for the AWS credential chain)");
    }
}
