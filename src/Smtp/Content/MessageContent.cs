// MessageContent: what is delivered — header lines the MTA prepends (Received:, later milter and
// DKIM headers) in front of the received bytes. Immutable once built.
namespace Mta.Smtp.Content;

/// <summary>
/// A message ready to deliver: <see cref="Prefix"/> (complete header lines, CRLF-terminated, prepended
/// by the MTA) followed by the bytes of <see cref="Body"/> (the message as received: headers, blank
/// line, body; CRLF line endings; not dot-stuffed).
/// </summary>
public sealed class MessageContent
{
    /// <summary>Creates content from prepended header bytes and the received bytes.</summary>
    public MessageContent(ReadOnlyMemory<byte> prefix, MessageSpool body)
    {
        Prefix = prefix;
        Body = body;
    }

    /// <summary>Header lines prepended by the MTA (CRLF-terminated); may be empty.</summary>
    public ReadOnlyMemory<byte> Prefix { get; }
    /// <summary>The received message bytes.</summary>
    public MessageSpool Body { get; }
    /// <summary>Total length in bytes (prefix + body).</summary>
    public long Length => Prefix.Length + Body.Length;

    /// <summary>A new read stream over prefix then body; each call is independent.</summary>
    public Stream OpenRead() => new PrefixedStream(Prefix, Body.OpenRead());

    /// <summary>A copy with more header bytes in front of the current prefix.</summary>
    public MessageContent WithPrepended(ReadOnlySpan<byte> headerLines)
    {
        var p = new byte[headerLines.Length + Prefix.Length];
        headerLines.CopyTo(p);
        Prefix.Span.CopyTo(p.AsSpan(headerLines.Length));
        return new MessageContent(p, Body);
    }

    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private int _prefixPos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => prefix.Length + inner.Length;
        public override long Position { get => _prefixPos + (_prefixPos == prefix.Length ? inner.Position : 0); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer)
        {
            if (_prefixPos < prefix.Length)
            {
                int n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
                prefix.Span.Slice(_prefixPos, n).CopyTo(buffer);
                _prefixPos += n;
                return n;
            }
            return inner.Read(buffer);
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_prefixPos < prefix.Length) return Read(buffer.Span);
            return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }
}
