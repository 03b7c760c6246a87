// AwsObjectStore: IObjectStore on AWSSDK.S3 4.1 for AWS S3, Ceph RGW and MinIO. Owns the client
// configuration (endpoint, path style, region, credentials or the standard AWS chain, checksum mode,
// timeout) and the mapping of SDK errors: 412/409 and a 500 after a conditional write become
// ObjectConditionFailedException ("maybe lost", decided by re-reading); everything else that is not
// "not found" becomes ObjectStoreUnavailableException (the session answers 451 4.3.0).
using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Mta.Queue.S3;

/// <summary>The real object store behind the S3 queue.</summary>
public sealed class AwsObjectStore : IObjectStore, IDisposable
{
    private const string MetaPrefix = "x-amz-meta-";
    private readonly IAmazonS3 _client;
    private readonly string _bucket;
    private readonly bool _unquotedIfMatch;

    /// <summary>Creates the client from the queue_s3_* parameters.</summary>
    public AwsObjectStore(S3QueueOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            AuthenticationRegion = options.Region,
            MaxErrorRetry = 2,
            HttpClientFactory = new ThreadPoolHttpClientFactory(),   // see there: socket completions run inline
        };
        if (options.RequestTimeout > TimeSpan.Zero) config.Timeout = options.RequestTimeout;
        if (options.Endpoint.Length > 0) config.ServiceURL = options.Endpoint;
        else config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        if (options.ChecksumWhenRequired)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        _client = options.AccessKey.Length > 0
            ? new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
        _bucket = options.Bucket;
        _unquotedIfMatch = options.UnquotedEtagIfMatch;
    }

    /// <summary>The bucket in use.</summary>
    public string Bucket => _bucket;

    /// <summary>Creates the bucket when it does not exist (tests and first set-up).</summary>
    public async Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        try { await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken).ConfigureAwait(false); }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("create bucket", _bucket, e); }
    }

    /// <inheritdoc/>
    public async Task<string> PutAsync(string key, Stream body, IReadOnlyDictionary<string, string> metadata, bool ifNoneMatch, string? ifMatch, CancellationToken cancellationToken)
    {
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            ContentType = "application/octet-stream",
        };
        foreach (var (k, v) in metadata) request.Metadata[MetaPrefix + k] = v;
        bool conditional = ifNoneMatch || ifMatch != null;
        if (ifNoneMatch) request.IfNoneMatch = "*";
        if (ifMatch != null) request.IfMatch = _unquotedIfMatch ? ifMatch : "\"" + ifMatch + "\"";
        try
        {
            var response = await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
            return Unquote(response.ETag);
        }
        catch (AmazonS3Exception e) when (conditional && e.StatusCode is HttpStatusCode.PreconditionFailed or HttpStatusCode.Conflict
                                            or HttpStatusCode.InternalServerError or HttpStatusCode.NotFound)
        {
            // 404: AWS answers If-Match on a missing key so; 500: RGW's -ECANCELED for a lost CAS.
            throw new ObjectConditionFailedException($"conditional PUT {key}: {(int)e.StatusCode} {e.ErrorCode}", (int)e.StatusCode);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("PUT", key, e); }
    }

    /// <inheritdoc/>
    public async Task<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var opened = await OpenAsync(key, cancellationToken).ConfigureAwait(false);
        if (opened is null) return null;
        await using var body = opened.Body;
        using var ms = new MemoryStream();
        try { await body.CopyToAsync(ms, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("GET", key, e); }
        return new StoredObject(opened.Head, ms.ToArray());
    }

    /// <inheritdoc/>
    public async Task<OpenedObject?> OpenAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var r = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            var head = new ObjectHead(key, Unquote(r.ETag), r.ContentLength, ToOffset(r.LastModified), Metadata(r.Metadata));
            return new OpenedObject(head, new KnownLengthStream(r.ResponseStream, r.ContentLength, r));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("GET", key, e); }
    }

    /// <inheritdoc/>
    public async Task<ObjectHead?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var r = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
            return new ObjectHead(key, Unquote(r.ETag), r.ContentLength, ToOffset(r.LastModified), Metadata(r.Metadata));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { return null; }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("HEAD", key, e); }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ObjectHead> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? token = null;
        while (true)
        {
            ListObjectsV2Response r;
            try
            {
                r = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = prefix, ContinuationToken = token, MaxKeys = 1000 }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("LIST", prefix, e); }
            foreach (var o in r.S3Objects ?? [])
                yield return new ObjectHead(o.Key, Unquote(o.ETag), o.Size ?? 0, ToOffset(o.LastModified), Empty);
            if (r.IsTruncated != true || string.IsNullOrEmpty(r.NextContinuationToken)) yield break;
            token = r.NextContinuationToken;
        }
    }

    /// <inheritdoc/>
    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try { await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false); }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound) { }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken)) { throw Unavailable("DELETE", key, e); }
    }

    /// <inheritdoc/>
    public void Dispose() => _client.Dispose();

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    private static IReadOnlyDictionary<string, string> Metadata(MetadataCollection m)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var k in m.Keys)
        {
            string name = k.StartsWith(MetaPrefix, StringComparison.OrdinalIgnoreCase) ? k[MetaPrefix.Length..] : k;
            d[name.ToLowerInvariant()] = m[k];
        }
        return d;
    }

    private static DateTimeOffset ToOffset(DateTime? t) =>
        t is { } v ? new DateTimeOffset(v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v.ToUniversalTime()) : DateTimeOffset.MinValue;

    internal static string Unquote(string? etag) => (etag ?? "").Trim().Trim('"');

    private static bool IsStoreFailure(Exception e, CancellationToken cancellationToken) =>
        !(e is OperationCanceledException && cancellationToken.IsCancellationRequested);

    private static ObjectStoreUnavailableException Unavailable(string op, string key, Exception e) =>
        new($"S3 {op} {key} failed: {(e is AmazonServiceException s ? $"{(int)s.StatusCode} {s.ErrorCode} {s.Message}" : e.Message)}", e);

    /// <summary>The response stream with the object's length, so callers can size it (mailq) without seeking.</summary>
    private sealed class KnownLengthStream(Stream inner, long length, IDisposable response) : Stream
    {
        private long _position;
        public override bool CanRead => true;
        public override bool CanSeek => true;   // for Length only; Seek is supported to the current position
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => Seek(value, SeekOrigin.Begin); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) { int n = inner.Read(buffer, offset, count); _position += n; return n; }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _position += n;
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin)
        {
            long target = origin switch { SeekOrigin.Begin => offset, SeekOrigin.Current => _position + offset, _ => length + offset };
            return target == _position ? _position : throw new NotSupportedException("S3 content stream is forward-only");
        }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) { inner.Dispose(); response.Dispose(); }
            base.Dispose(disposing);
        }
    }
}
