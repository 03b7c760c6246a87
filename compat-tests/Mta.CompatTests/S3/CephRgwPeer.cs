// CephRgwPeer: owns one private single-node Ceph cluster (ceph-mon, memstore ceph-osd, radosgw) on
// loopback ports, started and stopped by compat-tests/ceph/start-rgw.sh and stop-rgw.sh under a
// private directory, with an S3 user whose keys the tests know. It hands out S3QueueOptions for a
// bucket (with the Pacific quirks switched on: unquoted ETag in If-Match, checksums only when
// required), creates buckets, and can stop and start radosgw alone (the S3 endpoint goes away while
// the data stays in the OSD). CephRgwFixture shares one cluster across the S3 test classes.
using Mta.CompatTests.Infrastructure;
using Mta.Queue.S3;

namespace Mta.CompatTests.S3;

/// <summary>A running private Ceph RGW.</summary>
public sealed class CephRgwPeer : IPeer
{
    public const string AccessKey = "MTATESTACCESSKEY0001";
    public const string SecretKey = "mta-test-secret-key-0000000000000000000001";
    private readonly string _base;
    private readonly Dictionary<string, string> _env;
    private readonly List<string> _scriptOutput = [];

    private CephRgwPeer(string baseDir, int rgwPort, int monV2, int monV1)
    {
        _base = baseDir;
        RgwPort = rgwPort;
        _env = new Dictionary<string, string>
        {
            ["BASE"] = baseDir, ["RGW_PORT"] = rgwPort.ToString(), ["MON_V2_PORT"] = monV2.ToString(), ["MON_V1_PORT"] = monV1.ToString(),
            ["ACCESS_KEY"] = AccessKey, ["SECRET_KEY"] = SecretKey, ["OBJECTSTORE"] = "memstore",
        };
    }

    /// <summary>The S3 port on 127.0.0.1.</summary>
    public int RgwPort { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Endpoint => $"http://127.0.0.1:{RgwPort}";

    /// <inheritdoc />
    public string Name => $"ceph-rgw ({Endpoint}, {_base})";

    private static string Script(string name) => Path.Combine(AppContext.BaseDirectory, "ceph", name);

    /// <summary>Starts a fresh cluster under <paramref name="baseDir"/> (wiped first) on new loopback ports.</summary>
    public static async Task<CephRgwPeer> StartAsync(string baseDir)
    {
        var peer = new CephRgwPeer(baseDir, PortAllocator.Next(), PortAllocator.Next(), PortAllocator.Next());
        await peer.RunScriptAsync("start-rgw.sh", [], TimeSpan.FromSeconds(120));
        return peer;
    }

    /// <summary>Stops radosgw only: the endpoint refuses connections, the data stays.</summary>
    public Task StopRgwAsync() => RunScriptAsync("stop-rgw.sh", ["--rgw-only"], TimeSpan.FromSeconds(30));

    /// <summary>Starts radosgw again after <see cref="StopRgwAsync"/>.</summary>
    public Task StartRgwAsync() => RunScriptAsync("start-rgw.sh", ["--rgw-only"], TimeSpan.FromSeconds(90));

    private async Task RunScriptAsync(string script, string[] args, TimeSpan timeout)
    {
        var result = await CommandRunner.RunAsync("/bin/bash", [Script(script), .. args], timeout, _env);
        lock (_scriptOutput) _scriptOutput.Add($"$ {script} {string.Join(' ', args)} -> exit {result.ExitCode} in {result.Elapsed.TotalSeconds:F1}s\n{result.Output}");
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"{script} {string.Join(' ', args)} failed (exit {result.ExitCode}):\n{result.Output}\n{DescribeLogs()}");
    }

    /// <summary>Queue options for <paramref name="bucket"/> on this cluster (the RGW 16.x quirks switched on).</summary>
    public S3QueueOptions Options(string bucket, string prefix = "mta/") => new()
    {
        QueueBackend = "s3", Endpoint = Endpoint, Bucket = bucket, Region = "us-east-1", Prefix = prefix,
        AccessKey = AccessKey, SecretKey = SecretKey, ForcePathStyle = true, UnquotedEtagIfMatch = true, ChecksumWhenRequired = true,
        RequestTimeout = TimeSpan.FromSeconds(10), NodeId = "test", LeaseTimeout = TimeSpan.FromSeconds(10), LeaseRenewInterval = TimeSpan.FromSeconds(3),
    };

    /// <summary>main.cf parameters that point an MTA at <paramref name="bucket"/>.</summary>
    public IEnumerable<(string Name, string Value)> MainCf(string bucket, string prefix = "mta/") =>
    [
        ("queue_backend", "s3"), ("queue_s3_endpoint", Endpoint), ("queue_s3_bucket", bucket), ("queue_s3_prefix", prefix),
        ("queue_s3_access_key", AccessKey), ("queue_s3_secret_key", SecretKey), ("queue_s3_force_path_style", "yes"),
        ("queue_s3_unquoted_etag_if_match", "yes"), ("queue_s3_checksum_when_required", "yes"),
    ];

    /// <summary>Creates a bucket (fresh name per test) and returns an object store on it.</summary>
    public async Task<AwsObjectStore> CreateBucketAsync(string bucket)
    {
        var store = new AwsObjectStore(Options(bucket));
        await store.EnsureBucketAsync(CancellationToken.None);
        return store;
    }

    /// <summary>A fresh bucket name (lower case, DNS-compatible).</summary>
    public static string NewBucketName(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 13)].ToLowerInvariant();

    /// <inheritdoc />
    public string DescribeLogs()
    {
        var parts = new List<string>();
        lock (_scriptOutput) parts.AddRange(_scriptOutput);
        var logDir = Path.Combine(_base, "log");
        if (Directory.Exists(logDir))
        {
            foreach (var f in Directory.GetFiles(logDir))
            {
                var lines = File.ReadAllLines(f);
                parts.Add($"-- {f} (last 40 of {lines.Length} lines)\n{string.Join('\n', lines.TakeLast(40))}");
            }
        }
        return string.Join('\n', parts);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await CommandRunner.RunAsync("/bin/bash", [Script("stop-rgw.sh")], TimeSpan.FromSeconds(60), _env);
    }
}

/// <summary>One Ceph cluster shared by the S3 test classes of the "ceph" collection (started once, ~5 s).</summary>
public sealed class CephRgwFixture : IAsyncLifetime
{
    private readonly RunDirectory _dir = new();
    private CephRgwPeer? _peer;

    /// <summary>The cluster.</summary>
    public CephRgwPeer Peer => _peer ?? throw new InvalidOperationException("the Ceph cluster did not start");

    public async Task InitializeAsync() => _peer = await CephRgwPeer.StartAsync(Path.Combine(_dir.Path, "ceph"));

    public async Task DisposeAsync()
    {
        if (_peer != null) await _peer.DisposeAsync();
        _dir.Dispose();
    }
}

[CollectionDefinition("ceph")]
public sealed class CephCollection : ICollectionFixture<CephRgwFixture>;
