// The daemon's log output: Postfix maillog line shape, batched writes, nothing lost on a slow or full output.
using System.Text;
using Microsoft.Extensions.Logging;
using Mta.Logging;

namespace Mta.Tests.Logging;

public class PostfixLoggerProviderTests
{
    private static readonly DateTime Noon = new(2026, 11, 29, 12, 34, 56);

    /// <summary>A stream that records each Write call separately, optionally slowly.</summary>
    private sealed class RecordingStream(TimeSpan writeDelay = default) : Stream
    {
        private readonly List<string> _writes = [];
        public IReadOnlyList<string> Writes { get { lock (_writes) return [.. _writes]; } }
        public string Text { get { lock (_writes) return string.Concat(_writes); } }
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (writeDelay > TimeSpan.Zero) Thread.Sleep(writeDelay);
            lock (_writes) _writes.Add(Encoding.UTF8.GetString(buffer, offset, count));
        }
        public override void Flush() { }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void Lines_have_postfix_shape_with_program_name_and_level_prefix()
    {
        var output = new RecordingStream();
        using (var provider = new PostfixLoggerProvider(output, TimeSpan.Zero, now: () => Noon))
        {
            provider.CreateLogger("Mta.Delivery.SmtpDeliveryAgent").LogInformation("{Id}: to=<{R}>, status=sent", "4F2A", "a@b.test");
            provider.CreateLogger("smtpd").LogWarning("non-ASCII ü");
            provider.CreateLogger("Mta.Queue.QueueRunner").LogError(new InvalidOperationException("x\ny"), "failed");
        }
        var lines = output.Text.Split('\n');
        string tag = $" {Environment.MachineName} mta/";
        Assert.Equal($"Nov 29 12:34:56{tag}smtp[{Environment.ProcessId}]: 4F2A: to=<a@b.test>, status=sent", lines[0]);
        Assert.Equal($"Nov 29 12:34:56{tag}smtpd[{Environment.ProcessId}]: warning: non-ASCII ü", lines[1]);
        Assert.StartsWith($"Nov 29 12:34:56{tag}qmgr[{Environment.ProcessId}]: error: failed: System.InvalidOperationException: x", lines[2]);
        Assert.Equal("\ty", lines[3]);
    }

    [Fact]
    public void Lines_logged_during_one_write_go_out_in_one_batch_in_order()
    {
        var output = new RecordingStream(writeDelay: TimeSpan.FromMilliseconds(200));
        using (var provider = new PostfixLoggerProvider(output, TimeSpan.Zero, now: () => Noon))
        {
            var log = provider.CreateLogger("smtpd");
            log.LogInformation("first");
            Thread.Sleep(50); // the writer is now inside its slow write of "first"
            for (int i = 0; i < 100; i++) log.LogInformation("line {N}", i);
        }
        var writes = output.Writes;
        Assert.True(writes.Count <= 3, $"{writes.Count} writes for 101 lines");
        var lines = output.Text.TrimEnd('\n').Split('\n');
        Assert.Equal(101, lines.Length);
        Assert.EndsWith(": first", lines[0]);
        for (int i = 0; i < 100; i++) Assert.EndsWith($": line {i}", lines[i + 1]);
    }

    [Fact]
    public void A_full_buffer_makes_loggers_wait_and_loses_nothing()
    {
        var output = new RecordingStream(writeDelay: TimeSpan.FromMilliseconds(5));
        const int Threads = 4, PerThread = 300;
        using (var provider = new PostfixLoggerProvider(output, TimeSpan.FromMilliseconds(1), bufferLimit: 512, now: () => Noon))
        {
            Parallel.For(0, Threads, t =>
            {
                var log = provider.CreateLogger("smtpd");
                for (int i = 0; i < PerThread; i++) log.LogInformation("t{T} m{I}", t, i);
            });
        }
        var lines = output.Text.TrimEnd('\n').Split('\n');
        Assert.Equal(Threads * PerThread, lines.Length);
        for (int t = 0; t < Threads; t++)
        {
            var mine = lines.Where(l => l.Contains($": t{t} m", StringComparison.Ordinal)).Select(l => int.Parse(l[(l.LastIndexOf('m') + 1)..])).ToList();
            Assert.Equal(Enumerable.Range(0, PerThread), mine);
        }
        Assert.True(output.Writes.Max(w => w.Length) <= 512 + 200, "a batch went past the buffer limit by more than one line");
    }

    [Fact]
    public void A_line_appears_within_the_flush_interval_without_dispose()
    {
        var output = new RecordingStream();
        using var provider = new PostfixLoggerProvider(output, TimeSpan.FromMilliseconds(10), now: () => Noon);
        provider.CreateLogger("smtpd").LogInformation("connect from x");
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!output.Text.Contains("connect from x", StringComparison.Ordinal) && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Contains("connect from x", output.Text);
    }

    [Fact]
    public void Dispose_writes_what_is_pending_without_waiting_out_a_long_flush_interval()
    {
        var output = new RecordingStream();
        var provider = new PostfixLoggerProvider(output, TimeSpan.FromSeconds(30), now: () => Noon);
        var log = provider.CreateLogger("master");
        log.LogInformation("first");
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!output.Text.Contains("first", StringComparison.Ordinal) && DateTime.UtcNow < deadline) Thread.Sleep(5);
        log.LogInformation("daemon stopped");   // the writer is now in its 30 s pause
        var timer = System.Diagnostics.Stopwatch.StartNew();
        provider.Dispose();
        Assert.True(timer.Elapsed < TimeSpan.FromSeconds(10), $"Dispose took {timer.Elapsed}");
        Assert.EndsWith(": daemon stopped\n", output.Text);
    }

    [Theory]
    [InlineData("Mta.Delivery.MaildirDeliveryAgent", "local")]
    [InlineData("Mta.Bounce.Bouncer", "bounce")]
    [InlineData("Mta.Queue.LocalQueueStore", "qmgr")]
    [InlineData("cleanup", "cleanup")]
    public void Program_names_follow_postfix_daemons(string category, string program) =>
        Assert.Equal(program, PostfixLogFormat.ProgramName(category));
}
