// SmtpCommandParser: turns one server-side SMTP command line (bytes, CRLF already stripped) into an
// SmtpCommand or an error reply. It owns line-level checks (UTF-8, control characters), verb lookup,
// per-verb argument syntax, and the ESMTP parameters of MAIL and RCPT.
// RFC 5321 4.1.1 (commands), 4.1.2 (syntax), 4.5.1 (postmaster), 4.5.3.1 (limits);
// RFC 1870 (SIZE), RFC 6152 (8BITMIME), RFC 3030 (BDAT, BINARYMIME), RFC 3461 4 (NOTIFY, ORCPT, RET,
// ENVID), RFC 4954 5 (AUTH=), RFC 6531 3.3/3.4 (SMTPUTF8), RFC 2034 / RFC 3463 (enhanced status codes).
// Reply texts follow Postfix smtpd where Postfix has one.
using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Mta.Smtp.Envelope;

namespace Mta.Smtp.Protocol;

/// <summary>
/// The outcome of <see cref="SmtpCommandParser.Parse"/>: exactly one of <see cref="Command"/> and
/// <see cref="Error"/> is non-null.
/// </summary>
/// <param name="Command">The parsed command when the line is acceptable (including <see cref="SmtpVerb.Unknown"/>
/// and <see cref="SmtpVerb.HttpRequest"/>, which the session answers).</param>
/// <param name="Error">The reply to send when the line is malformed; always carries an enhanced status code.</param>
public readonly record struct SmtpParseResult(SmtpCommand? Command, SmtpReply? Error)
{
    /// <summary>True when <see cref="Error"/> is set.</summary>
    public bool IsError => Error != null;
}

/// <summary>
/// Stateless parser for one command line received by the server. State-dependent checks (command
/// order, whether SMTPUTF8/8BITMIME/CHUNKING were advertised, size limits, policy) belong to the session.
/// </summary>
/// <remarks>
/// Line-level rules, checked first, in this order:
/// <list type="number">
/// <item>bytes that are not well-formed UTF-8: <c>500 5.5.2 Error: bad UTF-8 syntax</c>;</item>
/// <item>NUL, other C0 controls except TAB (CR and LF included), or DEL: <c>500 5.5.2 Error: control character in command</c>;</item>
/// <item>any non-ASCII character when <see cref="SmtpParserOptions.SmtpUtf8Enabled"/> is false:
///   <c>500 5.5.2 Error: non-ASCII character in command</c>;</item>
/// <item>an empty or blank line: <c>500 5.5.2 Error: bad syntax</c> (Postfix).</item>
/// </list>
/// Spaces and tabs around the line are ignored; SP and TAB both separate the verb, the path and parameters
/// (as Postfix's tokenizer does).
/// </remarks>
public static class SmtpCommandParser
{
    // ---- Replies (cached: immutable values) ----
    internal static readonly SmtpReply BadSyntax = new(500, "5.5.2", "Error: bad syntax");
    internal static readonly SmtpReply BadUtf8 = new(500, "5.5.2", "Error: bad UTF-8 syntax");
    internal static readonly SmtpReply ControlCharacter = new(500, "5.5.2", "Error: control character in command");
    internal static readonly SmtpReply NonAscii = new(500, "5.5.2", "Error: non-ASCII character in command");
    internal static readonly SmtpReply HeloSyntax = new(501, "5.5.4", "Syntax: HELO hostname");
    internal static readonly SmtpReply EhloSyntax = new(501, "5.5.4", "Syntax: EHLO hostname");
    internal static readonly SmtpReply MailSyntax = new(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    internal static readonly SmtpReply RcptSyntax = new(501, "5.5.4", "Syntax: RCPT TO:<address>");
    internal static readonly SmtpReply BadSender = new(501, "5.1.7", "Bad sender address syntax");
    internal static readonly SmtpReply BadRecipient = new(501, "5.1.3", "Bad recipient address syntax");
    internal static readonly SmtpReply BadParameter = new(501, "5.5.4", "Bad parameter syntax");
    internal static readonly SmtpReply BadSize = new(501, "5.5.4", "Bad message size syntax");
    internal static readonly SmtpReply SizeOverflow = new(552, "5.3.4", "Message size exceeds fixed limit");
    internal static readonly SmtpReply BadBody = new(501, "5.5.4", "Bad BODY parameter syntax");
    internal static readonly SmtpReply BadSmtpUtf8 = new(501, "5.5.4", "Bad SMTPUTF8 parameter syntax");
    internal static readonly SmtpReply BadRet = new(501, "5.5.4", "Bad RET parameter syntax");
    internal static readonly SmtpReply BadEnvId = new(501, "5.5.4", "Bad ENVID parameter syntax");
    internal static readonly SmtpReply BadAuth = new(501, "5.5.4", "Bad AUTH parameter syntax");
    internal static readonly SmtpReply BadNotify = new(501, "5.5.4", "Error: Bad NOTIFY parameter syntax");
    internal static readonly SmtpReply BadOrcpt = new(501, "5.5.4", "Error: Bad ORCPT parameter syntax");
    internal static readonly SmtpReply UndeclaredUtf8 = new(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address");
    internal static readonly SmtpReply BdatSyntax = new(501, "5.5.4", "Syntax: BDAT count [LAST]");

    private static readonly SmtpReply DupSize = Duplicate("SIZE"), DupBody = Duplicate("BODY"),
        DupSmtpUtf8 = Duplicate("SMTPUTF8"), DupRet = Duplicate("RET"), DupEnvId = Duplicate("ENVID"),
        DupAuth = Duplicate("AUTH"), DupNotify = Duplicate("NOTIFY"), DupOrcpt = Duplicate("ORCPT");

    private static SmtpReply Duplicate(string keyword) => new(501, "5.5.4", $"Duplicate {keyword} parameter");
    private static SmtpReply Syntax(string usage) => new(501, "5.5.4", "Syntax: " + usage);

    /// <summary>RFC 3461 4.4: ENVID is at most 100 characters.</summary>
    internal const int MaxEnvIdChars = 100;
    /// <summary>RFC 3461 4.2: the ORCPT value (addr-type ";" xtext) is at most 500 characters.</summary>
    internal const int MaxOrcptChars = 500;
    /// <summary>RFC 3030 2: BDAT chunk-size = 1*DIGIT; we accept at most 18 digits (fits a long).</summary>
    internal const int MaxBdatDigits = 18;

    private static readonly SearchValues<byte> ControlBytes = SearchValues.Create(
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127]);

    private sealed record VerbEntry(byte[] Name, SmtpVerb Verb, string Text, SmtpReply? Usage);

    private static readonly VerbEntry[] Verbs =
    [
        new("MAIL"u8.ToArray(), SmtpVerb.Mail, "MAIL", null),
        new("RCPT"u8.ToArray(), SmtpVerb.Rcpt, "RCPT", null),
        new("DATA"u8.ToArray(), SmtpVerb.Data, "DATA", Syntax("DATA")),
        new("BDAT"u8.ToArray(), SmtpVerb.Bdat, "BDAT", null),
        new("EHLO"u8.ToArray(), SmtpVerb.Ehlo, "EHLO", null),
        new("HELO"u8.ToArray(), SmtpVerb.Helo, "HELO", null),
        new("RSET"u8.ToArray(), SmtpVerb.Rset, "RSET", Syntax("RSET")),
        new("QUIT"u8.ToArray(), SmtpVerb.Quit, "QUIT", Syntax("QUIT")),
        new("NOOP"u8.ToArray(), SmtpVerb.Noop, "NOOP", null),
        new("STARTTLS"u8.ToArray(), SmtpVerb.StartTls, "STARTTLS", Syntax("STARTTLS")),
        new("AUTH"u8.ToArray(), SmtpVerb.Auth, "AUTH", Syntax("AUTH mechanism")),
        new("VRFY"u8.ToArray(), SmtpVerb.Vrfy, "VRFY", Syntax("VRFY address")),
        new("EXPN"u8.ToArray(), SmtpVerb.Expn, "EXPN", Syntax("EXPN address")),
        new("HELP"u8.ToArray(), SmtpVerb.Help, "HELP", null),
        new("ETRN"u8.ToArray(), SmtpVerb.Etrn, "ETRN", Syntax("ETRN domain")),
        new("XFORWARD"u8.ToArray(), SmtpVerb.Xforward, "XFORWARD", Syntax("XFORWARD attribute=value...")),
        new("XCLIENT"u8.ToArray(), SmtpVerb.Xclient, "XCLIENT", Syntax("XCLIENT attribute=value...")),
        new("CONNECT"u8.ToArray(), SmtpVerb.HttpRequest, "CONNECT", null),
        new("GET"u8.ToArray(), SmtpVerb.HttpRequest, "GET", null),
        new("POST"u8.ToArray(), SmtpVerb.HttpRequest, "POST", null),
        new("HEAD"u8.ToArray(), SmtpVerb.HttpRequest, "HEAD", null),
        new("PUT"u8.ToArray(), SmtpVerb.HttpRequest, "PUT", null),
    ];

    private static ReadOnlySpan<byte> Blank => " \t"u8;

    /// <summary>
    /// Parses one command line. Never throws for bad input.
    /// </summary>
    /// <param name="line">The line without its CRLF, as received (UTF-8 expected).</param>
    /// <param name="options">Parser switches; see <see cref="SmtpParserOptions"/>.</param>
    /// <returns>
    /// A command, or an error reply. Command shapes (verb case-insensitive; <see cref="SmtpCommand.VerbText"/>
    /// is the verb as sent, upper-cased):
    /// <list type="bullet">
    /// <item>HELO/EHLO <c>name</c>: Argument = first token. No argument: <c>501 5.5.4 Syntax: HELO hostname</c> (EHLO likewise).</item>
    /// <item>MAIL FROM:<c>&lt;path&gt; [params]</c>: Path and MailParameters (never null) set; Argument = raw text after the verb.
    ///   Errors: <c>501 5.5.4 Syntax: MAIL FROM:&lt;address&gt;</c>, <c>501 5.1.7 Bad sender address syntax</c>,
    ///   <c>501 5.5.4 Bad message size syntax</c>, <c>552 5.3.4 Message size exceeds fixed limit</c>,
    ///   <c>501 5.5.4 Bad BODY|SMTPUTF8|RET|ENVID|AUTH parameter syntax</c>, <c>501 5.5.4 Duplicate NAME parameter</c>,
    ///   <c>501 5.5.4 Bad parameter syntax</c> (malformed keyword), <c>555 5.5.4 Unsupported option: KEYWORD</c>,
    ///   <c>553 5.6.7 Must declare SMTPUTF8 to send unicode address</c>.</item>
    /// <item>RCPT TO:<c>&lt;path&gt; [params]</c>: Path and RecipientParameters (never null) set. Errors:
    ///   <c>501 5.5.4 Syntax: RCPT TO:&lt;address&gt;</c>, <c>501 5.1.3 Bad recipient address syntax</c>,
    ///   <c>501 5.5.4 Error: Bad NOTIFY parameter syntax</c>, <c>501 5.5.4 Error: Bad ORCPT parameter syntax</c>,
    ///   duplicates and unknown keywords as for MAIL.</item>
    /// <item>BDAT <c>count [LAST]</c>: ChunkSize, IsLastChunk; else <c>501 5.5.4 Syntax: BDAT count [LAST]</c>.</item>
    /// <item>DATA, RSET, QUIT, STARTTLS: no argument allowed, else <c>501 5.5.4 Syntax: DATA</c> etc.</item>
    /// <item>VRFY, EXPN, ETRN, AUTH, XFORWARD, XCLIENT: argument required (<c>501 5.5.4 Syntax: VRFY address</c>,
    ///   <c>EXPN address</c>, <c>ETRN domain</c>, <c>AUTH mechanism</c>, <c>XFORWARD attribute=value...</c>,
    ///   <c>XCLIENT attribute=value...</c>); Argument = raw rest. NOOP, HELP: Argument = raw rest, may be "".</item>
    /// <item>CONNECT, GET, POST, HEAD, PUT, or a first word ending in <c>:</c> (a header such as <c>Host:</c>,
    ///   as Postfix's <c>smtpd_forbidden_commands</c>): <see cref="SmtpVerb.HttpRequest"/>.</item>
    /// <item>Anything else: <see cref="SmtpVerb.Unknown"/> with Argument = raw rest.</item>
    /// </list>
    /// </returns>
    public static SmtpParseResult Parse(ReadOnlySpan<byte> line, SmtpParserOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        bool eightBit = line.IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0;
        if (eightBit && !Utf8.IsValid(line)) return Fail(BadUtf8);
        if (line.IndexOfAny(ControlBytes) >= 0) return Fail(ControlCharacter);
        if (eightBit && !options.SmtpUtf8Enabled) return Fail(NonAscii);

        line = line.Trim(Blank);
        if (line.IsEmpty) return Fail(BadSyntax);
        int sep = line.IndexOfAny(Blank);
        var verb = sep < 0 ? line : line[..sep];
        var rest = sep < 0 ? default : line[sep..].TrimStart(Blank);

        VerbEntry? entry = null;
        foreach (var v in Verbs)
            if (v.Name.Length == verb.Length && Ascii.EqualsIgnoreCase(verb, v.Name)) { entry = v; break; }

        if (entry is null)
        {
            var kind = verb.Length > 1 && verb[^1] == ':' ? SmtpVerb.HttpRequest : SmtpVerb.Unknown;
            return Ok(new SmtpCommand(kind, Str(rest)) { VerbText = Encoding.UTF8.GetString(verb).ToUpperInvariant() });
        }

        switch (entry.Verb)
        {
            case SmtpVerb.Helo:
            case SmtpVerb.Ehlo:
                if (rest.IsEmpty) return Fail(entry.Verb == SmtpVerb.Helo ? HeloSyntax : EhloSyntax);
                int end = rest.IndexOfAny(Blank);
                return Ok(new SmtpCommand(entry.Verb, Str(end < 0 ? rest : rest[..end])) { VerbText = entry.Text });
            case SmtpVerb.Mail:
                return ParseMail(rest, options);
            case SmtpVerb.Rcpt:
                return ParseRcpt(rest, options);
            case SmtpVerb.Bdat:
                return ParseBdat(rest);
            case SmtpVerb.Data:
            case SmtpVerb.Rset:
            case SmtpVerb.Quit:
            case SmtpVerb.StartTls:
                if (!rest.IsEmpty) return Fail(entry.Usage!);
                return Ok(new SmtpCommand(entry.Verb, "") { VerbText = entry.Text });
            default:
                if (rest.IsEmpty && entry.Usage is not null) return Fail(entry.Usage);
                return Ok(new SmtpCommand(entry.Verb, Str(rest)) { VerbText = entry.Text });
        }
    }

    private static SmtpParseResult ParseMail(ReadOnlySpan<byte> rest, SmtpParserOptions options)
    {
        if (!TrySplitPath(rest, "FROM:"u8, out var pathBytes, out var parms)) return Fail(MailSyntax);
        if (pathBytes.IsEmpty
            || PathParser.Parse(pathBytes, options.SmtpUtf8Enabled, options.StrictEnvelopes, out var path) is not null
            || (!path.IsNull && path.Domain.Length == 0)) // bare postmaster is for RCPT only
            return Fail(BadSender);

        long? size = null;
        var body = BodyType.Unspecified;
        bool smtpUtf8 = false;
        var ret = DsnRet.Unspecified;
        string? envId = null, auth = null;
        bool any = false;

        while (NextToken(ref parms, out var token))
        {
            any = true;
            SplitParameter(token, out var key, out var value, out bool hasValue);
            if (!IsKeyword(key)) return Fail(BadParameter);
            if (Ascii.EqualsIgnoreCase(key, "SIZE"u8))
            {
                if (size is not null) return Fail(DupSize);
                if (!hasValue || value.IsEmpty || value.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0) return Fail(BadSize);
                long n = 0;
                foreach (byte b in value)
                {
                    int d = b - '0';
                    if (n > (long.MaxValue - d) / 10) return Fail(SizeOverflow);
                    n = n * 10 + d;
                }
                size = n;
            }
            else if (Ascii.EqualsIgnoreCase(key, "BODY"u8))
            {
                if (body != BodyType.Unspecified) return Fail(DupBody);
                if (Ascii.EqualsIgnoreCase(value, "7BIT"u8)) body = BodyType.SevenBit;
                else if (Ascii.EqualsIgnoreCase(value, "8BITMIME"u8)) body = BodyType.EightBitMime;
                else if (Ascii.EqualsIgnoreCase(value, "BINARYMIME"u8)) body = BodyType.BinaryMime;
                else return Fail(BadBody);
            }
            else if (options.SmtpUtf8Enabled && Ascii.EqualsIgnoreCase(key, "SMTPUTF8"u8))
            {
                if (smtpUtf8) return Fail(DupSmtpUtf8);
                if (hasValue) return Fail(BadSmtpUtf8);
                smtpUtf8 = true;
            }
            else if (Ascii.EqualsIgnoreCase(key, "RET"u8))
            {
                if (ret != DsnRet.Unspecified) return Fail(DupRet);
                if (Ascii.EqualsIgnoreCase(value, "FULL"u8)) ret = DsnRet.Full;
                else if (Ascii.EqualsIgnoreCase(value, "HDRS"u8)) ret = DsnRet.Headers;
                else return Fail(BadRet);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ENVID"u8))
            {
                if (envId is not null) return Fail(DupEnvId);
                // 100 decoded characters need at most 300 xtext octets ("+XX" each).
                if (value.IsEmpty || value.Length > 3 * MaxEnvIdChars
                    || !Xtext.TryDecode(value, out var decoded)
                    || decoded.Length > MaxEnvIdChars || !IsPrintableAscii(decoded))
                    return Fail(BadEnvId);
                envId = decoded;
            }
            else if (Ascii.EqualsIgnoreCase(key, "AUTH"u8))
            {
                if (auth is not null) return Fail(DupAuth);
                if (value.IsEmpty || !Xtext.TryDecode(value, out var decoded) || HasControl(decoded)) return Fail(BadAuth);
                auth = decoded;
            }
            else return Fail(Unsupported(key));
        }

        if (!smtpUtf8 && !IsAscii(path)) return Fail(UndeclaredUtf8);

        var mp = any
            ? new MailParameters { Size = size, Body = body, SmtpUtf8 = smtpUtf8, Ret = ret, EnvId = envId, Auth = auth }
            : MailParameters.Empty;
        return Ok(new SmtpCommand(SmtpVerb.Mail, Str(rest)) { VerbText = "MAIL", Path = path, MailParameters = mp });
    }

    private static SmtpParseResult ParseRcpt(ReadOnlySpan<byte> rest, SmtpParserOptions options)
    {
        if (!TrySplitPath(rest, "TO:"u8, out var pathBytes, out var parms)) return Fail(RcptSyntax);
        if (pathBytes.IsEmpty
            || PathParser.Parse(pathBytes, options.SmtpUtf8Enabled, options.StrictEnvelopes, out var path) is not null
            || path.IsNull)
            return Fail(BadRecipient);

        var notify = DsnNotify.None;
        string? orcpt = null;
        bool any = false;
        while (NextToken(ref parms, out var token))
        {
            any = true;
            SplitParameter(token, out var key, out var value, out _);
            if (!IsKeyword(key)) return Fail(BadParameter);
            if (Ascii.EqualsIgnoreCase(key, "NOTIFY"u8))
            {
                if (notify != DsnNotify.None) return Fail(DupNotify);
                if (!TryParseNotify(value, out notify)) return Fail(BadNotify);
            }
            else if (Ascii.EqualsIgnoreCase(key, "ORCPT"u8))
            {
                if (orcpt is not null) return Fail(DupOrcpt);
                if (!TryParseOrcpt(value, options.SmtpUtf8Enabled, out orcpt)) return Fail(BadOrcpt);
            }
            else return Fail(Unsupported(key));
        }

        var rp = any ? new RecipientParameters { Notify = notify, OriginalRecipient = orcpt } : RecipientParameters.Empty;
        return Ok(new SmtpCommand(SmtpVerb.Rcpt, Str(rest)) { VerbText = "RCPT", Path = path, RecipientParameters = rp });
    }

    private static SmtpParseResult ParseBdat(ReadOnlySpan<byte> rest)
    {
        var s = rest;
        if (!NextToken(ref s, out var count) || count.Length > MaxBdatDigits
            || count.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0)
            return Fail(BdatSyntax);
        bool last = false;
        if (NextToken(ref s, out var t))
        {
            if (!Ascii.EqualsIgnoreCase(t, "LAST"u8) || NextToken(ref s, out _)) return Fail(BdatSyntax);
            last = true;
        }
        long n = 0;
        foreach (byte b in count) n = n * 10 + (b - '0');
        return Ok(new SmtpCommand(SmtpVerb.Bdat, Str(rest)) { VerbText = "BDAT", ChunkSize = n, IsLastChunk = last });
    }

    /// <summary>
    /// Splits <c>FROM:&lt;path&gt; params</c>: false when the keyword (case-insensitive) is missing (form error).
    /// <paramref name="path"/> is empty when nothing follows the colon; a path that does not end where a
    /// parameter may start (e.g. <c>&lt;a@b&gt;x</c>, or a missing <c>&gt;</c>) is returned whole so that
    /// the address check rejects it.
    /// </summary>
    private static bool TrySplitPath(ReadOnlySpan<byte> rest, ReadOnlySpan<byte> keyword,
                                     out ReadOnlySpan<byte> path, out ReadOnlySpan<byte> parms)
    {
        path = parms = default;
        if (rest.Length < keyword.Length || !Ascii.EqualsIgnoreCase(rest[..keyword.Length], keyword)) return false;
        var s = rest[keyword.Length..].TrimStart(Blank); // Postfix tolerates "FROM: <a@b>"
        if (s.IsEmpty) return false;
        bool quoted = false;
        int end = s.Length;
        for (int i = 0; i < s.Length; i++)
        {
            byte b = s[i];
            if (quoted)
            {
                if (b == '\\') i++;
                else if (b == '"') quoted = false;
            }
            else if (b == '"') quoted = true;
            else if (s[0] == '<' && b == '>') { end = i + 1; break; }
            else if (s[0] != '<' && (b == ' ' || b == '\t')) { end = i; break; }
        }
        if (end < s.Length && s[end] != ' ' && s[end] != '\t')
        {
            int j = s[end..].IndexOfAny(Blank); // junk glued to '>': keep it in the path so the address check fails
            end = j < 0 ? s.Length : end + j;
        }
        path = s[..end];
        parms = s[end..];
        return true;
    }

    private static bool NextToken(ref ReadOnlySpan<byte> s, out ReadOnlySpan<byte> token)
    {
        s = s.TrimStart(Blank);
        if (s.IsEmpty) { token = default; return false; }
        int i = s.IndexOfAny(Blank);
        token = i < 0 ? s : s[..i];
        s = i < 0 ? default : s[i..];
        return true;
    }

    private static void SplitParameter(ReadOnlySpan<byte> token, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out bool hasValue)
    {
        int eq = token.IndexOf((byte)'=');
        hasValue = eq >= 0;
        key = hasValue ? token[..eq] : token;
        value = hasValue ? token[(eq + 1)..] : default;
    }

    /// <summary>esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") (RFC 5321 4.1.2).</summary>
    private static bool IsKeyword(ReadOnlySpan<byte> k)
    {
        if (k.IsEmpty || !char.IsAsciiLetterOrDigit((char)k[0])) return false;
        foreach (byte b in k) if (!char.IsAsciiLetterOrDigit((char)b) && b != '-') return false;
        return true;
    }

    /// <summary>NOTIFY = "NEVER" / 1#( "SUCCESS" / "FAILURE" / "DELAY" ), case-insensitive, no repeats (RFC 3461 4.1).</summary>
    private static bool TryParseNotify(ReadOnlySpan<byte> v, out DsnNotify notify)
    {
        notify = DsnNotify.None;
        if (v.IsEmpty) return false;
        if (Ascii.EqualsIgnoreCase(v, "NEVER"u8)) { notify = DsnNotify.Never; return true; }
        foreach (var range in v.Split((byte)','))
        {
            var item = v[range];
            DsnNotify f;
            if (Ascii.EqualsIgnoreCase(item, "SUCCESS"u8)) f = DsnNotify.Success;
            else if (Ascii.EqualsIgnoreCase(item, "FAILURE"u8)) f = DsnNotify.Failure;
            else if (Ascii.EqualsIgnoreCase(item, "DELAY"u8)) f = DsnNotify.Delay;
            else { notify = DsnNotify.None; return false; } // includes NEVER in a list and empty items
            if ((notify & f) != 0) { notify = DsnNotify.None; return false; }
            notify |= f;
        }
        return true;
    }

    /// <summary>ORCPT = addr-type ";" xtext (RFC 3461 4.2); addr-type rfc822 (xtext, decoded printable
    /// US-ASCII) or utf-8 (RFC 6533 3 utf-8-addr-xtext / unitext). Stored as <c>type;decoded</c> with the
    /// type lower-cased.</summary>
    private static bool TryParseOrcpt(ReadOnlySpan<byte> v, bool allowUtf8, out string? orcpt)
    {
        orcpt = null;
        if (v.Length > MaxOrcptChars) return false;
        int semi = v.IndexOf((byte)';');
        if (semi < 0) return false;
        var type = v[..semi];
        var addr = v[(semi + 1)..];
        if (addr.IsEmpty) return false;
        string decoded;
        if (Ascii.EqualsIgnoreCase(type, "rfc822"u8))
        {
            if (!Xtext.TryDecode(addr, out decoded) || !IsPrintableAscii(decoded)) return false;
            orcpt = "rfc822;" + decoded;
        }
        else if (Ascii.EqualsIgnoreCase(type, "utf-8"u8))
        {
            if (!Xtext.TryDecodeUtf8Address(addr, allowUtf8, out decoded) || HasControl(decoded)) return false;
            orcpt = "utf-8;" + decoded;
        }
        else return false;
        return true;
    }

    private static bool IsPrintableAscii(string s)
    {
        foreach (char c in s) if (c is < ' ' or > '~') return false;
        return true;
    }

    private static bool HasControl(string s)
    {
        foreach (char c in s) if (char.IsControl(c)) return true;
        return false;
    }

    private static bool IsAscii(SmtpPath p) => Ascii.IsValid(p.LocalPart) && Ascii.IsValid(p.Domain);

    private static SmtpReply Unsupported(ReadOnlySpan<byte> keyword) =>
        new(555, "5.5.4", "Unsupported option: " + Encoding.ASCII.GetString(keyword));

    private static string Str(ReadOnlySpan<byte> s) => s.IsEmpty ? "" : Encoding.UTF8.GetString(s);
    private static SmtpParseResult Ok(SmtpCommand c) => new(c, null);
    private static SmtpParseResult Fail(SmtpReply r) => new(null, r);
}
