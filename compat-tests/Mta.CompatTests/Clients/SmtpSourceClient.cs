// SmtpSourceClient: owns running Postfix's smtp-source(1) (the Debian package, unmodified) as a
// load-generating SMTP client against a loopback server. smtp-source aborts with a non-zero exit
// when any reply is not the expected positive one (we never pass -A), so exit code 0 means every
// message of every session was accepted. Flags: -s parallel sessions, -m total messages, -d keep
// the connection for the next message, -N number the recipients (1rcpt@.., 2rcpt@..), -F file to
// send, -f/-t envelope, -M HELO name.
using System.Globalization;
using Mta.CompatTests.Infrastructure;

namespace Mta.CompatTests.Clients;

/// <summary>What to ask smtp-source to do.</summary>
public sealed record SmtpSourceRequest
{
    /// <summary>Server port on 127.0.0.1.</summary>
    public required int Port { get; init; }

    /// <summary>Total messages (-m).</summary>
    public int Messages { get; init; } = 1;

    /// <summary>Parallel sessions (-s).</summary>
    public int Sessions { get; init; } = 1;

    /// <summary>Send the next message over the same connection (-d).</summary>
    public bool ReuseConnection { get; init; } = true;

    /// <summary>Prefix a sequence number to the recipient (-N), so every message has its own recipient.</summary>
    public bool NumberRecipients { get; init; } = true;

    /// <summary>Envelope sender (-f).</summary>
    public string From { get; init; } = "source@client.test";

    /// <summary>Envelope recipient (-t).</summary>
    public required string To { get; init; }

    /// <summary>Corpus file sent as header and body (-F); null sends smtp-source's generated message.</summary>
    public string? CorpusMessage { get; init; }

    /// <summary>The command line arguments for smtp-source.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string>
        {
            "-s", Sessions.ToString(CultureInfo.InvariantCulture),
            "-m", Messages.ToString(CultureInfo.InvariantCulture),
            "-f", From, "-t", To, "-M", "client.test",
        };
        if (ReuseConnection) { args.Add("-d"); }
        if (NumberRecipients) { args.Add("-N"); }
        if (CorpusMessage is not null) { args.AddRange(["-F", Corpus.PathOf(CorpusMessage)]); }
        args.Add($"127.0.0.1:{Port}");
        return args;
    }
}

/// <summary>Runs smtp-source.</summary>
public static class SmtpSourceClient
{
    /// <summary>Runs smtp-source with a 120 s deadline.</summary>
    public static Task<CommandResult> RunAsync(SmtpSourceRequest request) =>
        CommandRunner.RunAsync("/usr/sbin/smtp-source", request.Arguments(), TimeSpan.FromSeconds(120));
}
