// SmtpCapabilities: the service extensions a server announced in its EHLO/LHLO reply.
// RFC 5321 4.1.1.1 (EHLO reply: greeting line, then one keyword with parameters per line),
// RFC 2920 (PIPELINING), RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 6531 (SMTPUTF8), RFC 3207 (STARTTLS),
// RFC 3030 (CHUNKING, BINARYMIME), RFC 3461 (DSN), RFC 2034 (ENHANCEDSTATUSCODES), Postfix XFORWARD_README.
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Client;

/// <summary>The EHLO keywords the client acts on.</summary>
[Flags]
public enum SmtpExtensions
{
    /// <summary>Nothing announced (HELO, or an EHLO reply without keywords).</summary>
    None = 0,
    /// <summary>PIPELINING (RFC 2920).</summary>
    Pipelining = 1 << 0,
    /// <summary>SIZE (RFC 1870).</summary>
    Size = 1 << 1,
    /// <summary>8BITMIME (RFC 6152).</summary>
    EightBitMime = 1 << 2,
    /// <summary>SMTPUTF8 (RFC 6531).</summary>
    SmtpUtf8 = 1 << 3,
    /// <summary>STARTTLS (RFC 3207).</summary>
    StartTls = 1 << 4,
    /// <summary>CHUNKING (RFC 3030).</summary>
    Chunking = 1 << 5,
    /// <summary>DSN (RFC 3461).</summary>
    Dsn = 1 << 6,
    /// <summary>ENHANCEDSTATUSCODES (RFC 2034).</summary>
    EnhancedStatusCodes = 1 << 7,
    /// <summary>XFORWARD (Postfix XFORWARD_README).</summary>
    Xforward = 1 << 8,
    /// <summary>BINARYMIME (RFC 3030).</summary>
    BinaryMime = 1 << 9,
}

/// <summary>
/// What a server announced. Built by <see cref="Parse"/> from a positive EHLO/LHLO reply; keywords are
/// case-insensitive; unknown keywords are kept in <see cref="Keywords"/>.
/// </summary>
public sealed class SmtpCapabilities
{
    private SmtpCapabilities(SmtpExtensions extensions, long? sizeLimit, IReadOnlySet<string> xforward,
        IReadOnlyDictionary<string, string> keywords, string serverName)
    {
        Extensions = extensions;
        SizeLimit = sizeLimit;
        XforwardAttributes = xforward;
        Keywords = keywords;
        ServerName = serverName;
    }

    /// <summary>No extensions (after HELO, or before EHLO).</summary>
    public static SmtpCapabilities None { get; } = new(SmtpExtensions.None, null, new HashSet<string>(), new Dictionary<string, string>(), "");

    /// <summary>The recognised extensions.</summary>
    public SmtpExtensions Extensions { get; }

    /// <summary>SIZE parameter in bytes: null when SIZE was not announced, 0 when announced without a fixed limit (RFC 1870 4).</summary>
    public long? SizeLimit { get; }

    /// <summary>XFORWARD attribute names, upper-case (e.g. NAME, ADDR, PROTO, HELO, SOURCE, PORT, IDENT).</summary>
    public IReadOnlySet<string> XforwardAttributes { get; }

    /// <summary>Every keyword (upper-case) with its parameter text ("" when none), e.g. AUTH → "PLAIN LOGIN".</summary>
    public IReadOnlyDictionary<string, string> Keywords { get; }

    /// <summary>The first word of the reply's first line: the server's name for itself.</summary>
    public string ServerName { get; }

    /// <summary>True when every flag in <paramref name="extension"/> was announced.</summary>
    public bool Supports(SmtpExtensions extension) => (Extensions & extension) == extension;

    /// <summary>Parses an EHLO or LHLO reply.</summary>
    /// <param name="reply">the reply; a non-2xx reply yields <see cref="None"/>.</param>
    public static SmtpCapabilities Parse(SmtpReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (!reply.IsPositive) return None;
        var first = reply.Lines[0].Trim();
        int sp = first.IndexOf(' ');
        string serverName = sp < 0 ? first : first[..sp];
        var ext = SmtpExtensions.None;
        long? size = null;
        var xforward = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var keywords = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 1; i < reply.Lines.Count; i++)
        {
            var line = reply.Lines[i].Trim();
            if (line.Length == 0) continue;
            int s = line.IndexOfAny([' ', '=']);   // "AUTH=LOGIN" is an old but common spelling
            string keyword = (s < 0 ? line : line[..s]).ToUpperInvariant();
            string args = s < 0 ? "" : line[(s + 1)..].Trim();
            keywords[keyword] = keywords.TryGetValue(keyword, out var prev) && prev.Length > 0 ? prev + " " + args : args;
            switch (keyword)
            {
                case "PIPELINING": ext |= SmtpExtensions.Pipelining; break;
                case "SIZE":
                    ext |= SmtpExtensions.Size;
                    size = args.Length > 0 && long.TryParse(args, System.Globalization.NumberStyles.None, null, out var n) ? n : 0;
                    break;
                case "8BITMIME": ext |= SmtpExtensions.EightBitMime; break;
                case "SMTPUTF8": ext |= SmtpExtensions.SmtpUtf8; break;
                case "STARTTLS": ext |= SmtpExtensions.StartTls; break;
                case "CHUNKING": ext |= SmtpExtensions.Chunking; break;
                case "BINARYMIME": ext |= SmtpExtensions.BinaryMime; break;
                case "DSN": ext |= SmtpExtensions.Dsn; break;
                case "ENHANCEDSTATUSCODES": ext |= SmtpExtensions.EnhancedStatusCodes; break;
                case "XFORWARD":
                    ext |= SmtpExtensions.Xforward;
                    foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) xforward.Add(a.ToUpperInvariant());
                    break;
            }
        }
        return new SmtpCapabilities(ext, size, xforward, keywords, serverName);
    }
}
