// MessageAuthentication: DKIM at end-of-message. For mail from outside mynetworks: remove
// Authentication-Results headers that claim our authserv-id (RFC 8601 5), verify DKIM signatures
// (RFC 6376 6) and add our Authentication-Results. For mail from mynetworks leaving through a non-local
// next hop: sign with the key of the From: domain (or envelope sender domain) when it is ours
// (RFC 6376 5; RFC 8463 for Ed25519) — after milter edits, before delivery or queueing.
using Microsoft.Extensions.Logging;
using Mta.Dkim;
using Mta.Milters;
using Mta.Smtp.Content;

namespace Mta.Authentication;

/// <summary>DKIM verification and signing for the pre-queue pipeline.</summary>
public sealed class MessageAuthentication
{
    private readonly DkimOptions _options;
    private readonly DkimSigner? _signer;
    private readonly DkimVerifier? _verifier;
    private readonly ILogger _log;

    /// <param name="options">dkim_* parameters and authserv_id.</param>
    /// <param name="signer">null when dkim_signing_keys is empty.</param>
    /// <param name="verifier">null when dkim_verify = no.</param>
    /// <param name="log">the cleanup log.</param>
    public MessageAuthentication(DkimOptions options, DkimSigner? signer, DkimVerifier? verifier, ILogger log)
    {
        _options = options;
        _signer = signer;
        _verifier = verifier;
        _log = log;
    }

    /// <summary>Builds the signer from <c>dkim_signing_keys</c> (null when empty).</summary>
    /// <exception cref="FormatException">a malformed entry.</exception>
    /// <exception cref="DkimKeyException">a key file that cannot be used (names the file).</exception>
    public static DkimSigner? CreateSigner(DkimOptions options, TimeProvider time) =>
        options.SigningKeys.Count == 0 ? null : new DkimSigner(DkimSigningPolicy.Load(string.Join(", ", options.SigningKeys)), time);

    /// <summary>
    /// For an untrusted client: drops forged Authentication-Results claiming our authserv-id and prepends
    /// our own with the DKIM results. Returns the (possibly rebuilt) content.
    /// </summary>
    public async Task<MessageContent> VerifyAsync(string queueId, MessageContent content, CancellationToken ct)
    {
        if (_verifier is null) return content;
        var block = HeaderBlock.Read(content);
        var forged = block.Headers.Where(h => !h.HiddenFromMilters && h.Name.Trim().Equals("Authentication-Results", StringComparison.OrdinalIgnoreCase)
            && AuthenticationResults.ClaimsAuthservId(h.Value, _options.AuthservId)).ToList();
        if (forged.Count > 0)
        {
            _log.LogInformation("{QueueId}: removed {Count} Authentication-Results header(s) claiming authserv-id {Id}", queueId, forged.Count, _options.AuthservId);
            content = new MessageContent(block.Write(block.Headers.Where(h => !forged.Contains(h)).ToList()), content.Body, block.BodyOffset);
        }
        byte[] bytes;
        await using (var s = content.OpenRead())
        {
            var ms = new MemoryStream((int)Math.Min(content.Length, int.MaxValue));
            await s.CopyToAsync(ms, ct).ConfigureAwait(false);
            bytes = ms.ToArray();
        }
        var results = await _verifier.VerifyAsync(bytes, ct).ConfigureAwait(false);
        var header = AuthenticationResults.Build(_options.AuthservId, results);
        foreach (var r in results) _log.LogInformation("{QueueId}: DKIM-Signature d={Domain} s={Selector}: {Result} {Reason}", queueId, r.Domain, r.Selector, r.Result, r.Reason);
        return InsertBelowFirstHeader(content, System.Text.Encoding.UTF8.GetBytes(header));
    }

    /// <summary>
    /// For a trusted client whose message leaves through a non-local next hop: adds DKIM-Signature headers
    /// when the From: (or envelope sender) domain has a key. Returns the content with the signatures on top.
    /// </summary>
    public async Task<MessageContent> SignAsync(string queueId, MessageContent content, string envelopeSender, CancellationToken ct)
    {
        if (_signer is null) return content;
        DkimSignResult result;
        await using (var s = content.OpenRead())
            result = await _signer.SignAsync(s, envelopeSender, ct).ConfigureAwait(false);
        switch (result.Outcome)
        {
            case DkimSignOutcome.Signed:
                _log.LogInformation("{QueueId}: DKIM-Signature field added (d={Domain}, {Count} signature(s))", queueId, result.Domain, result.Signatures.Count);
                return content.WithPrepended(result.HeaderBytes.Span);
            case DkimSignOutcome.Failed:
                _log.LogWarning("{QueueId}: DKIM signing failed: {Reason}", queueId, result.Reason);
                return content;
            default:
                return content;
        }
    }

    /// <summary>Puts a header right below our Received: (the first prefix header), where verifiers expect trace-adjacent results.</summary>
    private static MessageContent InsertBelowFirstHeader(MessageContent content, byte[] header)
    {
        var prefix = content.Prefix.Span;
        int end = FirstHeaderEnd(prefix);
        var p = new byte[prefix.Length + header.Length];
        prefix[..end].CopyTo(p);
        header.CopyTo(p.AsSpan(end));
        prefix[end..].CopyTo(p.AsSpan(end + header.Length));
        return new MessageContent(p, content.Body, content.BodyOffset);
    }

    private static int FirstHeaderEnd(ReadOnlySpan<byte> prefix)
    {
        int pos = 0;
        while (pos < prefix.Length)
        {
            int lf = prefix[pos..].IndexOf((byte)'\n');
            if (lf < 0) return prefix.Length;
            pos += lf + 1;
            if (pos >= prefix.Length || (prefix[pos] != ' ' && prefix[pos] != '\t')) return pos;
        }
        return prefix.Length;
    }
}
