// ThreadPoolHttpClientFactory: the HTTP clients of the S3 queue. Socket completions run inline on the
// runtime's socket event threads (Program.cs), and AWSSDK parses responses with synchronous reads of the
// response stream; a synchronous read on an event thread waits for that same thread to report the
// socket readable, so the S3 client hung (compat test T30). Every connection here is wrapped so that the
// code after an asynchronous read or write that did not complete at once continues on the thread pool.
using System.Net.Sockets;
using Amazon.Runtime;

namespace Mta.Queue.S3;

/// <summary>Creates the HttpClient AWSSDK uses, with connections that resume callers on the thread pool.</summary>
public sealed class ThreadPoolHttpClientFactory : HttpClientFactory
{
    /// <summary>One HttpClient per SDK client config: connect timeout, request timeout and
    /// connection limit from <paramref name="clientConfig"/> (ConnectTimeout, Timeout, MaxConnectionsPerServer).</summary>
    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        ArgumentNullException.ThrowIfNull(clientConfig);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = clientConfig.AllowAutoRedirect,
            ConnectTimeout = clientConfig.ConnectTimeout ?? TimeSpan.FromSeconds(30),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ConnectCallback = ConnectAsync,
        };
        if (clientConfig.MaxConnectionsPerServer is int max && max > 0) handler.MaxConnectionsPerServer = max;
        return new HttpClient(handler) { Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100) };
    }

    /// <summary>The SDK caches the client (one per config).</summary>
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    /// <summary>Cached clients are not disposed after each request.</summary>
    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new ThreadPoolResumingStream(new NetworkStream(socket, ownsSocket: true));
    }

    /// <summary>A stream whose asynchronous reads and writes that had to wait return on a thread-pool thread.</summary>
    private sealed class ThreadPoolResumingStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => inner.CanWrite;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = inner.ReadAsync(buffer, cancellationToken);
            return read.IsCompleted ? read : ResumeOnPool(read);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var write = inner.WriteAsync(buffer, cancellationToken);
            return write.IsCompleted ? write : ResumeOnPool(write);
        }

        private static async ValueTask<int> ResumeOnPool(ValueTask<int> pending)
        {
            int n = await pending.ConfigureAwait(false);
            await Task.Yield();
            return n;
        }

        private static async ValueTask ResumeOnPool(ValueTask pending)
        {
            await pending.ConfigureAwait(false);
            await Task.Yield();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
