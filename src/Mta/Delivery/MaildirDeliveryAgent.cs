// MaildirDeliveryAgent: local delivery (TransportKind.Local) into maildir_base/<address lower-cased>/
// using the Maildir protocol (cr.yp.to/proto/maildir.html: write into tmp/ under a unique name, then
// rename into new/), with fsync of the file and of new/ so a 250 is durable (design.md). Prepends
// Return-Path: (RFC 5321 4.4, final delivery) and Delivered-To: (Postfix local(8)/virtual(8)).
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Smtp.Protocol;

namespace Mta.Delivery;

/// <summary>
/// Delivers each recipient into its own Maildir. Outcomes: <c>250 2.0.0 delivered to maildir</c> (relay=local);
/// <c>550 5.1.3</c> Bounced for an address unsafe as a path component (empty, '/', '\', NUL, control characters,
/// "." or "..", or containing ".."); <c>451 4.3.0</c> Deferred for I/O errors; <c>451 4.4.2</c> after the deadline.
/// </summary>
public sealed class MaildirDeliveryAgent : IDeliveryAgent
{
    private static long s_sequence;
    private readonly string _base;
    private readonly string _hostName;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>Creates the agent.</summary>
    /// <param name="options">maildir_base (must be set).</param>
    /// <param name="identity">myhostname, used in unique file names.</param>
    /// <param name="logger">I/O error details.</param>
    /// <param name="timeProvider">clock for file names (tests).</param>
    public MaildirDeliveryAgent(DeliveryOptions options, IdentityOptions identity, ILogger<MaildirDeliveryAgent>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(identity);
        if (string.IsNullOrWhiteSpace(options.MaildirBase)) throw new ArgumentException("maildir_base is empty", nameof(options));
        _base = Path.GetFullPath(options.MaildirBase);
        var host = string.IsNullOrWhiteSpace(identity.MyHostname) ? Environment.MachineName : identity.MyHostname;
        _hostName = host.Replace("/", "\\057").Replace(":", "\\072");
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The directory of a recipient's Maildir, or null when the address is unsafe as a path component.</summary>
    public string? MaildirOf(EnvelopeRecipient recipient)
    {
        var name = recipient.Address.Address.ToLowerInvariant();
        if (name.Length == 0 || name is "." or ".." || name.Contains("..") || name.AsSpan().IndexOfAny('/', '\\', '\0') >= 0 || name.Any(char.IsControl))
            return null;
        return Path.Combine(_base, name);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        // File writes and fsync block: leave a socket's I/O thread (completions run inline there, Program.cs).
        await Task.Yield();
        var outcomes = new List<RecipientOutcome>(request.Recipients.Count);
        foreach (var r in request.Recipients)
        {
            var started = _time.GetTimestamp();
            SmtpReply reply;
            if (cancellationToken.IsCancellationRequested)
                reply = new SmtpReply(451, "4.4.2", "local delivery interrupted by the pre-queue delivery deadline");
            else if (MaildirOf(r) is not { } dir)
                reply = new SmtpReply(550, "5.1.3", $"unsafe mailbox name for local delivery: {Printable(r.Address.Address)}");
            else
            {
                try
                {
                    await DeliverOneAsync(dir, request, r, cancellationToken).ConfigureAwait(false);
                    reply = new SmtpReply(250, "2.0.0", "delivered to maildir");
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    reply = new SmtpReply(451, "4.4.2", "local delivery interrupted by the pre-queue delivery deadline");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _logger.LogWarning(e, "{QueueId}: maildir delivery to {Dir} failed", request.Envelope.QueueId, dir);
                    reply = new SmtpReply(451, "4.3.0", "maildir delivery failed: " + e.Message.Replace('\r', ' ').Replace('\n', ' '));
                }
            }
            var status = reply.IsPositive ? DeliveryStatus.Sent : reply.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred;
            outcomes.Add(new RecipientOutcome(r, status, reply, "local") { Transmission = _time.GetElapsedTime(started) });
        }
        return outcomes;
    }

    private async Task DeliverOneAsync(string dir, DeliveryRequest request, EnvelopeRecipient r, CancellationToken ct)
    {
        string tmp = Path.Combine(dir, "tmp"), @new = Path.Combine(dir, "new");
        // Private like Postfix virtual(8) and Dovecot: 0700 directories, 0600 files.
        CreatePrivateDirectory(dir);
        CreatePrivateDirectory(tmp);
        CreatePrivateDirectory(@new);
        CreatePrivateDirectory(Path.Combine(dir, "cur"));
        var now = _time.GetUtcNow();
        long usec = now.Ticks % TimeSpan.TicksPerSecond / 10;
        string name = $"{now.ToUnixTimeSeconds()}.M{usec}P{Environment.ProcessId}_{Interlocked.Increment(ref s_sequence)}.{_hostName}";
        string tmpPath = Path.Combine(tmp, name), newPath = Path.Combine(@new, name);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 65536, Options = FileOptions.Asynchronous };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(tmpPath, options))
            {
                // Maildir files use LF line ends, as Postfix virtual(8) and Dovecot write them.
                var header = $"Return-Path: <{request.Envelope.Sender.Address}>\nDelivered-To: {r.Address.Address}\n";
                await file.WriteAsync(Encoding.UTF8.GetBytes(header), ct).ConfigureAwait(false);
                await using (var content = request.Content.OpenRead())
                    await CopyWithLfLineEndsAsync(content, file, ct).ConfigureAwait(false);
                await file.FlushAsync(ct).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            File.Move(tmpPath, newPath);
        }
        catch
        {
            try { File.Delete(tmpPath); } catch (IOException) { }
            throw;
        }
        FsyncDirectory(@new);
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Copies <paramref name="source"/> turning every CRLF into LF (a CR not followed by LF is kept).</summary>
    internal static async Task CopyWithLfLineEndsAsync(Stream source, Stream destination, CancellationToken ct)
    {
        var input = new byte[65536];
        var output = new byte[65536 + 1];
        bool pendingCr = false;
        int n;
        while ((n = await source.ReadAsync(input, ct).ConfigureAwait(false)) > 0)
        {
            int o = 0;
            for (int i = 0; i < n; i++)
            {
                byte b = input[i];
                if (pendingCr)
                {
                    pendingCr = false;
                    if (b != '\n') output[o++] = (byte)'\r';
                }
                if (b == '\r') { pendingCr = true; continue; }
                output[o++] = b;
            }
            await destination.WriteAsync(output.AsMemory(0, o), ct).ConfigureAwait(false);
        }
        if (pendingCr) await destination.WriteAsync(new byte[] { (byte)'\r' }, ct).ConfigureAwait(false);
    }

    /// <summary>fsync(2) of a directory so the rename is durable; Unix only (a no-op elsewhere).</summary>
    internal static void FsyncDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = open(path, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"cannot open directory {path} for fsync (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (fsync(fd) != 0) throw new IOException($"fsync of directory {path} failed (errno {Marshal.GetLastPInvokeError()})");
        }
        finally { close(fd); }
    }

    private static string Printable(string s) => new(s.Select(c => char.IsControl(c) ? '?' : c).ToArray());

#pragma warning disable SYSLIB1054 // LibraryImport needs AllowUnsafeBlocks, which this project does not set.
    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi)]
    private static extern int open(string path, int flags);
    [DllImport("libc", SetLastError = true)]
    private static extern int fsync(int fd);
    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
#pragma warning restore SYSLIB1054
}
