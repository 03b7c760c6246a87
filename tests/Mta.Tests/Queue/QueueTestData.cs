// Test helpers for the queue and bounce tests: message builders, a temp directory, a capturing logger.
using System.Text;
using Microsoft.Extensions.Logging;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Tests.Queue;

internal static class QueueTestData
{
    public static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static MessageContent Content(string text) => Content(Encoding.UTF8.GetBytes(text));

    public static MessageContent Content(byte[] bytes, string? prefix = null)
    {
        var spool = new MessageSpool(1 << 20, Path.GetTempPath());
        spool.Write(bytes);
        return new MessageContent(prefix is null ? ReadOnlyMemory<byte>.Empty : Encoding.ASCII.GetBytes(prefix), spool);
    }

    public const string SampleMessage =
        "From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: hello\r\nMessage-ID: <m1@example.org>\r\n\r\nHi Bob,\r\nline two\r\n";

    public static EnvelopeRecipient Rcpt(string address, DsnNotify notify = DsnNotify.None, string? orcpt = null)
    {
        int at = address.LastIndexOf('@');
        return new EnvelopeRecipient(new SmtpPath(address[..at], address[(at + 1)..]), new RecipientParameters { Notify = notify, OriginalRecipient = orcpt });
    }

    public static SmtpPath Addr(string address)
    {
        if (address.Length == 0) return SmtpPath.Null;
        int at = address.LastIndexOf('@');
        return new SmtpPath(address[..at], address[(at + 1)..]);
    }

    public static QueuedMessage Message(string id, string sender, params EnvelopeRecipient[] rcpts) => Message(id, sender, T0, rcpts);

    public static QueuedMessage Message(string id, string sender, DateTimeOffset arrival, params EnvelopeRecipient[] rcpts) => new()
    {
        Envelope = new MessageEnvelope
        {
            QueueId = id,
            Sender = Addr(sender),
            Recipients = rcpts,
            ArrivalTime = arrival,
            ClientName = "client.example.org",
            ClientAddress = "192.0.2.10",
            HeloName = "client.example.org",
        },
        Recipients = [.. rcpts.Select(r => new QueuedRecipient(r, QueuedRecipientState.Pending))],
        NextAttempt = arrival,
    };
}

/// <summary>A fresh directory under the temp path, removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "mta-queue-tests-" + Guid.NewGuid().ToString("N"));
    public TempDir() => Directory.CreateDirectory(Path);
    public void Dispose() { try { Directory.Delete(Path, recursive: true); } catch (IOException) { } }
}

/// <summary>Collects formatted log lines.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<string> _lines = [];
    public IReadOnlyList<string> Lines { get { lock (_lines) return [.. _lines]; } }
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_lines) _lines.Add(formatter(state, exception));
    }
}
