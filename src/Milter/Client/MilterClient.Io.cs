// MilterClient.Io: flushing written packets and reading one framed reply packet, each under its own
// deadline (Postfix sets a VSTREAM timeout per read/write: command timeout or content timeout).
// The deadline runs on the options' TimeProvider so tests can fake time. This is the only place that
// calls PipeReader.AdvanceTo.
using System.IO.Pipelines;
using System.Net.Sockets;
using Mta.Milter.Protocol;

namespace Mta.Milter;

public sealed partial class MilterClient
{
    /// <summary>Flushes everything written to the output within <paramref name="timeout"/>.</summary>
    private async ValueTask SendAsync(byte evt, TimeSpan timeout, CancellationToken ct)
    {
        var output = _transport?.Output ?? throw Fail("milter connection is closed");
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        try
        {
            var result = await output.FlushAsync(deadline.Token).ConfigureAwait(false);
            if (result.IsCompleted) throw Fail($"error writing {MilterCommand.Name(evt)}: connection closed by milter");
        }
        catch (OperationCanceledException) when (deadline.TimedOut && !ct.IsCancellationRequested)
        {
            throw Fail($"timeout writing {MilterCommand.Name(evt)} after {timeout.TotalSeconds}s", MilterFailureKind.Timeout);
        }
        catch (OperationCanceledException)
        {
            CloseTransport();
            _state = MilterSessionState.Error;
            throw;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            throw Fail($"error writing {MilterCommand.Name(evt)}: {e.Message}", MilterFailureKind.Communication, e);
        }
    }

    /// <summary>Reads one whole packet within <paramref name="timeout"/> (a fresh deadline per call).</summary>
    private async ValueTask<MilterPacket> ReadPacketAsync(byte evt, TimeSpan timeout, CancellationToken ct)
    {
        var input = _transport?.Input ?? throw Fail("milter connection is closed");
        using var deadline = new Deadline(timeout, _options.TimeProvider, ct);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.TimedOut && !ct.IsCancellationRequested)
            {
                throw Fail($"timeout reading {MilterCommand.Name(evt)} reply after {timeout.TotalSeconds}s", MilterFailureKind.Timeout);
            }
            catch (OperationCanceledException)
            {
                CloseTransport();
                _state = MilterSessionState.Error;
                throw;
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                throw Fail($"can't read {MilterCommand.Name(evt)} reply packet: {e.Message}", MilterFailureKind.Communication, e);
            }

            var buffer = result.Buffer;
            bool framed;
            MilterPacket packet;
            string? error = null;
            try
            {
                framed = MilterPacketReader.TryRead(ref buffer, _options.MaxInboundPacketLength, out packet);
            }
            catch (MilterProtocolException e)
            {
                framed = false;
                packet = default;
                error = e.Message;
            }
            if (framed) input.AdvanceTo(buffer.Start);
            else input.AdvanceTo(buffer.Start, buffer.End);

            if (error is not null) throw Fail(error);
            if (framed) return packet;
            if (result.IsCompleted || result.IsCanceled)
                throw Fail(buffer.Length < MilterPacketReader.LengthFieldSize
                    ? $"can't read {MilterCommand.Name(evt)} reply packet header: EOF"
                    : $"EOF while reading {MilterCommand.Name(evt)} reply packet");
        }
    }

    /// <summary>A per-operation timeout on the injected clock, linked with the caller's token.</summary>
    private sealed class Deadline : IDisposable
    {
        private readonly CancellationTokenSource _timeout;
        private readonly CancellationTokenSource? _linked;

        public Deadline(TimeSpan timeout, TimeProvider time, CancellationToken caller)
        {
            _timeout = new CancellationTokenSource(timeout, time);
            if (caller.CanBeCanceled) _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, _timeout.Token);
            Token = _linked?.Token ?? _timeout.Token;
        }

        public CancellationToken Token { get; }
        public bool TimedOut => _timeout.IsCancellationRequested;

        public void Dispose()
        {
            _linked?.Dispose();
            _timeout.Dispose();
        }
    }
}
