// SessionHarness: runs an SmtpServerSession over in-memory pipes (no sockets), with a recording handler
// and a fake clock, and speaks to it as a client would. The STARTTLS switch is simulated by moving to a
// fresh pipe pair, so anything the client pipelined in "plaintext" is provably never executed.
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Smtp.Tests.Server;

internal sealed class TestTransport : ISmtpTransport
{
    public Pipe ClientToServer = new();
    public Pipe ServerToClient = new();
    public bool TlsAvailable = true;
    public int TlsStarts;
    public PipeReader Input => ClientToServer.Reader;
    public PipeWriter Output => ServerToClient.Writer;
    public bool CanStartTls => TlsAvailable && !IsSecure;
    public bool IsSecure { get; private set; }
    public string? TlsDescription => IsSecure ? "TLSv1.3 with cipher TEST" : null;
    public event Action? Switched;

    public ValueTask StartTlsAsync(CancellationToken cancellationToken)
    {
        // The old plaintext input pipe is abandoned with whatever is left in it (the reply direction is kept
        // so the test can read the 220 that preceded the switch).
        ClientToServer = new Pipe();
        IsSecure = true;
        TlsStarts++;
        Switched?.Invoke();
        return ValueTask.CompletedTask;
    }
}

internal sealed class RecordingHandler : ISmtpSessionHandler
{
    public List<string> Calls { get; } = [];
    public List<(SmtpTransaction Tx, byte[] Content)> Messages { get; } = [];
    public Func<SmtpPath, SmtpReply?> Rcpt { get; set; } = _ => null;
    public SmtpReply? Connect { get; set; }
    public Func<SmtpReply> MessageReply { get; set; } = () => new SmtpReply(250, "2.0.0", "Ok: delivered");
    public bool Disconnected { get; private set; }

    public ValueTask<SmtpReply?> OnConnectAsync(SmtpSessionContext s, CancellationToken ct) { Calls.Add("connect"); return new(Connect); }
    public ValueTask<SmtpReply?> OnHeloAsync(SmtpSessionContext s, string helo, CancellationToken ct) { Calls.Add("helo " + helo); return new((SmtpReply?)null); }
    public ValueTask<SmtpReply?> OnMailFromAsync(SmtpSessionContext s, SmtpPath sender, MailParameters p, CancellationToken ct) { Calls.Add("mail " + sender); return new((SmtpReply?)null); }
    public ValueTask<SmtpReply?> OnRcptToAsync(SmtpSessionContext s, SmtpPath r, RecipientParameters p, CancellationToken ct) { Calls.Add("rcpt " + r); return new(Rcpt(r)); }
    public ValueTask<SmtpReply?> OnDataAsync(SmtpSessionContext s, CancellationToken ct) { Calls.Add("data"); return new((SmtpReply?)null); }
    public ValueTask<SmtpReply> OnMessageAsync(SmtpSessionContext s, SmtpTransaction tx, MessageSpool content, CancellationToken ct)
    {
        Messages.Add((tx, content.ToArray()));
        content.Dispose();
        Calls.Add("message");
        return new(MessageReply());
    }
    public Func<string, SmtpReply?> Unknown { get; set; } = _ => null;
    public bool Authorized { get; set; }
    public bool IsAuthorized(SmtpSessionContext s, SmtpVerb verb) => Authorized;
    public ValueTask<SmtpReply?> OnUnknownCommandAsync(SmtpSessionContext s, string line, CancellationToken ct) { Calls.Add("unknown " + line); return new(Unknown(line)); }
    public void OnTransactionAborted(SmtpSessionContext s) => Calls.Add("abort");
    public void OnDisconnected(SmtpSessionContext s) { Calls.Add("disconnect"); Disconnected = true; }
}

internal sealed class SessionHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _shutdown = new();
    private PipeReader _replies;
    private PipeWriter _requests;

    public SessionHarness(SmtpServerOptions? options = null, RecordingHandler? handler = null)
    {
        Handler = handler ?? new RecordingHandler();
        Options = options ?? new SmtpServerOptions { HostName = "mx.test", Banner = "mx.test ESMTP", ErrorSleepTime = TimeSpan.Zero };
        Transport.Switched += () => _requests = Transport.ClientToServer.Writer;
        _replies = Transport.ServerToClient.Reader;
        _requests = Transport.ClientToServer.Writer;
        Session = new SmtpServerSession(Transport, Handler, Options, Context, Time, _shutdown.Token);
        Run = Task.Run(async () => { await Session.RunAsync(); Transport.ServerToClient.Writer.Complete(); });
    }

    public TestTransport Transport { get; } = new();
    public RecordingHandler Handler { get; }
    public SmtpServerOptions Options { get; }
    public SmtpSessionContext Context { get; } = new(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 40000), null);
    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-29T12:00:00Z"));
    public SmtpServerSession Session { get; }
    public Task Run { get; }

    public void Shutdown() => _shutdown.Cancel();

    public async Task SendAsync(string text) => await SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _requests.WriteAsync(bytes);
    }

    public async Task SendByteByByteAsync(string text)
    {
        foreach (var b in Encoding.UTF8.GetBytes(text)) await _requests.WriteAsync(new[] { b });
    }

    public void CloseClient() => _requests.Complete();

    /// <summary>Reads one complete (possibly multi-line) reply; fails after 10 s of real time.</summary>
    public async Task<string> ReplyAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var sb = new StringBuilder();
        while (true)
        {
            var r = await _replies.ReadAsync(cts.Token);
            var buf = r.Buffer;
            var reader = new System.Buffers.SequenceReader<byte>(buf);
            while (reader.TryReadTo(out System.Buffers.ReadOnlySequence<byte> line, "\r\n"u8))
            {
                var s = Encoding.UTF8.GetString(line);
                sb.Append(s).Append("\r\n");
                if (s.Length < 4 || s[3] == ' ')
                {
                    _replies.AdvanceTo(reader.Position);
                    return sb.ToString();
                }
            }
            _replies.AdvanceTo(reader.Position, buf.End);
            if (r.IsCompleted) throw new EndOfStreamException("server closed; partial: " + sb);
        }
    }

    /// <summary>Sends a line and returns the reply.</summary>
    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return await ReplyAsync();
    }

    /// <summary>True when the server closed its side (nothing more will come).</summary>
    public async Task<bool> ServerClosedAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await Run.WaitAsync(cts.Token);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _requests.Complete();
        try { await Run.WaitAsync(TimeSpan.FromSeconds(10)); } catch (TimeoutException) { }
    }
}
