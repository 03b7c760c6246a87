// SwaksClient: owns running swaks (the Debian package, unmodified) against a loopback server and
// turning its transcript into values: which command got which reply code, and how long the server
// took to answer each command (swaks --show-time-lapse prints "=== response in N.NNNs" before each
// reply). Transcript prefixes, from swaks(1): " -> " / " ~> " sent (plain / TLS), "<-  " / "<~  "
// received, "<** " / "<~* " received error reply. After a 354 reply the sent lines are message
// content until the line ".", whose reply is the end-of-data reply.
using System.Globalization;
using System.Text.RegularExpressions;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Clients;

/// <summary>What to ask swaks to do.</summary>
public sealed record SwaksRequest
{
    /// <summary>Server port on <see cref="Server"/>.</summary>
    public required int Port { get; init; }

    /// <summary>Server address (a loopback address; default 127.0.0.1).</summary>
    public string Server { get; init; } = "127.0.0.1";

    /// <summary>Source address to connect from (--local-interface), e.g. 127.0.0.3; null lets the kernel choose.</summary>
    public string? LocalInterface { get; init; }

    /// <summary>Stop after this stage and QUIT (--quit-after), e.g. "RCPT"; null runs the whole transaction.</summary>
    public string? QuitAfter { get; init; }

    /// <summary>Envelope sender.</summary>
    public string From { get; init; } = "sender@client.test";

    /// <summary>Envelope recipients.</summary>
    public required IReadOnlyList<string> To { get; init; }

    /// <summary>A corpus file name sent as the message (--data FILE); null sends swaks' built-in test message.</summary>
    public string? CorpusMessage { get; init; }

    /// <summary>An absolute path of a message file sent with --data (instead of <see cref="CorpusMessage"/>).</summary>
    public string? DataFile { get; init; }

    /// <summary>The HELO/EHLO name (--helo).</summary>
    public string Helo { get; init; } = "client.test";

    /// <summary>LMTP instead of SMTP (--protocol LMTP).</summary>
    public bool Lmtp { get; init; }

    /// <summary>Require STARTTLS (-tls).</summary>
    public bool StartTls { get; init; }

    /// <summary>Per-command timeout of swaks (--timeout); longer than prequeue_delivery_deadline.</summary>
    public int TimeoutSeconds { get; init; } = 90;

    /// <summary>The command line arguments for swaks.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string>
        {
            "--server", Server, "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--helo", Helo, "--from", From, "--to", string.Join(',', To),
            "--timeout", $"{TimeoutSeconds}s", "--show-time-lapse", "i",
        };
        if (Lmtp) { args.AddRange(["--protocol", "LMTP"]); }
        if (LocalInterface is not null) { args.AddRange(["--local-interface", LocalInterface]); }
        if (QuitAfter is not null) { args.AddRange(["--quit-after", QuitAfter]); }
        if (StartTls) { args.Add("-tls"); }
        if (CorpusMessage is not null) { args.AddRange(["--data", Corpus.PathOf(CorpusMessage)]); }
        if (DataFile is not null) { args.AddRange(["--data", DataFile]); }
        return args;
    }
}

/// <summary>One reply line group received by swaks.</summary>
/// <param name="Command">The command it answers: GREETING, EHLO, LHLO, STARTTLS, MAIL, RCPT, DATA, "." (end of data) or QUIT.</param>
/// <param name="Code">The three-digit reply code.</param>
/// <param name="Text">The reply line(s) as shown.</param>
/// <param name="Seconds">Server response time reported by swaks --show-time-lapse, or null.</param>
public sealed record SwaksReply(string Command, int Code, string Text, double? Seconds);

/// <summary>swaks' exit code, transcript and parsed replies.</summary>
public sealed record SwaksResult(int ExitCode, string Transcript, TimeSpan Elapsed, IReadOnlyList<string> Arguments,
    IReadOnlyList<SwaksReply> Replies, DateTime StartedUtc)
{
    /// <summary>Wall-clock time swaks had exited (after QUIT), so after every reply it received.</summary>
    public DateTime FinishedUtc => StartedUtc + Elapsed;

    /// <summary>The reply to the end of data ("."); throws when swaks never sent the final dot.</summary>
    public SwaksReply EndOfData => Replies.LastOrDefault(r => r.Command == ".")
        ?? throw new Xunit.Sdk.XunitException("swaks never got a reply to end-of-data:\n" + Transcript);

    /// <summary>Replies to RCPT, in order (one per recipient).</summary>
    public IReadOnlyList<SwaksReply> Rcpt => Replies.Where(r => r.Command == "RCPT").ToArray();

    /// <summary>True when TLS was negotiated (swaks prints "=== TLS started").</summary>
    public bool TlsStarted => Transcript.Contains("=== TLS started", StringComparison.Ordinal);
}

/// <summary>Runs swaks.</summary>
public static partial class SwaksClient
{
    [GeneratedRegex(@"^(<-|<~|<\*\*|<~\*)\s+(\d{3})([ -])(.*)$")]
    private static partial Regex ReplyLine();

    [GeneratedRegex(@"^\s?(->|~>|\*\*>) (.*)$")]
    private static partial Regex SentLine();

    [GeneratedRegex(@"^=== response in ([0-9.]+)s")]
    private static partial Regex Lapse();

    /// <summary>Runs swaks with a hard deadline of the per-command timeout plus 30 s.</summary>
    public static async Task<SwaksResult> RunAsync(SwaksRequest request)
    {
        var args = request.Arguments();
        var result = await CommandRunner.RunAsync("/usr/bin/swaks", args, TimeSpan.FromSeconds(request.TimeoutSeconds + 30));
        return new SwaksResult(result.ExitCode, result.Output, result.Elapsed, args, Parse(result.Output), result.StartedUtc);
    }

    /// <summary>Pairs each reply with the command it answers.</summary>
    public static IReadOnlyList<SwaksReply> Parse(string transcript)
    {
        var replies = new List<SwaksReply>();
        var command = "GREETING";
        var inData = false;
        double? lapse = null;
        var text = new List<string>();
        foreach (var line in transcript.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            var l = Lapse().Match(line);
            if (l.Success)
            {
                lapse = double.Parse(l.Groups[1].Value, CultureInfo.InvariantCulture);
                continue;
            }
            var sent = SentLine().Match(line);
            if (sent.Success)
            {
                var payload = sent.Groups[2].Value;
                if (inData)
                {
                    if (payload == ".")
                    {
                        inData = false;
                        command = ".";
                    }
                    continue;
                }
                command = payload.Split(' ', ':')[0].ToUpperInvariant();
                continue;
            }
            var reply = ReplyLine().Match(line);
            if (!reply.Success)
            {
                continue;
            }
            text.Add(line);
            if (reply.Groups[3].Value == "-")
            {
                continue; // more lines of a multi-line reply follow
            }
            var code = int.Parse(reply.Groups[2].Value, CultureInfo.InvariantCulture);
            replies.Add(new SwaksReply(command, code, string.Join('\n', text), lapse));
            text.Clear();
            lapse = null;
            if (command == "DATA" && code == 354)
            {
                inData = true;
            }
        }
        return replies;
    }
}
