// Maildir: owns reading what a peer delivered into a Maildir (Postfix virtual(8), Dovecot LMTP, our
// MTA's local delivery under data_directory/mail/<address>/): the files in new/ and cur/, never tmp/.
namespace Mta.CompatTests.Infrastructure;

/// <summary>Read-only view of a Maildir.</summary>
public static class Maildir
{
    /// <summary>Delivered messages (new/ and cur/) as Latin-1 strings, oldest first; empty when the Maildir does not exist.</summary>
    public static IReadOnlyList<string> Messages(string maildir)
    {
        var files = new List<FileInfo>();
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = new DirectoryInfo(Path.Combine(maildir, sub));
            if (dir.Exists)
            {
                files.AddRange(dir.GetFiles());
            }
        }
        return files.OrderBy(f => f.LastWriteTimeUtc).Select(f => Bytes.Latin1(File.ReadAllBytes(f.FullName))).ToArray();
    }

    /// <summary>Waits until the Maildir holds at least <paramref name="count"/> messages and returns them.</summary>
    public static async Task<IReadOnlyList<string>> WaitForAsync(string maildir, int count, TimeSpan timeout, string what)
    {
        await Wait.UntilAsync(() => Messages(maildir).Count >= count, timeout, $"{count} message(s) in {what} ({maildir})");
        return Messages(maildir);
    }
}
