// RunDirectory: owns the per-test temporary directory under /tmp in which every peer keeps its
// private configuration, queue, logs and mailboxes. Paths are kept short because Postfix and Dovecot
// put UNIX-domain sockets under it (sun_path is limited to 108 bytes). The directory is world-
// traversable (0755) because Postfix daemons (user postfix) and smtp-sink (user nobody) must reach
// their subdirectories. It is removed when the test passes and kept for inspection when it fails.
namespace Mta.CompatTests.Infrastructure;

/// <summary>A private temporary directory for one test.</summary>
public sealed class RunDirectory : IDisposable
{
    /// <summary>Creates /tmp/mtac-XXXXXXXX (mode 0755).</summary>
    public RunDirectory()
    {
        var root = Environment.GetEnvironmentVariable("MTA_COMPAT_TMP") ?? "/tmp";
        Path = System.IO.Path.Combine(root, "mtac-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
        File.SetUnixFileMode(Path, Unix.Mode755);
    }

    /// <summary>Absolute path of the directory.</summary>
    public string Path { get; }

    /// <summary>When true, Dispose leaves the directory in place (set when the test failed).</summary>
    public bool Keep { get; set; }

    /// <summary>Creates (mode 0755) and returns a subdirectory.</summary>
    public string Sub(params string[] parts)
    {
        var dir = System.IO.Path.Combine([Path, .. parts]);
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(dir, Unix.Mode755);
        return dir;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Keep)
        {
            return;
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A daemon that is still exiting may recreate a file; the directory is in /tmp anyway.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
