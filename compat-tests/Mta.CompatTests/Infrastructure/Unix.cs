// Unix: owns the few POSIX operations .NET has no API for (signals, chown) and the file modes the
// peers need. Signals go through libc kill(2); chown runs /bin/chown because the peers drop
// privileges to system users (postfix, nobody) that must own their writable directories.
using System.Runtime.InteropServices;

namespace Mta.CompatTests.Infrastructure;

/// <summary>POSIX helpers: signals, ownership, modes.</summary>
public static class Unix
{
    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM.</summary>
    public const int SigTerm = 15;

    /// <summary>rwxr-xr-x.</summary>
    public const UnixFileMode Mode755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);

    /// <summary>Sends a signal; returns false when the process does not exist (any more).</summary>
    public static bool Signal(int pid, int signal) => SysKill(pid, signal) == 0;

    /// <summary>True when a process with this id exists and is not a zombie waiting to be reaped.</summary>
    public static bool IsAlive(int pid)
    {
        if (SysKill(pid, 0) != 0)
        {
            return false;
        }
        try
        {
            // /proc/PID/stat: "pid (comm) S ..."; state Z = exited, not yet reaped by its parent.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            return state != "Z" && state != "X";
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>chown -R user[:group] path; throws with chown's message on failure.</summary>
    public static void Chown(string path, string owner)
    {
        var result = CommandRunner.RunAsync("/bin/chown", ["-R", owner, path], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"chown -R {owner} {path} failed: {result.Output}");
        }
    }
}
