// S3QueueComposition: wires queue_backend into `mta serve` and `mta queue`: for s3 the bucket client,
// the store, the node's lease manager, the fenced runner view, and the hosted service that heartbeats
// leases, sweeps orphans and runs the queue runner; for local the directory store as before.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Mta.Configuration;

namespace Mta.Queue.S3;

/// <summary>Registration of the queue backend chosen by queue_backend.</summary>
public static class S3QueueComposition
{
    /// <summary>DI key of the <see cref="IQueueStore"/> the queue runner uses (the fenced view for s3, the store for local).</summary>
    public const string RunnerStoreKey = "queue-runner";

    /// <summary>
    /// Registers <see cref="IQueueStore"/> (sessions, bounces, admin), the keyed runner store
    /// (<see cref="RunnerStoreKey"/>) and, for s3, <see cref="S3QueueStore"/>, <see cref="S3LeaseManager"/> and
    /// <see cref="AwsObjectStore"/>. Local registers <see cref="LocalQueueStore"/>.
    /// </summary>
    /// <exception cref="FormatException">invalid queue_backend or queue_s3_* settings.</exception>
    public static void AddQueueBackend(IServiceCollection s, S3QueueOptions backend, QueueOptions queue)
    {
        backend.Validate();
        if (!backend.IsS3)
        {
            s.AddSingleton(sp => new LocalQueueStore(queue, sp.GetRequiredService<ILogger<LocalQueueStore>>(), null, sp.GetRequiredService<TimeProvider>()));
            s.AddSingleton<IQueueStore>(sp => sp.GetRequiredService<LocalQueueStore>());
            s.AddKeyedSingleton<IQueueStore>(RunnerStoreKey, (sp, _) => sp.GetRequiredService<LocalQueueStore>());
            return;
        }
        s.AddSingleton(_ => new AwsObjectStore(backend));
        s.AddSingleton(sp => new S3LeaseManager(sp.GetRequiredService<AwsObjectStore>(), backend.Prefix, backend.NodeId, backend.LeaseTimeout, backend.LeaseRenewInterval,
            () => sp.GetRequiredService<S3QueueStore>().LastListOwners, sp.GetRequiredService<ILogger<S3LeaseManager>>(), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton(sp => new S3QueueStore(sp.GetRequiredService<AwsObjectStore>(), backend.Prefix, sp.GetRequiredService<S3LeaseManager>(),
            sp.GetRequiredService<ILogger<S3QueueStore>>(), sp.GetRequiredService<TimeProvider>()));
        s.AddSingleton<IQueueStore>(sp => sp.GetRequiredService<S3QueueStore>());
        s.AddKeyedSingleton<IQueueStore>(RunnerStoreKey, (sp, _) => new S3RunnerQueueView(sp.GetRequiredService<S3QueueStore>(), sp.GetRequiredService<S3LeaseManager>()));
    }

    /// <summary>The hosted service that runs the S3 queue (leases, sweep, runner on the fenced view).</summary>
    public static S3QueueService CreateS3Service(IServiceProvider sp, S3QueueOptions backend, QueueRunner runner) =>
        new S3QueueService(runner, sp.GetRequiredService<S3QueueStore>(), sp.GetRequiredService<S3LeaseManager>(), backend,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<S3QueueService>>());

    /// <summary>The store `mta queue` works on: the queue directory, or the bucket (without leases: it delivers nothing).</summary>
    /// <exception cref="FormatException">invalid queue_backend or queue_s3_* settings.</exception>
    public static IQueueStore OpenAdminStore(MtaConfiguration config)
    {
        var backend = config.Get<S3QueueOptions>();
        backend.Validate();
        return backend.IsS3
            ? new S3QueueStore(new AwsObjectStore(backend), backend.Prefix, null)
            : new LocalQueueStore(config.Get<QueueOptions>());
    }

    /// <summary>A description of the queue location for the start-up log line.</summary>
    public static string Describe(S3QueueOptions backend, QueueOptions queue) => backend.IsS3
        ? $"s3 {(backend.Endpoint.Length > 0 ? backend.Endpoint : backend.Region)}/{backend.Bucket}/{backend.Prefix} node {backend.NodeId}"
        : Path.GetFullPath(queue.QueueDirectory);
}

/// <summary>
/// The S3 queue's background work: the lease heartbeat every queue_lease_renew_interval (waking the runner when a
/// lease is acquired or taken over), an hourly sweep of orphaned content, and the queue runner on the fenced view.
/// The host starts even when S3 is unreachable (pre-queue delivery goes on); on a graceful stop the runner
/// finishes first, then the leases are released so another node takes over at once.
/// </summary>
public sealed class S3QueueService(QueueRunner runner, S3QueueStore store, S3LeaseManager leases, S3QueueOptions options, TimeProvider time, ILogger<S3QueueService> log) : BackgroundService
{
    private static readonly TimeSpan SweepEvery = TimeSpan.FromHours(1);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        leases.Acquired += _ => runner.Wake();
        var heartbeat = Task.Run(() => HeartbeatAsync(stoppingToken), CancellationToken.None);
        try { await runner.RunAsync(stoppingToken).ConfigureAwait(false); }
        finally { await heartbeat.ConfigureAwait(false); }
    }

    /// <inheritdoc/>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        using var cts = new CancellationTokenSource(options.RequestTimeout > TimeSpan.Zero ? options.RequestTimeout : TimeSpan.FromSeconds(10));
        try { await leases.ReleaseAllAsync(cts.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { log.LogWarning("queue: leases not released in time; other nodes take over after queue_lease_timeout"); }
    }

    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        long lastSweep = 0;
        int ticks = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await leases.TickAsync(stoppingToken).ConfigureAwait(false);
                // Refresh which leases own mail (for releasing and taking over released leases); the runner's scans do too.
                if (ticks++ % 5 == 0 && leases.TryGetHeld(leases.NodeId, out _))
                    await foreach (var _ in store.ListVersionsAsync(stoppingToken).ConfigureAwait(false)) { }
                if ((lastSweep == 0 || time.GetElapsedTime(lastSweep) >= SweepEvery) && leases.TryGetHeld(leases.NodeId, out _))
                {
                    lastSweep = time.GetTimestamp();
                    int n = await store.SweepOrphansAsync(SweepEvery, stoppingToken).ConfigureAwait(false);
                    if (n > 0) log.LogInformation("queue: removed {Count} orphaned content object(s)", n);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception e) when (e is IOException or InvalidOperationException)
            {
                log.LogWarning("queue: S3 maintenance failed: {Error}", e.Message);
            }
            try { await Task.Delay(options.LeaseRenewInterval, time, stoppingToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }
}
