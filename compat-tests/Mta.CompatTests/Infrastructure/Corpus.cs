// Corpus: owns access to the real messages copied from shared/corpus into compat-tests/corpus/ (and
// from there into the test output directory), and the one rule of what a message looks like after
// swaks sent it and a peer stored it: swaks drops a leading mbox "From " line and sends an extra
// empty line before the final dot; smtp-sink, Postfix and Dovecot store lines ending in LF.
// The rig test T04 proves that rule against the real swaks and smtp-sink, so the MTA tests can
// compare byte for byte against it. Bytes are handled as Latin-1 strings (one char per byte), so
// 8-bit content (GB2312, ISO-2022-JP) is compared exactly.
using System.Text;

namespace Mta.CompatTests.Infrastructure;

/// <summary>Corpus messages and their expected stored form.</summary>
public static class Corpus
{
    /// <summary>Absolute path of a corpus file in the test output directory.</summary>
    public static string PathOf(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "corpus", name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"corpus message {name} is not in {Path.GetDirectoryName(path)} (see compat-tests/corpus/)", path);
        }
        return path;
    }

    /// <summary>The raw file as a Latin-1 string.</summary>
    public static string Raw(string name) => Bytes.Latin1(File.ReadAllBytes(PathOf(name)));

    /// <summary>
    /// What a peer stores (LF line endings) after swaks sent the file with --data: without a leading
    /// "From " line, CRLF turned into LF, plus the empty line swaks adds before the dot.
    /// </summary>
    public static string AsStoredAfterSwaks(string name)
    {
        var text = Raw(name).Replace("\r\n", "\n");
        if (text.StartsWith("From ", StringComparison.Ordinal))
        {
            text = text[(text.IndexOf('\n') + 1)..];
        }
        if (!text.EndsWith('\n'))
        {
            text += "\n";
        }
        return text + "\n";
    }

    /// <summary>
    /// What a peer stores (LF line endings) after smtp-source sent the file with -F: the file as is
    /// (smtp-source does not drop a "From " line, so only use files without one), plus the empty
    /// line smtp-source sends before the dot.
    /// </summary>
    public static string AsStoredAfterSmtpSource(string name)
    {
        var text = Raw(name).Replace("\r\n", "\n");
        if (text.StartsWith("From ", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} starts with an mbox From line, which smtp-source would send as a header line", nameof(name));
        }
        return (text.EndsWith('\n') ? text : text + "\n") + "\n";
    }

    /// <summary>Removes every header line that starts with <paramref name="fieldName"/> (and a colon) from the header section.</summary>
    public static string WithoutHeader(string stored, string fieldName)
    {
        var headerEnd = stored.IndexOf("\n\n", StringComparison.Ordinal);
        var header = stored[..(headerEnd + 1)];
        var kept = header.Split('\n').Where(l => !l.StartsWith(fieldName + ":", StringComparison.OrdinalIgnoreCase));
        return string.Join('\n', kept) + stored[(headerEnd + 1)..];
    }

    /// <summary>The first Subject: header line of the corpus file, exactly as written ("Subject:  Re: x").</summary>
    public static string SubjectLine(string name)
    {
        foreach (var line in AsStoredAfterSwaks(name).Split('\n'))
        {
            if (line.Length == 0)
            {
                break;
            }
            if (line.StartsWith("Subject:", StringComparison.OrdinalIgnoreCase))
            {
                return line;
            }
        }
        throw new InvalidDataException($"{name} has no Subject header");
    }
}

/// <summary>Byte/Latin-1 conversions and header surgery on stored messages (LF line endings).</summary>
public static class Bytes
{
    /// <summary>One char per byte.</summary>
    public static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>
    /// Splits off the first header field (with its continuation lines) of <paramref name="message"/>.
    /// Returns (field, rest); field is empty when the message does not start with a header field.
    /// </summary>
    public static (string Field, string Remainder) SplitFirstField(string message)
    {
        var end = 0;
        while (true)
        {
            var nl = message.IndexOf('\n', end);
            if (nl < 0)
            {
                return (message, "");
            }
            end = nl + 1;
            if (end >= message.Length || (message[end] != ' ' && message[end] != '\t'))
            {
                return (message[..end], message[end..]);
            }
        }
    }

    /// <summary>The header section (up to the first empty line) of a stored message.</summary>
    public static string HeaderSection(string message)
    {
        var i = message.IndexOf("\n\n", StringComparison.Ordinal);
        return i < 0 ? message : message[..(i + 1)];
    }
}
