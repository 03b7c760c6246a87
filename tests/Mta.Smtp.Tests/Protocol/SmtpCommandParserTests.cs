// Tests for SmtpCommandParser: byte-exact vectors (line -> command fields, or line -> reply wire string).
// RFC 5321 4.1.1/4.1.2/4.5.3.1, RFC 1870, 6152, 3030, 3461, 6531, 3463.
using System.Text;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Tests.Protocol;

public class SmtpCommandParserTests
{
    private static readonly SmtpParserOptions Default = new();
    private static readonly SmtpParserOptions Strict = new() { StrictEnvelopes = true };
    private static readonly SmtpParserOptions NoUtf8 = new() { SmtpUtf8Enabled = false };

    private static SmtpParserOptions Opt(string name) => name switch
    {
        "" => Default,
        "strict" => Strict,
        "noutf8" => NoUtf8,
        _ => throw new ArgumentException(name),
    };

    /// <summary>One line per command: verb, verb text, argument, then only the fields that are set.</summary>
    internal static string Describe(SmtpCommand c)
    {
        var sb = new StringBuilder($"{c.Verb} {c.VerbText} arg=[{c.Argument}]");
        if (c.Path is { } p) sb.Append($" local=[{p.LocalPart}] domain=[{p.Domain}]");
        if (c.MailParameters is { } m)
        {
            if (m.Size is { } size) sb.Append($" size={size}");
            if (m.Body != BodyType.Unspecified) sb.Append($" body={m.Body}");
            if (m.SmtpUtf8) sb.Append(" smtputf8");
            if (m.Ret != DsnRet.Unspecified) sb.Append($" ret={m.Ret}");
            if (m.EnvId is not null) sb.Append($" envid=[{m.EnvId}]");
            if (m.Auth is not null) sb.Append($" auth=[{m.Auth}]");
        }
        if (c.RecipientParameters is { } r)
        {
            if (r.Notify != DsnNotify.None) sb.Append($" notify={r.Notify}");
            if (r.OriginalRecipient is not null) sb.Append($" orcpt=[{r.OriginalRecipient}]");
        }
        if (c.Verb == SmtpVerb.Bdat) sb.Append($" chunk={c.ChunkSize}{(c.IsLastChunk ? " last" : "")}");
        return sb.ToString();
    }

    private static readonly string L64 = new('l', 64);
    private static readonly string Env100 = new('e', 100);

    public static TheoryData<string, string, string> Commands => new()
    {
        // HELO / EHLO: argument is the first token.
        { "", "HELO mail.example.com", "Helo HELO arg=[mail.example.com]" },
        { "", "helo mail.example.com", "Helo HELO arg=[mail.example.com]" },
        { "", "ehlo  client.example  extra words", "Ehlo EHLO arg=[client.example]" },
        { "", "EHLO [192.0.2.1]", "Ehlo EHLO arg=[[192.0.2.1]]" },
        { "", "EHLO\tclient.example", "Ehlo EHLO arg=[client.example]" },
        { "", "EHLO bücher.example", "Ehlo EHLO arg=[bücher.example]" },
        { "", "  EHLO client.example  ", "Ehlo EHLO arg=[client.example]" },

        // MAIL
        { "", "MAIL FROM:<a@example.com>", "Mail MAIL arg=[FROM:<a@example.com>] local=[a] domain=[example.com]" },
        { "", "mail from:<a@example.com>", "Mail MAIL arg=[from:<a@example.com>] local=[a] domain=[example.com]" },
        { "", "MAIL FROM: <a@example.com>", "Mail MAIL arg=[FROM: <a@example.com>] local=[a] domain=[example.com]" },
        { "", "MAIL FROM:a@example.com", "Mail MAIL arg=[FROM:a@example.com] local=[a] domain=[example.com]" },
        { "", "MAIL FROM:a@example.com SIZE=5", "Mail MAIL arg=[FROM:a@example.com SIZE=5] local=[a] domain=[example.com] size=5" },
        { "strict", "MAIL FROM:<a@example.com>", "Mail MAIL arg=[FROM:<a@example.com>] local=[a] domain=[example.com]" },
        { "strict", "MAIL FROM: <a@example.com>", "Mail MAIL arg=[FROM: <a@example.com>] local=[a] domain=[example.com]" },
        { "", "MAIL FROM:<>", "Mail MAIL arg=[FROM:<>] local=[] domain=[]" },
        { "", "MAIL FROM:<> SIZE=0", "Mail MAIL arg=[FROM:<> SIZE=0] local=[] domain=[] size=0" },
        { "", "MAIL FROM:<a@example.com>   ", "Mail MAIL arg=[FROM:<a@example.com>] local=[a] domain=[example.com]" },
        { "", "MAIL FROM:<a@example.com>\tSIZE=7", "Mail MAIL arg=[FROM:<a@example.com>\tSIZE=7] local=[a] domain=[example.com] size=7" },
        { "", "MAIL FROM:<a@b.example> SIZE=1024 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com",
            "Mail MAIL arg=[FROM:<a@b.example> SIZE=1024 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=e+3Dmc2@example.com] local=[a] domain=[b.example] size=1024 body=EightBitMime ret=Headers envid=[QQ314159] auth=[e=mc2@example.com]" },
        { "", "MAIL FROM:<a@b.example> size=10 body=7bit ret=full", "Mail MAIL arg=[FROM:<a@b.example> size=10 body=7bit ret=full] local=[a] domain=[b.example] size=10 body=SevenBit ret=Full" },
        { "", "MAIL FROM:<a@b.example> BODY=BINARYMIME", "Mail MAIL arg=[FROM:<a@b.example> BODY=BINARYMIME] local=[a] domain=[b.example] body=BinaryMime" },
        { "", "MAIL FROM:<a@b.example> SIZE=9223372036854775807", "Mail MAIL arg=[FROM:<a@b.example> SIZE=9223372036854775807] local=[a] domain=[b.example] size=9223372036854775807" },
        { "", "MAIL FROM:<a@b.example> SIZE=000", "Mail MAIL arg=[FROM:<a@b.example> SIZE=000] local=[a] domain=[b.example] size=0" },
        { "", "MAIL FROM:<a@b.example> SMTPUTF8", "Mail MAIL arg=[FROM:<a@b.example> SMTPUTF8] local=[a] domain=[b.example] smtputf8" },
        { "", "MAIL FROM:<a..b@c.example>", "Mail MAIL arg=[FROM:<a..b@c.example>] local=[a..b] domain=[c.example]" },
        { "", "MAIL FROM:<a@b.example> smtputf8", "Mail MAIL arg=[FROM:<a@b.example> smtputf8] local=[a] domain=[b.example] smtputf8" },
        { "", "MAIL FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8", "Mail MAIL arg=[FROM:<δοκιμή@παράδειγμα.δοκιμή> SMTPUTF8] local=[δοκιμή] domain=[παράδειγμα.δοκιμή] smtputf8" },
        { "", "MAIL FROM:<a@b.example> AUTH=<>", "Mail MAIL arg=[FROM:<a@b.example> AUTH=<>] local=[a] domain=[b.example] auth=[<>]" },
        { "", "MAIL FROM:<a@b.example> ENVID=a+2Bb+20c", "Mail MAIL arg=[FROM:<a@b.example> ENVID=a+2Bb+20c] local=[a] domain=[b.example] envid=[a+b c]" },
        { "", "MAIL FROM:<a@b.example> ENVID=" + Env100, "Mail MAIL arg=[FROM:<a@b.example> ENVID=" + Env100 + "] local=[a] domain=[b.example] envid=[" + Env100 + "]" },
        { "", "MAIL FROM:<\"john smith\"@example.com>", "Mail MAIL arg=[FROM:<\"john smith\"@example.com>] local=[\"john smith\"] domain=[example.com]" },
        { "", "MAIL FROM:<\"a\\\"b>c\"@example.com> SIZE=1", "Mail MAIL arg=[FROM:<\"a\\\"b>c\"@example.com> SIZE=1] local=[\"a\\\"b>c\"] domain=[example.com] size=1" },
        { "", "MAIL FROM:<\"\"@example.com>", "Mail MAIL arg=[FROM:<\"\"@example.com>] local=[\"\"] domain=[example.com]" },
        { "", "MAIL FROM:<@relay1.example,@relay2.example:user@example.com>", "Mail MAIL arg=[FROM:<@relay1.example,@relay2.example:user@example.com>] local=[user] domain=[example.com]" },
        { "", "MAIL FROM:<@relay1.example:user@example.com>", "Mail MAIL arg=[FROM:<@relay1.example:user@example.com>] local=[user] domain=[example.com]" },
        { "", "MAIL FROM:<user@[192.0.2.1]>", "Mail MAIL arg=[FROM:<user@[192.0.2.1]>] local=[user] domain=[[192.0.2.1]]" },
        { "", "MAIL FROM:<user@[IPv6:2001:db8::1]>", "Mail MAIL arg=[FROM:<user@[IPv6:2001:db8::1]>] local=[user] domain=[[IPv6:2001:db8::1]]" },
        { "", "MAIL FROM:<user@[ipv6:::ffff:192.0.2.1]>", "Mail MAIL arg=[FROM:<user@[ipv6:::ffff:192.0.2.1]>] local=[user] domain=[[ipv6:::ffff:192.0.2.1]]" },
        { "", "MAIL FROM:<user@[x-tag:some~content]>", "Mail MAIL arg=[FROM:<user@[x-tag:some~content]>] local=[user] domain=[[x-tag:some~content]]" },
        { "", "MAIL FROM:<!#$%&'*+-/=?^_`{|}~@x.example>", "Mail MAIL arg=[FROM:<!#$%&'*+-/=?^_`{|}~@x.example>] local=[!#$%&'*+-/=?^_`{|}~] domain=[x.example]" },
        { "", $"MAIL FROM:<{L64}@x.example>", $"Mail MAIL arg=[FROM:<{L64}@x.example>] local=[{L64}] domain=[x.example]" },

        // RCPT
        { "", "RCPT TO:<b@example.org>", "Rcpt RCPT arg=[TO:<b@example.org>] local=[b] domain=[example.org]" },
        { "", "rcpt to: <Postmaster>", "Rcpt RCPT arg=[to: <Postmaster>] local=[Postmaster] domain=[]" },
        { "", "RCPT TO:<POSTMASTER>", "Rcpt RCPT arg=[TO:<POSTMASTER>] local=[POSTMASTER] domain=[]" },
        { "", "RCPT TO:<postmaster@example.org>", "Rcpt RCPT arg=[TO:<postmaster@example.org>] local=[postmaster] domain=[example.org]" },
        { "", "RCPT TO:b@example.org", "Rcpt RCPT arg=[TO:b@example.org] local=[b] domain=[example.org]" },
        { "", "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;b+2Bx@example.org",
            "Rcpt RCPT arg=[TO:<b@example.org> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;b+2Bx@example.org] local=[b] domain=[example.org] notify=Success, Failure, Delay orcpt=[rfc822;b+x@example.org]" },
        { "", "RCPT TO:<b@example.org> notify=never", "Rcpt RCPT arg=[TO:<b@example.org> notify=never] local=[b] domain=[example.org] notify=Never" },
        { "", "RCPT TO:<b@example.org> NOTIFY=delay,failure", "Rcpt RCPT arg=[TO:<b@example.org> NOTIFY=delay,failure] local=[b] domain=[example.org] notify=Failure, Delay" },
        { "", "RCPT TO:<b@example.org> ORCPT=RFC822;B@EXAMPLE.ORG", "Rcpt RCPT arg=[TO:<b@example.org> ORCPT=RFC822;B@EXAMPLE.ORG] local=[b] domain=[example.org] orcpt=[rfc822;B@EXAMPLE.ORG]" },
        { "", "RCPT TO:<b@example.org> ORCPT=UTF-8;\\x{E9}t\\x{E9}@example.org", "Rcpt RCPT arg=[TO:<b@example.org> ORCPT=UTF-8;\\x{E9}t\\x{E9}@example.org] local=[b] domain=[example.org] orcpt=[utf-8;été@example.org]" },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;δ@example.org", "Rcpt RCPT arg=[TO:<b@example.org> ORCPT=utf-8;δ@example.org] local=[b] domain=[example.org] orcpt=[utf-8;δ@example.org]" },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{1F600}@x", "Rcpt RCPT arg=[TO:<b@example.org> ORCPT=utf-8;\\x{1F600}@x] local=[b] domain=[example.org] orcpt=[utf-8;\U0001F600@x]" },
        { "", "RCPT TO:<δ@παράδειγμα.example>", "Rcpt RCPT arg=[TO:<δ@παράδειγμα.example>] local=[δ] domain=[παράδειγμα.example]" },

        // No-argument commands
        { "", "DATA", "Data DATA arg=[]" },
        { "", "data  ", "Data DATA arg=[]" },
        { "", "RSET", "Rset RSET arg=[]" },
        { "", "QUIT", "Quit QUIT arg=[]" },
        { "", "StartTLS", "StartTls STARTTLS arg=[]" },

        // Raw-argument commands
        { "", "NOOP", "Noop NOOP arg=[]" },
        { "", "noop anything  goes here", "Noop NOOP arg=[anything  goes here]" },
        { "", "NOOP\tx", "Noop NOOP arg=[x]" },
        { "", "HELP", "Help HELP arg=[]" },
        { "", "HELP mail", "Help HELP arg=[mail]" },
        { "", "VRFY user", "Vrfy VRFY arg=[user]" },
        { "", "EXPN list@example.com", "Expn EXPN arg=[list@example.com]" },
        { "", "ETRN example.com", "Etrn ETRN arg=[example.com]" },
        { "", "AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=", "Auth AUTH arg=[PLAIN dGVzdAB0ZXN0AHRlc3Q=]" },
        { "", "XFORWARD NAME=spike.porcupine.org ADDR=168.100.189.2", "Xforward XFORWARD arg=[NAME=spike.porcupine.org ADDR=168.100.189.2]" },
        { "", "xclient ADDR=192.0.2.1", "Xclient XCLIENT arg=[ADDR=192.0.2.1]" },

        // BDAT
        { "", "BDAT 1000", "Bdat BDAT arg=[1000] chunk=1000" },
        { "", "bdat 0 last", "Bdat BDAT arg=[0 last] chunk=0 last" },
        { "", "BDAT 999999999999999999 LAST", "Bdat BDAT arg=[999999999999999999 LAST] chunk=999999999999999999 last" },
        { "", "BDAT  42   LAST ", "Bdat BDAT arg=[42   LAST] chunk=42 last" },

        // Unknown verbs are commands, not errors.
        { "", "FOO bar baz", "Unknown FOO arg=[bar baz]" },
        { "", "xyzzy", "Unknown XYZZY arg=[]" },
        { "", "MAILX FROM:<a@b.example>", "Unknown MAILX arg=[FROM:<a@b.example>]" },
        { "", "bücher x", "Unknown BÜCHER arg=[x]" },

        // HTTP verbs and header lines (cross-protocol attacks).
        { "", "GET / HTTP/1.1", "HttpRequest GET arg=[/ HTTP/1.1]" },
        { "", "post /form HTTP/1.0", "HttpRequest POST arg=[/form HTTP/1.0]" },
        { "", "CONNECT mx.example:25 HTTP/1.1", "HttpRequest CONNECT arg=[mx.example:25 HTTP/1.1]" },
        { "", "HEAD /", "HttpRequest HEAD arg=[/]" },
        { "", "PUT /x", "HttpRequest PUT arg=[/x]" },
        { "", "Host: mx.example", "HttpRequest HOST: arg=[mx.example]" },
        { "", "User-Agent: curl/8", "HttpRequest USER-AGENT: arg=[curl/8]" },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Parses_command(string options, string line, string expected)
    {
        var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes(line), Opt(options));
        Assert.False(r.IsError, r.Error?.ToWireString());
        Assert.Null(r.Error);
        Assert.Equal(expected, Describe(r.Command!));
    }

    private const string BadSyntax = "500 5.5.2 Error: bad syntax\r\n";
    private const string BadUtf8 = "500 5.5.2 Error: bad UTF-8 syntax\r\n";
    private const string Control = "500 5.5.2 Error: control character in command\r\n";
    private const string NonAscii = "500 5.5.2 Error: non-ASCII character in command\r\n";
    private const string MailSyntax = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
    private const string RcptSyntax = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
    private const string BadSender = "501 5.1.7 Bad sender address syntax\r\n";
    private const string BadRcpt = "501 5.1.3 Bad recipient address syntax\r\n";
    private const string BadParam = "501 5.5.4 Bad parameter syntax\r\n";
    private const string BadSize = "501 5.5.4 Bad message size syntax\r\n";
    private const string TooBig = "552 5.3.4 Message size exceeds fixed limit\r\n";
    private const string BadEnvId = "501 5.5.4 Bad ENVID parameter syntax\r\n";
    private const string BadAuth = "501 5.5.4 Bad AUTH parameter syntax\r\n";
    private const string BadNotify = "501 5.5.4 Error: Bad NOTIFY parameter syntax\r\n";
    private const string BadOrcpt = "501 5.5.4 Error: Bad ORCPT parameter syntax\r\n";
    private const string Undeclared = "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n";
    private const string Bdat = "501 5.5.4 Syntax: BDAT count [LAST]\r\n";

    private static string Path(int localOctets, int domainOctets)
    {
        // domain: labels of 63 'd' joined by dots, cut to the exact length (never ending in a dot)
        var d = new StringBuilder();
        while (d.Length < domainOctets) d.Append(d.Length % 64 == 63 ? '.' : 'd');
        if (d[^1] == '.') d[^1] = 'e';
        return new string('l', localOctets) + "@" + d;
    }

    public static TheoryData<string, string, string> Errors => new()
    {
        // Line level
        { "", "", BadSyntax },
        { "", "   ", BadSyntax },
        { "", "\t", BadSyntax },
        { "", "NOOP\0", Control },
        { "", "\0", Control },
        { "", "MAIL FROM:<a@b.example>\r", Control },
        { "", "HELO a\nb", Control },
        { "", "NOOP \u007f", Control },
        { "", "\u001b[31mHELO x", Control },
        { "noutf8", "HELO bücher.example", NonAscii },
        { "noutf8", "MAIL FROM:<δ@example.org> SMTPUTF8", NonAscii },
        { "noutf8", "NOOP \0 é", Control },

        // HELO / EHLO
        { "", "HELO", "501 5.5.4 Syntax: HELO hostname\r\n" },
        { "", "helo   ", "501 5.5.4 Syntax: HELO hostname\r\n" },
        { "", "EHLO", "501 5.5.4 Syntax: EHLO hostname\r\n" },

        // MAIL form
        { "", "MAIL", MailSyntax },
        { "", "MAIL FROM", MailSyntax },
        { "", "MAIL FROM:", MailSyntax },
        { "", "MAIL FROM:   ", MailSyntax },
        { "", "MAIL FROM :<a@b.example>", MailSyntax },
        { "", "MAIL TO:<a@b.example>", MailSyntax },
        { "", "MAIL <a@b.example>", MailSyntax },

        // MAIL address
        { "", "MAIL FROM:<a@b.example", BadSender },
        { "", "MAIL FROM:<a@b.example>x", BadSender },
        { "", "MAIL FROM:<\"a b\"@b.example>x SIZE=1", BadSender },
        { "", "MAIL FROM:<a@b.example>>", BadSender },
        { "", "MAIL FROM:<postmaster>", BadSender },
        { "", "MAIL FROM:<a>", BadSender },
        { "strict", "MAIL FROM:<a..b@c.example>", BadSender },
        { "strict", "MAIL FROM:<.a@c.example>", BadSender },
        { "strict", "MAIL FROM:<a.@c.example>", BadSender },
        { "", "MAIL FROM:<a b@c.example>", BadSender },
        { "", "MAIL FROM:<a(b)@c.example>", BadSender },
        { "", "MAIL FROM:<a@b@c.example>", BadSender },
        { "", "MAIL FROM:<a@>", BadSender },
        { "", "MAIL FROM:<@c.example>", BadSender },
        { "", "MAIL FROM:<a@-b.example>", BadSender },
        { "", "MAIL FROM:<a@b-.example>", BadSender },
        { "", "MAIL FROM:<a@b..example>", BadSender },
        { "", "MAIL FROM:<a@b.example.>", BadSender },
        { "", "MAIL FROM:<a@b_c.example>", BadSender },
        { "", "MAIL FROM:<a@" + new string('x', 64) + ".example>", BadSender },
        { "", "MAIL FROM:<\"unterminated@b.example>", BadSender },
        { "", "MAIL FROM:<\"a\"b@c.example>", BadSender },
        { "", "MAIL FROM:<\"a\tb\"@c.example>", BadSender },
        { "", "MAIL FROM:<a@[1.2.3]>", BadSender },
        { "", "MAIL FROM:<a@[1.2.3.4.5]>", BadSender },
        { "", "MAIL FROM:<a@[1.2.3.256]>", BadSender },
        { "", "MAIL FROM:<a@[1.2.3.0004]>", BadSender },
        { "", "MAIL FROM:<a@[1.2.3.4]x>", BadSender },
        { "", "MAIL FROM:<a@[IPv6:1.2.3.4]>", BadSender },
        { "", "MAIL FROM:<a@[IPv6:2001:db8::g]>", BadSender },
        { "", "MAIL FROM:<a@[IPv6:2001:db8:::1]>", BadSender },
        { "", "MAIL FROM:<a@[IPv6:fe80::1%eth0]>", BadSender },
        { "", "MAIL FROM:<a@[tag:]>", BadSender },
        { "", "MAIL FROM:<a@[:content]>", BadSender },
        { "", "MAIL FROM:<a@[-tag:content]>", BadSender },
        { "", "MAIL FROM:<a@[tag:a[b]>", BadSender },
        { "", "MAIL FROM:<a@[tag:a\\b]>", BadSender },                // "\" is not dcontent (RFC 5321 4.1.3)
        { "", "MAIL FROM:<a@[]>", BadSender },
        { "", "MAIL FROM:<a@[δ:x]>", BadSender },
        { "", "MAIL FROM:<@r1.example:>", BadSender },
        { "", "MAIL FROM:<@r1.example,a@b.example>", BadSender },
        { "", "MAIL FROM:<@r1.example,:a@b.example>", BadSender },
        { "", "MAIL FROM:<@-r1.example:a@b.example>", BadSender },
        { "strict", "MAIL FROM:a@b.example", BadSender },
        { "strict", "MAIL FROM:a@b.example SIZE=1", BadSender },
        { "", "MAIL FROM:<a@@b.example> FOO=1", BadSender },            // address is checked before parameters
        { "", $"MAIL FROM:<{new string('l', 65)}@x.example>", BadSender }, // local part 65 octets
        { "", $"MAIL FROM:<{string.Concat(Enumerable.Repeat("é", 33))}@x.example> SMTPUTF8", BadSender }, // 66 octets, 33 chars

        // MAIL parameters
        { "", "MAIL FROM:<a@b.example> SIZE=abc", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE=", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE=-1", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE=+1", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE=1k", BadSize },
        { "", "MAIL FROM:<a@b.example> SIZE=9223372036854775808", TooBig },
        { "", "MAIL FROM:<a@b.example> SIZE=99999999999999999999999", TooBig },
        { "", "MAIL FROM:<a@b.example> SIZE=1 SIZE=2", "501 5.5.4 Duplicate SIZE parameter\r\n" },
        { "", "MAIL FROM:<a@b.example> BODY=8BIT", "501 5.5.4 Bad BODY parameter syntax\r\n" },
        { "", "MAIL FROM:<a@b.example> BODY", "501 5.5.4 Bad BODY parameter syntax\r\n" },
        { "", "MAIL FROM:<a@b.example> BODY=7BIT BODY=8BITMIME", "501 5.5.4 Duplicate BODY parameter\r\n" },
        { "", "MAIL FROM:<a@b.example> SMTPUTF8=yes", "501 5.5.4 Bad SMTPUTF8 parameter syntax\r\n" },
        { "", "MAIL FROM:<a@b.example> SMTPUTF8 SMTPUTF8", "501 5.5.4 Duplicate SMTPUTF8 parameter\r\n" },
        { "noutf8", "MAIL FROM:<a@b.example> SMTPUTF8", "555 5.5.4 Unsupported option: SMTPUTF8\r\n" },
        { "", "MAIL FROM:<a@b.example> RET=ALL", "501 5.5.4 Bad RET parameter syntax\r\n" },
        { "", "MAIL FROM:<a@b.example> RET", "501 5.5.4 Bad RET parameter syntax\r\n" },
        { "", "MAIL FROM:<a@b.example> RET=FULL RET=HDRS", "501 5.5.4 Duplicate RET parameter\r\n" },
        { "", "MAIL FROM:<a@b.example> ENVID=", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=a+2", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=a+2b", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=a+ZZ", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=a+0Ab", BadEnvId },      // decodes to a control character
        { "", "MAIL FROM:<a@b.example> ENVID=+C3+A9", BadEnvId },     // decodes to non-ASCII
        { "", "MAIL FROM:<a@b.example> ENVID=a=b", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=é", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=" + Env100 + "e", BadEnvId },
        { "", "MAIL FROM:<a@b.example> ENVID=x ENVID=y", "501 5.5.4 Duplicate ENVID parameter\r\n" },
        { "", "MAIL FROM:<a@b.example> AUTH=", BadAuth },
        { "", "MAIL FROM:<a@b.example> AUTH", BadAuth },
        { "", "MAIL FROM:<a@b.example> AUTH=a+zz", BadAuth },
        { "", "MAIL FROM:<a@b.example> AUTH=a+00", BadAuth },
        { "", "MAIL FROM:<a@b.example> AUTH=<> AUTH=<>", "501 5.5.4 Duplicate AUTH parameter\r\n" },
        { "", "MAIL FROM:<a@b.example> FOO=bar", "555 5.5.4 Unsupported option: FOO\r\n" },
        { "", "MAIL FROM:<a@b.example> x-Custom", "555 5.5.4 Unsupported option: x-Custom\r\n" },
        { "", "MAIL FROM:<a@b.example> NOTIFY=NEVER", "555 5.5.4 Unsupported option: NOTIFY\r\n" },
        { "", "MAIL FROM:<a@b.example> SIZE=1 XYZ", "555 5.5.4 Unsupported option: XYZ\r\n" },
        { "", "MAIL FROM:<a@b.example> =x", BadParam },
        { "", "MAIL FROM:<a@b.example> -x", BadParam },
        { "", "MAIL FROM:<a@b.example> <c@d.example>", BadParam },
        { "", "MAIL FROM:<a@b.example> é=1", BadParam },

        // SMTPUTF8 declaration (RFC 6531 3.4)
        { "", "MAIL FROM:<δ@example.org>", Undeclared },
        { "", "MAIL FROM:<a@παράδειγμα.example>", Undeclared },
        { "", "MAIL FROM:<δ@example.org> SIZE=10", Undeclared },
        { "", "MAIL FROM:<δ@example.org> FOO", "555 5.5.4 Unsupported option: FOO\r\n" }, // parameters before the SMTPUTF8 check

        // RCPT
        { "", "RCPT", RcptSyntax },
        { "", "RCPT TO", RcptSyntax },
        { "", "RCPT TO:", RcptSyntax },
        { "", "RCPT FROM:<b@example.org>", RcptSyntax },
        { "", "RCPT TO:<>", BadRcpt },
        { "", "RCPT TO:<postmaster@>", BadRcpt },
        { "", "RCPT TO:<\"postmaster\">", BadRcpt },
        { "", "RCPT TO:<abuse>", BadRcpt },
        { "", "RCPT TO:<b@example..org>", BadRcpt },
        { "strict", "RCPT TO:b@example.org", BadRcpt },
        { "", "RCPT TO:<b@example.org> NOTIFY=NEVER,SUCCESS", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=SUCCESS,NEVER", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=SUCCESS,,FAILURE", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=SUCCESS,", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=SUCCESS,SUCCESS", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=sometimes", BadNotify },
        { "", "RCPT TO:<b@example.org> NOTIFY=NEVER NOTIFY=NEVER", "501 5.5.4 Duplicate NOTIFY parameter\r\n" },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=;b@example.org", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=x400;b", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;b+2x", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;b+2bx", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;b+0Dx", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;δ@example.org", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{D800}", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{1}", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{e9}", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{110000}", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\xE9", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;a+2Bb", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=utf-8;\\x{0A}", BadOrcpt },
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;" + new string('o', 494), BadOrcpt }, // 501 characters
        { "", "RCPT TO:<b@example.org> ORCPT=rfc822;a ORCPT=rfc822;b", "501 5.5.4 Duplicate ORCPT parameter\r\n" },
        { "", "RCPT TO:<b@example.org> SIZE=1", "555 5.5.4 Unsupported option: SIZE\r\n" },
        { "", "RCPT TO:<b@example.org> =", BadParam },

        // Commands without arguments
        { "", "DATA x", "501 5.5.4 Syntax: DATA\r\n" },
        { "", "RSET now", "501 5.5.4 Syntax: RSET\r\n" },
        { "", "QUIT please", "501 5.5.4 Syntax: QUIT\r\n" },
        { "", "STARTTLS x", "501 5.5.4 Syntax: STARTTLS\r\n" },

        // Commands that need an argument
        { "", "VRFY", "501 5.5.4 Syntax: VRFY address\r\n" },
        { "", "EXPN ", "501 5.5.4 Syntax: EXPN address\r\n" },
        { "", "ETRN", "501 5.5.4 Syntax: ETRN domain\r\n" },
        { "", "AUTH", "501 5.5.4 Syntax: AUTH mechanism\r\n" },
        { "", "XFORWARD", "501 5.5.4 Syntax: XFORWARD attribute=value...\r\n" },
        { "", "XCLIENT", "501 5.5.4 Syntax: XCLIENT attribute=value...\r\n" },

        // BDAT
        { "", "BDAT", Bdat },
        { "", "BDAT x", Bdat },
        { "", "BDAT -1", Bdat },
        { "", "BDAT 1.5", Bdat },
        { "", "BDAT LAST", Bdat },
        { "", "BDAT 1 LASTX", Bdat },
        { "", "BDAT 1 LAST extra", Bdat },
        { "", "BDAT 1 1", Bdat },
        { "", "BDAT 1234567890123456789", Bdat }, // 19 digits
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Rejects_with_exact_reply(string options, string line, string expectedWire)
    {
        var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes(line), Opt(options));
        Assert.True(r.IsError, r.Command is null ? "" : Describe(r.Command));
        Assert.Null(r.Command);
        Assert.Equal(expectedWire, r.Error!.ToWireString());
    }

    // Raw byte vectors: each char of the string is one byte (Latin-1), so invalid UTF-8 can be written.
    public static TheoryData<string, string, string> RawErrors => new()
    {
        { "", "MAIL FROM:<\u00ff@b.example>", BadUtf8 },
        { "", "HELO \u00c0\u00af", BadUtf8 },                 // overlong "/"
        { "", "HELO \u00e2\u0082", BadUtf8 },                 // truncated 3-byte sequence
        { "", "HELO \u0080", BadUtf8 },                       // lone continuation byte
        { "", "HELO \u00ed\u00a0\u0080", BadUtf8 },           // UTF-16 surrogate encoded as UTF-8
        { "", "HELO \u00f4\u0090\u0080\u0080", BadUtf8 },     // above U+10FFFF
        { "", "\u00ff", BadUtf8 },
        { "noutf8", "HELO \u00ff", BadUtf8 },                 // invalid UTF-8 wins over the 8-bit check
        { "", "NOOP \u00ff\u0000", BadUtf8 },                 // ... and over the control check
        { "", "HELO \u00c3\u00a9\u0000", Control },           // valid UTF-8 with NUL
        { "noutf8", "HELO \u00c3\u00a9", NonAscii },          // valid UTF-8 "é", SMTPUTF8 disabled
    };

    [Theory]
    [MemberData(nameof(RawErrors))]
    public void Rejects_raw_bytes(string options, string latin1Line, string expectedWire)
    {
        var r = SmtpCommandParser.Parse(Encoding.Latin1.GetBytes(latin1Line), Opt(options));
        Assert.True(r.IsError);
        Assert.Equal(expectedWire, r.Error!.ToWireString());
    }

    [Theory]
    [InlineData(251, true)]  // "<" + 1 + "@" + 251 + ">" = 254
    [InlineData(252, true)]  // 256 octets: the limit
    [InlineData(253, false)] // 257 octets
    public void Path_length_limit_is_256_octets_with_brackets(int domainOctets, bool ok)
    {
        var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes($"RCPT TO:<{Path(1, domainOctets)}>"), Default);
        Assert.Equal(ok, !r.IsError);
        if (!ok) Assert.Equal(BadRcpt, r.Error!.ToWireString());
        else Assert.Equal(domainOctets, r.Command!.Path!.Domain.Length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Path_length_limit_counts_brackets_for_a_bare_path(bool bracketed)
    {
        var p = Path(1, 252); // 254 octets bare, 256 with brackets: valid either way
        var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes("MAIL FROM:" + (bracketed ? $"<{p}>" : p)), Default);
        Assert.False(r.IsError);
        var longer = Path(2, 252); // 255 bare + 2 = 257
        r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes("MAIL FROM:" + (bracketed ? $"<{longer}>" : longer)), Default);
        Assert.Equal(BadSender, r.Error!.ToWireString());
    }

    [Fact]
    public void Utf8_local_part_limit_counts_octets_not_characters()
    {
        var local = string.Concat(Enumerable.Repeat("é", 32)); // 64 octets
        var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes($"MAIL FROM:<{local}@x.example> SMTPUTF8"), Default);
        Assert.Equal(local, r.Command!.Path!.LocalPart);
    }

    [Fact]
    public void Mail_without_parameters_has_empty_parameter_set()
    {
        var c = SmtpCommandParser.Parse("MAIL FROM:<a@b.example>"u8, Default).Command!;
        Assert.Same(MailParameters.Empty, c.MailParameters);
        Assert.Null(c.RecipientParameters);
        var r = SmtpCommandParser.Parse("RCPT TO:<a@b.example>"u8, Default).Command!;
        Assert.Same(RecipientParameters.Empty, r.RecipientParameters);
        Assert.Null(r.MailParameters);
    }

    [Fact]
    public void Null_reverse_path_is_the_shared_null_path()
    {
        var c = SmtpCommandParser.Parse("MAIL FROM:<>"u8, Default).Command!;
        Assert.True(c.Path!.IsNull);
        Assert.Equal("<>", c.Path.ToString());
    }

    [Fact]
    public void Every_error_reply_carries_an_enhanced_status_code()
    {
        foreach (var row in Errors)
        {
            var r = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes((string)row[1]), Opt((string)row[0]));
            Assert.Matches(@"^[245]\.\d{1,3}\.\d{1,3}$", r.Error!.EnhancedStatus!);
            Assert.Equal(r.Error.Code / 100, r.Error.EnhancedStatus![0] - '0');
        }
    }

    [Fact]
    public void Never_throws_and_returns_exactly_one_outcome_for_random_lines()
    {
        var rnd = new Random(5321);
        byte[] alphabet = "MAILFROM:RCPTO<>@\"\\[]. =+,;:-BDATLASTSIZEBODYNOTIFYORCPTENVIDxX09\t\u00c3\u00a9\u00ff\u0000"u8.ToArray();
        string[] prefixes = ["", "MAIL FROM:", "RCPT TO:", "MAIL FROM:<", "RCPT TO:<a@b> ", "BDAT ", "HELO "];
        for (int i = 0; i < 20000; i++)
        {
            var prefix = Encoding.ASCII.GetBytes(prefixes[i % prefixes.Length]);
            var line = new byte[prefix.Length + rnd.Next(0, 40)];
            prefix.CopyTo(line, 0);
            for (int j = prefix.Length; j < line.Length; j++) line[j] = alphabet[rnd.Next(alphabet.Length)];
            foreach (var opt in new[] { Default, Strict, NoUtf8 })
            {
                var r = SmtpCommandParser.Parse(line, opt);
                Assert.True((r.Command is null) != (r.Error is null));
                if (r.Error is not null) Assert.NotNull(r.Error.EnhancedStatus);
            }
        }
    }
}
