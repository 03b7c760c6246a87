// LocalQueueStore: owns the durable queue in a local directory (queue_directory): layout, the order
// of writes that makes Enqueue crash-safe, quarantine of corrupt envelope records, and start-up
// recovery. Content and envelope kept apart as in OpenSMTPD's queue_fs; durable writes through
// SafeFile (temp, fsync, rename, fsync dir). Postfix vocabulary: queue_directory, queue ID, hold
// (postconf(5), qmgr(8), postsuper(1)).
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Smtp.Content;

namespace Mta.Queue;

/// <summary>A queue operation named a queue ID that the queue does not hold.</summary>
public sealed class QueueEntryNotFoundException(string queueId)
    : FileNotFoundException($"queue ID {queueId} is not in the queue")
{
    /// <summary>The queue ID.</summary>
    public string QueueId { get; } = queueId;
}

/// <summary>
/// Optional capability of a queue store: open the stored content as <see cref="MessageContent"/>
/// without copying it. The caller disposes <see cref="MessageContent.Body"/>.
/// </summary>
public interface IQueueContentSource
{
    /// <summary>Opens the content of <paramref name="queueId"/> (empty prefix, body = the stored bytes).</summary>
    /// <exception cref="QueueEntryNotFoundException">no such content.</exception>
    Task<MessageContent> OpenMessageContentAsync(string queueId, CancellationToken cancellationToken);
}

/// <summary>What <see cref="LocalQueueStore.RecoverAsync"/> found and cleaned up.</summary>
/// <param name="TemporaryFilesRemoved">temporary files of interrupted writes that were removed.</param>
/// <param name="OrphanedContentRemoved">content files without envelope (crash before the commit point) that were removed.</param>
/// <param name="EnvelopesWithoutContent">envelope records whose content is missing, moved to <c>corrupt/</c>.</param>
/// <param name="Messages">committed messages in the queue after recovery.</param>
public sealed record QueueRecoveryReport(int TemporaryFilesRemoved, int OrphanedContentRemoved, int EnvelopesWithoutContent, int Messages);

/// <summary>
/// The local-directory <see cref="IQueueStore"/>. Layout under <see cref="QueueOptions.QueueDirectory"/>:
/// <list type="bullet">
/// <item><c>content/&lt;ID&gt;</c>: the message bytes as delivered (prefix + body), written once.</item>
/// <item><c>envelope/&lt;ID&gt;.json</c>: the envelope record (<see cref="QueueRecordSerializer"/>), rewritten atomically;
/// its presence is the commit point of a message. Hold state lives here.</item>
/// <item><c>corrupt/</c>: envelope records (and their content) that could not be read, moved aside for the admin.</item>
/// <item><c>.tmp.*</c> files in <c>content/</c> and <c>envelope/</c>: interrupted writes; removed by <see cref="RecoverAsync"/>.</item>
/// </list>
/// Enqueue writes content first, then the envelope; Delete removes the envelope first, then the
/// content. So a crash leaves at worst content without envelope, which <see cref="RecoverAsync"/> removes.
/// Thread-safe within one process; one process per queue directory. Queue IDs must satisfy
/// <see cref="QueueIdGenerator.IsValid"/> (else <see cref="ArgumentException"/>).
/// </summary>
public sealed class LocalQueueStore : IQueueStore, IQueueContentSource
{
    private const string EnvelopeSuffix = ".json";
    private readonly IQueueFileSystem _fs;
    private readonly SafeFile _safe;
    private readonly DirectorySync _directorySync;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim[] _locks = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];
    private readonly ConcurrentDictionary<string, byte> _enqueueing = new(StringComparer.Ordinal);

    /// <param name="options">uses <see cref="QueueOptions.QueueDirectory"/>; the directory and its subdirectories are created when missing.</param>
    /// <param name="logger">receives recovery and quarantine messages; null for none.</param>
    /// <param name="fileSystem">the file-system seam; null for <see cref="PhysicalQueueFileSystem.Instance"/>.</param>
    /// <param name="time">clock used to name quarantined files; null for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">queue_directory is empty.</exception>
    /// <exception cref="IOException">a directory cannot be created.</exception>
    public LocalQueueStore(QueueOptions options, ILogger<LocalQueueStore>? logger = null, IQueueFileSystem? fileSystem = null, TimeProvider? time = null)
    {
        if (string.IsNullOrWhiteSpace(options.QueueDirectory)) throw new ArgumentException("queue_directory is empty", nameof(options));
        Root = Path.GetFullPath(options.QueueDirectory);
        _fs = fileSystem ?? PhysicalQueueFileSystem.Instance;
        _directorySync = new DirectorySync(_fs);
        _safe = new SafeFile(_fs, _directorySync);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        ContentDirectory = Path.Combine(Root, "content");
        EnvelopeDirectory = Path.Combine(Root, "envelope");
        CorruptDirectory = Path.Combine(Root, "corrupt");
        _fs.CreateDirectory(ContentDirectory);
        _fs.CreateDirectory(EnvelopeDirectory);
        _fs.CreateDirectory(CorruptDirectory);
    }

    /// <summary>The queue directory (absolute).</summary>
    public string Root { get; }
    /// <summary><c>content/</c> under <see cref="Root"/>.</summary>
    public string ContentDirectory { get; }
    /// <summary><c>envelope/</c> under <see cref="Root"/>.</summary>
    public string EnvelopeDirectory { get; }
    /// <summary><c>corrupt/</c> under <see cref="Root"/>.</summary>
    public string CorruptDirectory { get; }

    /// <summary>Path of the content file of <paramref name="queueId"/>.</summary>
    public string ContentPath(string queueId) => Path.Combine(ContentDirectory, CheckId(queueId));
    /// <summary>Path of the envelope record of <paramref name="queueId"/>.</summary>
    public string EnvelopePath(string queueId) => Path.Combine(EnvelopeDirectory, CheckId(queueId) + EnvelopeSuffix);

    /// <inheritdoc/>
    /// <exception cref="IOException">the ID is already queued, or a write failed (then nothing was committed).</exception>
    public async Task EnqueueAsync(QueuedMessage message, MessageContent content, CancellationToken cancellationToken)
    {
        string id = CheckId(message.QueueId);
        if (!_enqueueing.TryAdd(id, 0)) throw new IOException($"queue ID {id} is being enqueued already");
        try
        {
            var gate = LockFor(id);
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_fs.FileExists(EnvelopePath(id))) throw new IOException($"queue ID {id} is already queued");
                byte[] record = QueueRecordSerializer.Serialize(message);
                await _safe.WriteAsync(ContentPath(id), async (s, ct) =>
                {
                    using var src = content.OpenRead();
                    await src.CopyToAsync(s, ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                try
                {
                    await _safe.WriteAsync(EnvelopePath(id), record, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // Not committed: the caller answers 4xx. Remove the content now; RecoverAsync would otherwise.
                    try { _fs.Delete(ContentPath(id)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                    throw;
                }
            }
            finally { gate.Release(); }
        }
        finally { _enqueueing.TryRemove(id, out _); }
    }

    /// <inheritdoc/>
    /// <exception cref="QueueEntryNotFoundException">the message is no longer queued (it is not re-created).</exception>
    public async Task UpdateAsync(QueuedMessage message, CancellationToken cancellationToken)
    {
        string id = CheckId(message.QueueId);
        var gate = LockFor(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_fs.FileExists(EnvelopePath(id))) throw new QueueEntryNotFoundException(id);
            await _safe.WriteAsync(EnvelopePath(id), QueueRecordSerializer.Serialize(message), cancellationToken).ConfigureAwait(false);
        }
        finally { gate.Release(); }
    }

    /// <inheritdoc/>
    /// <remarks>Idempotent: deleting an absent message is not an error. The envelope goes first (durably), then the content.</remarks>
    public async Task DeleteAsync(string queueId, CancellationToken cancellationToken)
    {
        string id = CheckId(queueId);
        var gate = LockFor(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_fs.FileExists(EnvelopePath(id)))
            {
                _fs.Delete(EnvelopePath(id));
                await _directorySync.SyncAsync(EnvelopeDirectory).ConfigureAwait(false);
            }
            // No directory fsync needed: if this unlink is lost, RecoverAsync removes the orphan.
            _fs.Delete(ContentPath(id));
        }
        finally { gate.Release(); }
    }

    /// <inheritdoc/>
    /// <remarks>A corrupt record is moved to <c>corrupt/</c>, logged, and reported as absent (null).</remarks>
    /// <exception cref="QueueRecordVersionException">written by a newer build; left in place.</exception>
    public Task<QueuedMessage?> LoadAsync(string queueId, CancellationToken cancellationToken)
    {
        string id = CheckId(queueId);
        return LoadCoreAsync(id, cancellationToken);
    }

    private async Task<QueuedMessage?> LoadCoreAsync(string id, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            using var s = _fs.OpenRead(EnvelopePath(id));
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
            bytes = ms.ToArray();
        }
        catch (FileNotFoundException) { return null; }
        catch (DirectoryNotFoundException) { return null; }
        try
        {
            var m = QueueRecordSerializer.Deserialize(bytes);
            if (!string.Equals(m.QueueId, id, StringComparison.Ordinal))
                throw new QueueRecordCorruptException($"record holds queue ID {m.QueueId}, file is named {id}");
            return m;
        }
        catch (QueueRecordCorruptException e)
        {
            await QuarantineAsync(id, e.Message, cancellationToken).ConfigureAwait(false);
            return null;
        }
    }

    /// <inheritdoc/>
    /// <remarks>In queue ID order (generation time for our IDs). Corrupt records are quarantined and skipped;
    /// records of a newer schema version are logged and skipped; records removed meanwhile are skipped.</remarks>
    public async IAsyncEnumerable<QueuedMessage> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        foreach (var path in _fs.EnumerateFiles(EnvelopeDirectory))
        {
            string name = Path.GetFileName(path);
            if (SafeFile.IsTemporaryName(name) || !name.EndsWith(EnvelopeSuffix, StringComparison.Ordinal)) continue;
            string id = name[..^EnvelopeSuffix.Length];
            if (QueueIdGenerator.IsValid(id)) ids.Add(id);
            else _logger.LogWarning("queue: ignoring file with invalid queue ID name: {Path}", path);
        }
        ids.Sort(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            cancellationToken.ThrowIfCancellationRequested();
            QueuedMessage? m;
            try { m = await LoadCoreAsync(id, cancellationToken).ConfigureAwait(false); }
            catch (QueueRecordVersionException e)
            {
                _logger.LogWarning("{QueueId}: skipped: {Reason}", id, e.Message);
                continue;
            }
            if (m != null) yield return m;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="QueueEntryNotFoundException">no content for this ID.</exception>
    public Task<Stream> OpenContentAsync(string queueId, CancellationToken cancellationToken)
    {
        string path = ContentPath(queueId);
        try { return Task.FromResult(_fs.OpenRead(path)); }
        catch (FileNotFoundException) { throw new QueueEntryNotFoundException(queueId); }
    }

    /// <inheritdoc/>
    public Task<MessageContent> OpenMessageContentAsync(string queueId, CancellationToken cancellationToken)
    {
        string path = ContentPath(queueId);
        if (!_fs.FileExists(path)) throw new QueueEntryNotFoundException(queueId);
        try { return Task.FromResult(new MessageContent(ReadOnlyMemory<byte>.Empty, MessageSpool.OpenExisting(path))); }
        catch (FileNotFoundException) { throw new QueueEntryNotFoundException(queueId); }
    }

    /// <summary>
    /// Start-up recovery; call before the listeners accept mail and before the runner starts.
    /// Removes temporary files of interrupted writes and content files that have no envelope
    /// (a crash before the commit point: that message was never answered 250), and moves envelope
    /// records without content to <c>corrupt/</c> (logged as errors: that should never happen).
    /// Messages being enqueued by this process at the time are left alone.
    /// </summary>
    /// <exception cref="IOException">a directory cannot be read or a file cannot be removed.</exception>
    public async Task<QueueRecoveryReport> RecoverAsync(CancellationToken cancellationToken)
    {
        int temps = 0, orphans = 0, noContent = 0, messages = 0;
        var envelopeIds = new HashSet<string>(StringComparer.Ordinal);
        var contentIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var dir in new[] { ContentDirectory, EnvelopeDirectory })
        {
            foreach (var path in _fs.EnumerateFiles(dir).ToList())
            {
                string name = Path.GetFileName(path);
                if (SafeFile.IsTemporaryName(name))
                {
                    string owner = name[5..].Split('.')[0];
                    if (_enqueueing.ContainsKey(owner)) continue;
                    _fs.Delete(path);
                    temps++;
                    _logger.LogInformation("queue: removed temporary file of an interrupted write: {Path}", path);
                }
                else if (dir == EnvelopeDirectory && name.EndsWith(EnvelopeSuffix, StringComparison.Ordinal))
                    envelopeIds.Add(name[..^EnvelopeSuffix.Length]);
                else if (dir == ContentDirectory)
                    contentIds.Add(name);
            }
        }
        foreach (var id in contentIds)
        {
            if (envelopeIds.Contains(id) || _enqueueing.ContainsKey(id)) continue;
            _fs.Delete(Path.Combine(ContentDirectory, id));
            orphans++;
            _logger.LogWarning("{QueueId}: removed content without envelope (interrupted before commit)", id);
        }
        foreach (var id in envelopeIds)
        {
            if (contentIds.Contains(id)) { messages++; continue; }
            if (!QueueIdGenerator.IsValid(id)) continue;
            noContent++;
            await QuarantineAsync(id, "envelope record without content", cancellationToken).ConfigureAwait(false);
        }
        return new QueueRecoveryReport(temps, orphans, noContent, messages);
    }

    private async Task QuarantineAsync(string id, string reason, CancellationToken cancellationToken)
    {
        var gate = LockFor(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            string stamp = _time.GetUtcNow().ToString("yyyyMMddHHmmssfff", System.Globalization.CultureInfo.InvariantCulture);
            string envTarget = Path.Combine(CorruptDirectory, $"{id}.{stamp}{EnvelopeSuffix}");
            if (_fs.FileExists(EnvelopePath(id))) _fs.Rename(EnvelopePath(id), envTarget);
            if (_fs.FileExists(ContentPath(id))) _fs.Rename(ContentPath(id), Path.Combine(CorruptDirectory, $"{id}.{stamp}.content"));
            _fs.FsyncDirectory(CorruptDirectory);
            _fs.FsyncDirectory(EnvelopeDirectory);
            _logger.LogError("{QueueId}: envelope record unusable ({Reason}); moved to {Path}", id, reason, envTarget);
        }
        finally { gate.Release(); }
    }

    private SemaphoreSlim LockFor(string id) => _locks[(int)((uint)StringComparer.Ordinal.GetHashCode(id) % (uint)_locks.Length)];

    private static string CheckId(string queueId) =>
        QueueIdGenerator.IsValid(queueId) ? queueId : throw new ArgumentException($"invalid queue ID '{queueId}'", nameof(queueId));
}
