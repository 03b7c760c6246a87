// BatchedLogWriter: the one writer of log lines to an output stream (stdout). Loggers append complete
// lines to a pending buffer; one background thread takes everything pending and writes it with one
// write(2), then waits log_flush_interval before looking again, so a busy server pays one system call
// per batch instead of one per line (Microsoft.Extensions.Logging.Console writes every line on its own).
// Bounded: past log_buffer_limit bytes pending, loggers wait for the writer (nothing is dropped).
using System.Text;

namespace Mta.Logging;

/// <summary>Writes UTF-8 log lines to a stream in batches from one background thread.</summary>
public sealed class BatchedLogWriter : IDisposable
{
    private readonly Stream _output;
    private readonly TimeSpan _flushInterval;
    private readonly int _bufferLimit;
    private readonly object _gate = new();
    private readonly Thread _thread;
    private MemoryStream _pending = new();
    private MemoryStream _writing = new();
    private bool _stopping;
    private bool _writerWaiting;

    /// <param name="output">where lines go (stdout in the daemon); written from the writer thread only.</param>
    /// <param name="flushInterval">the pause after each write before the next batch is taken (batching window);
    /// a line waits at most this long plus one write.</param>
    /// <param name="bufferLimit">bytes pending at most; a logger that would go past it waits for the writer.</param>
    public BatchedLogWriter(Stream output, TimeSpan flushInterval, int bufferLimit = 1 << 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferLimit, 1);
        _output = output;
        _flushInterval = flushInterval;
        _bufferLimit = bufferLimit;
        _thread = new Thread(Run) { IsBackground = true, Name = "log writer" };
        _thread.Start();
    }

    /// <summary>Queues one complete line (the caller includes the "\n"). Never drops: waits while the buffer is full.</summary>
    public void Enqueue(StringBuilder line)
    {
        int max = Encoding.UTF8.GetMaxByteCount(line.Length);
        byte[]? rented = null;
        Span<byte> bytes = max <= 1024 ? stackalloc byte[max] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        int n = 0;
        foreach (var chunk in line.GetChunks()) n += Encoding.UTF8.GetBytes(chunk.Span, bytes[n..]);
        lock (_gate)
        {
            while (_pending.Length > 0 && _pending.Length + n > _bufferLimit && !_stopping) Monitor.Wait(_gate);
            _pending.Write(bytes[..n]);
            if (_writerWaiting) Monitor.PulseAll(_gate);
        }
        if (rented != null) System.Buffers.ArrayPool<byte>.Shared.Return(rented);
    }

    private void Run()
    {
        while (true)
        {
            bool stop;
            lock (_gate)
            {
                while (_pending.Length == 0 && !_stopping)
                {
                    _writerWaiting = true;
                    Monitor.Wait(_gate);
                    _writerWaiting = false;
                }
                (_pending, _writing) = (_writing, _pending);
                stop = _stopping && _writing.Length == 0;
                Monitor.PulseAll(_gate); // loggers waiting on a full buffer
            }
            if (stop) return;
            try
            {
                _output.Write(_writing.GetBuffer(), 0, (int)_writing.Length);
                _output.Flush();
            }
            catch (IOException) { } // stdout gone (closed pipe): nothing else to tell
            catch (ObjectDisposedException) { }
            _writing.SetLength(0);
            if (_writing.Capacity > 4 * _bufferLimit) _writing = new MemoryStream();
            if (_flushInterval > TimeSpan.Zero)
            {
                lock (_gate)
                {
                    if (!_stopping) Monitor.Wait(_gate, _flushInterval);   // Dispose ends the pause early
                }
            }
        }
    }

    /// <summary>Writes what is pending and stops the writer thread.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        _thread.Join();
    }
}
