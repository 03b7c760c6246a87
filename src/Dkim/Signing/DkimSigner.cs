// DkimSigner: signs an outgoing message for the domain chosen by DkimSigningPolicy with every key configured
// for it (RSA-SHA256, RFC 6376 3.3; Ed25519-SHA256, RFC 8463 3), relaxed/relaxed canonicalization
// (RFC 6376 3.4.2, 3.4.4), t= set, no l= and no x=, signing the RFC 6376 5.4.1 header set that is present
// with From over-signed (listed once more than it occurs, RFC 6376 8.15), and returns the header fields to
// prepend so that every other byte of the message stays as it was.
//
// MimeKit does the signing. Its signer works on a parsed MimeMessage and hashes the body by writing it back
// out, so we parse with MIME nesting disabled (the body is one opaque leaf whose bytes MimeKit copies
// through unchanged) and then check the result: the bh= MimeKit computed must equal our own relaxed body
// hash of the original bytes (RelaxedBodyHash). A mismatch is reported as Failed rather than sending a
// signature that would not verify.
using System.Security.Cryptography;
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using MimeDkimSigner = MimeKit.Cryptography.DkimSigner;

namespace Mta.Dkim;

/// <summary>
/// Signs messages for the host. Thread-safe; create one per <see cref="DkimSigningPolicy"/> and share it.
/// <para>Call after milter modifications and before delivery or queueing, for mail leaving through a
/// non-local next hop; prepend <see cref="DkimSignResult.HeaderBytes"/> to the message bytes.</para>
/// </summary>
public sealed class DkimSigner
{
    /// <summary>
    /// Header fields signed when present, in this order (RFC 6376 5.4.1). From is always signed, one more time than it
    /// occurs (over-signing), so that a From: added later breaks the signature.
    /// </summary>
    public static IReadOnlyList<string> SignedHeaderFields { get; } =
    [
        "From", "Reply-To", "Subject", "Date", "To", "Cc",
        "Resent-Date", "Resent-From", "Resent-To", "Resent-Cc",
        "In-Reply-To", "References",
        "List-Id", "List-Help", "List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner", "List-Archive",
    ];

    private readonly DkimSigningPolicy _policy;
    private readonly TimeProvider _time;

    /// <summary>Creates a signer.</summary>
    /// <param name="policy">Domains and keys.</param>
    /// <param name="timeProvider">Clock for the <c>t=</c> tag (seconds since the Unix epoch); <see cref="TimeProvider.System"/> when null.</param>
    public DkimSigner(DkimSigningPolicy policy, TimeProvider? timeProvider = null)
    {
        _policy = policy ?? throw new ArgumentNullException(nameof(policy));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The policy this signer uses.</summary>
    public DkimSigningPolicy Policy => _policy;

    /// <summary>
    /// Signs <paramref name="message"/> if its From: domain (else its envelope sender's domain) is ours.
    /// </summary>
    /// <param name="message">
    /// The complete message exactly as it will be delivered: header fields, empty line, body, CRLF line ends, no SMTP
    /// dot-stuffing and no trailing "." line.
    /// </param>
    /// <param name="envelopeSender">The MAIL FROM address (<c>local@domain</c>); null or empty for the null sender <c>&lt;&gt;</c>.</param>
    /// <returns>The outcome; when Signed, the bytes to prepend. Never throws for bad message content.</returns>
    public DkimSignResult Sign(ReadOnlyMemory<byte> message, string? envelopeSender)
    {
        var raw = RawHeaderBlock.Parse(message.Span);
        MimeMessage parsed;
        try
        {
            parsed = Parse(message);
        }
        catch (FormatException e)
        {
            return new DkimSignResult { Outcome = DkimSignOutcome.Failed, Reason = $"message cannot be parsed: {e.Message}" };
        }

        var domain = _policy.ChooseDomain(parsed.From.Mailboxes.Select(m => m.Domain), envelopeSender);
        if (domain is null)
        {
            var from = string.Join(",", parsed.From.Mailboxes.Select(m => m.Domain));
            return new DkimSignResult
            {
                Outcome = DkimSignOutcome.NotOurDomain,
                Reason = $"neither From: domain ({(from.Length == 0 ? "none" : from)}) nor envelope sender ({(string.IsNullOrEmpty(envelopeSender) ? "<>" : envelopeSender)}) is a signing domain",
            };
        }

        var fields = HeaderList(raw);
        var expectedBh = Convert.ToBase64String(RelaxedBodyHash.Compute(message.Span[raw.BodyOffset..]));
        var produced = new List<DkimProducedSignature>();
        var bytes = new List<byte>();
        foreach (var id in _policy.IdentitiesFor(domain))
        {
            string field;
            try
            {
                field = SignOne(parsed, id, fields);
            }
            catch (Exception e) when (e is CryptographicException or CryptoException or InvalidOperationException or ArgumentException)
            {
                return Failed(domain, $"signing with {id.Selector} ({id.Key.Algorithm.KeyType()}) failed: {e.Message}");
            }
            var bh = BodyHashOf(field);
            if (bh != expectedBh)
                return Failed(domain, $"MimeKit's body hash {bh} differs from the hash of the message bytes {expectedBh}; not signed");
            produced.Add(new DkimProducedSignature(id.Selector, id.Key.Algorithm, field));
            bytes.AddRange(Encoding.ASCII.GetBytes(field));
        }
        return new DkimSignResult
        {
            Outcome = DkimSignOutcome.Signed,
            Domain = domain,
            Signatures = produced,
            HeaderBytes = bytes.ToArray(),
        };
    }

    /// <summary>Reads <paramref name="message"/> to its end and signs it (<see cref="Sign(ReadOnlyMemory{byte}, string?)"/>).</summary>
    /// <exception cref="IOException">Reading the stream failed.</exception>
    public async Task<DkimSignResult> SignAsync(Stream message, string? envelopeSender, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var buffer = new MemoryStream();
        await message.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Sign(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), envelopeSender);
    }

    /// <summary>Parses with MIME nesting disabled so the body stays one opaque leaf (see the file header).</summary>
    internal static MimeMessage Parse(ReadOnlyMemory<byte> message)
    {
        var options = ParserOptions.Default.Clone();
        options.MaxMimeDepth = 0;
        using var stream = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(message, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(message.ToArray(), writable: false);
        return MimeMessage.Load(options, stream, persistent: false);
    }

    /// <summary>The <c>h=</c> list: each RFC 6376 5.4.1 field as many times as it occurs, From once more.</summary>
    internal static List<string> HeaderList(RawHeaderBlock raw)
    {
        var list = new List<string>();
        foreach (var name in SignedHeaderFields)
        {
            int n = raw.Count(name);
            if (name == "From")
                n++;
            for (int i = 0; i < n; i++)
                list.Add(name);
        }
        return list;
    }

    private string SignOne(MimeMessage message, DkimSigningIdentity id, List<string> fields)
    {
        var signer = new HostSigner(id, _time)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        signer.Sign(message, fields);
        var header = message.Headers[0];
        if (header.Id != HeaderId.DkimSignature)
            throw new InvalidOperationException("MimeKit did not insert a DKIM-Signature header");
        message.Headers.RemoveAt(0);
        var value = Encoding.ASCII.GetString(header.RawValue).Replace("\r\n", "\n").Replace("\n", "\r\n");
        if (!value.EndsWith("\r\n", StringComparison.Ordinal))
            value += "\r\n";
        return "DKIM-Signature:" + value;
    }

    private static string BodyHashOf(string field)
    {
        var value = field["DKIM-Signature:".Length..];
        var tags = TagList.TryParse(value, out _);
        return TagList.StripWhitespace(tags?["bh"] ?? "");
    }

    private static DkimSignResult Failed(string domain, string reason) =>
        new() { Outcome = DkimSignOutcome.Failed, Domain = domain, Reason = reason };

    /// <summary>MimeKit's signer with our clock and, for RSA, the System.Security.Cryptography signing path.</summary>
    private sealed class HostSigner : MimeDkimSigner
    {
        private readonly DkimKey _key;
        private readonly TimeProvider _time;

        public HostSigner(DkimSigningIdentity id, TimeProvider time)
            : base(id.Key.PrivateKey, id.Domain, id.Selector,
                id.Key.Algorithm == DkimKeyAlgorithm.Rsa ? DkimSignatureAlgorithm.RsaSha256 : DkimSignatureAlgorithm.Ed25519Sha256)
        {
            _key = id.Key;
            _time = time;
        }

        protected override long GetTimestamp() => _time.GetUtcNow().ToUnixTimeSeconds();

        protected override ISigner CreateSigningContext() =>
            _key.Algorithm == DkimKeyAlgorithm.Rsa ? new RsaSha256Signer(_key) : base.CreateSigningContext();
    }

    /// <summary>A BouncyCastle <see cref="ISigner"/> that hashes with SHA-256 and signs with the OS's RSA (PKCS#1 v1.5).</summary>
    private sealed class RsaSha256Signer(DkimKey key) : ISigner
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public string AlgorithmName => "SHA256withRSA";

        public void Init(bool forSigning, ICipherParameters parameters) { }

        public void Update(byte input) => _hash.AppendData([input]);

        public void BlockUpdate(byte[] input, int inOff, int inLen) => _hash.AppendData(input, inOff, inLen);

        public void BlockUpdate(ReadOnlySpan<byte> input) => _hash.AppendData(input);

        public int GetMaxSignatureSize() => (key.KeySizeBits + 7) / 8;

        public byte[] GenerateSignature() => key.RsaSignSha256Digest(_hash.GetHashAndReset());

        public bool VerifySignature(byte[] signature) => throw new NotSupportedException();

        public void Reset() => _hash.GetHashAndReset();
    }
}
