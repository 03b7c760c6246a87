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
    /// <param name="prefix">complete header lines (CRLF-terminated) to put first.</param>
    /// <param name="body">the received bytes.</param>
    /// <param name="bodyOffset">bytes at the start of <paramref name="body"/> to leave out (used when the
    /// header block was rebuilt, e.g. after milter edits, and now lives in <paramref name="prefix"/>).</param>
    public MessageContent(ReadOnlyMemory<byte> prefix, MessageSpool body, long bodyOffset = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyOffset);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bodyOffset, body.Length);
        Prefix = prefix;
        Body = body;
        BodyOffset = bodyOffset;
    }

    /// <summary>Header lines prepended by the MTA (CRLF-terminated); may be empty.</summary>
    public ReadOnlyMemory<byte> Prefix { get; }
    /// <summary>The received message bytes.</summary>
    public MessageSpool Body { get; }
    /// <summary>Bytes of <see cref="Body"/> that are left out (they were replaced by <see cref="Prefix"/>).</summary>
    public long BodyOffset { get; }
    /// <summary>Total length in bytes (prefix + body past the offset).</summary>
    public long Length => Prefix.Length + Body.Length - BodyOffset;

    /// <summary>A new read stream over prefix then body; each call is independent.</summary>
    public Stream OpenRead()
    {
        var inner = Body.OpenRead();
        if (BodyOffset > 0) inner.Seek(BodyOffset, SeekOrigin.Begin);
        return new PrefixedStream(Prefix, inner);
    }

    /// <summary>A copy with more header bytes in front of the current prefix.</summary>
    public MessageContent WithPrepended(ReadOnlySpan<byte> headerLines)
    {
        var p = new byte[headerLines.Length + Prefix.Length];
        headerLines.CopyTo(p);
        Prefix.Span.CopyTo(p.AsSpan(headerLines.Length));
        return new MessageContent(p, Body, BodyOffset);
    }

    private sealed class PrefixedStream(ReadOnlyMemory<byte> prefix, Stream inner) : Stream
    {
        private readonly long _length = prefix.Length + inner.Length - inner.Position;
        private int _prefixPos;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _length;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
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
