// DkimVerifier: checks every DKIM-Signature field of an inbound message (RFC 6376 6.1: 6.1.1 validate the
// field, 6.1.2 get the key, 6.1.3 compute and compare the hashes) and classifies the outcome for
// Authentication-Results (RFC 8601 2.7.1). rsa-sha1 is not accepted and RSA keys under 1024 bits fail
// (RFC 8301 3.1, 3.2); ed25519-sha256 is supported (RFC 8463). The cryptography is MimeKit's; the field
// checks, key record checks and result classification are ours so that each result carries a reason.
using System.Text;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using MimeDkimVerifier = MimeKit.Cryptography.DkimVerifier;

namespace Mta.Dkim;

/// <summary>Verifies the DKIM signatures of a message. Thread-safe; share one instance.</summary>
public sealed class DkimVerifier
{
    /// <summary>Smallest RSA key a signature may verify with, in bits (RFC 8301 3.2).</summary>
    public const int MinimumRsaBits = 1024;

    private static readonly string[] RequiredTags = ["v", "a", "b", "bh", "d", "h", "s"];

    private readonly IDkimKeyLocator _locator;
    private readonly TimeProvider _time;

    /// <summary>Creates a verifier.</summary>
    /// <param name="locator">Where key records come from, e.g. <see cref="DnsDkimKeyLocator"/>.</param>
    /// <param name="timeProvider">Clock for the <c>x=</c> expiry check; <see cref="TimeProvider.System"/> when null.</param>
    public DkimVerifier(IDkimKeyLocator locator, TimeProvider? timeProvider = null)
    {
        _locator = locator ?? throw new ArgumentNullException(nameof(locator));
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Most signatures checked per message (RFC 6376 6.1 allows a limit); later ones are ignored. Default 10.</summary>
    public int MaxSignatures { get; init; } = 10;

    /// <summary>
    /// Verifies every DKIM-Signature field of <paramref name="message"/>, top to bottom.
    /// </summary>
    /// <param name="message">The complete message as received (header, empty line, body; CRLF line ends).</param>
    /// <param name="cancellationToken">Cancels key lookups.</param>
    /// <returns>One result per signature (empty when the message is unsigned). DNS and format problems become results, not exceptions.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<IReadOnlyList<DkimVerificationResult>> VerifyAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        MimeMessage parsed;
        try
        {
            parsed = DkimSigner.Parse(message);
        }
        catch (FormatException e)
        {
            return [new DkimVerificationResult(DkimResult.Neutral, null, null, null, null, null, $"message cannot be parsed: {e.Message}")];
        }
        var results = new List<DkimVerificationResult>();
        foreach (var header in parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(MaxSignatures).ToList())
            results.Add(await VerifyOneAsync(parsed, header, cancellationToken).ConfigureAwait(false));
        return results;
    }

    private async Task<DkimVerificationResult> VerifyOneAsync(MimeMessage message, Header header, CancellationToken cancellationToken)
    {
        var value = Encoding.Latin1.GetString(header.RawValue);
        var tags = TagList.TryParse(value, out var syntaxError);
        if (tags is null)
            return new DkimVerificationResult(DkimResult.Neutral, null, null, null, null, null, $"signature syntax: {syntaxError}");

        var d = tags["d"];
        var s = tags["s"];
        var a = tags["a"];
        var b = tags["b"] is { } bv ? TagList.StripWhitespace(bv) : null;
        var i = tags["i"] ?? (d is null ? null : "@" + d);
        var prefix = b is null ? null : b[..Math.Min(8, b.Length)];
        DkimVerificationResult Result(DkimResult r, string? reason) => new(r, d, s, a, i, prefix, reason);

        if (RequiredTags.FirstOrDefault(t => tags[t] is null) is { } missing)
            return Result(DkimResult.Neutral, $"signature has no {missing}= tag");
        if (tags["v"] != "1")
            return Result(DkimResult.Neutral, $"unsupported signature version v={tags["v"]}");
        if (a == "rsa-sha1")
            return Result(DkimResult.Neutral, "rsa-sha1 signatures are not accepted (RFC 8301 3.1)");
        if (a is not ("rsa-sha256" or "ed25519-sha256"))
            return Result(DkimResult.Neutral, $"unsupported algorithm a={a}");
        if (!tags["h"]!.Split(':').Any(f => f.Trim().Equals("from", StringComparison.OrdinalIgnoreCase)))
            return Result(DkimResult.Neutral, "From is not signed");
        if (tags["i"] is { } auid)
        {
            int at = auid.LastIndexOf('@');
            var idDomain = at < 0 ? null : auid[(at + 1)..];
            if (idDomain is null || !(idDomain.Equals(d, StringComparison.OrdinalIgnoreCase) || idDomain.EndsWith("." + d, StringComparison.OrdinalIgnoreCase)))
                return Result(DkimResult.Neutral, "i= is not within d=");
        }
        if (tags["x"] is { } x)
        {
            if (!long.TryParse(x, out var expires))
                return Result(DkimResult.Neutral, "x= is not a number");
            if (expires < _time.GetUtcNow().ToUnixTimeSeconds())
                return Result(DkimResult.Fail, "signature expired");
        }

        var lookup = await _locator.LookupAsync(d!, s!, cancellationToken).ConfigureAwait(false);
        switch (lookup.Status)
        {
            case DkimKeyLookupStatus.NotFound:
                return Result(DkimResult.PermError, $"no key for signature ({lookup.Error})");
            case DkimKeyLookupStatus.TempError:
                return Result(DkimResult.TempError, $"key unavailable ({lookup.Error})");
        }
        if (!DkimKeyRecord.TryParse(lookup.RecordText!, out var record, out var recordError))
            return Result(DkimResult.PermError, recordError);
        if (!record!.TryGetKeyFor(a, out var key, out var keyError))
            return Result(DkimResult.PermError, keyError);
        if (record.Flags.Contains("s") && tags["i"] is { } strictI && !strictI[(strictI.LastIndexOf('@') + 1)..].Equals(d, StringComparison.OrdinalIgnoreCase))
            return Result(DkimResult.PermError, "key record t=s requires i= to be in d= itself");
        if (key is RsaKeyParameters rsa && rsa.Modulus.BitLength < MinimumRsaBits)
            return Result(DkimResult.Fail, $"RSA key has {rsa.Modulus.BitLength} bits, fewer than {MinimumRsaBits} (RFC 8301 3.2)");

        var single = new SingleKeyLocator(key!);
        var verifier = new MimeDkimVerifier(single) { MinimumRsaKeyLength = MinimumRsaBits };
        bool ok;
        try
        {
            ok = await verifier.VerifyAsync(message, header, cancellationToken).ConfigureAwait(false);
        }
        catch (FormatException e)
        {
            return Result(DkimResult.Neutral, $"signature syntax: {e.Message}");
        }
        catch (Exception e) when (e is ArgumentException or CryptoException)
        {
            return Result(DkimResult.Neutral, $"signature cannot be processed: {e.Message}");
        }
        if (ok)
            return Result(DkimResult.Pass, null);
        // MimeKit checks the body hash before it asks for the key: no key request means the body hash failed.
        return Result(DkimResult.Fail, single.Asked ? "signature did not verify" : "body hash did not verify");
    }

    /// <summary>Hands MimeKit the key we already fetched and checked, and records whether MimeKit asked for it.</summary>
    private sealed class SingleKeyLocator(AsymmetricKeyParameter key) : IDkimPublicKeyLocator
    {
        public bool Asked { get; private set; }

        public AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            Asked = true;
            return key;
        }

        public Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
        {
            Asked = true;
            return Task.FromResult(key);
        }
    }
}
