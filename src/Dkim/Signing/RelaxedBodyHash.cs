// RelaxedBodyHash: the "relaxed" body canonicalization of RFC 6376 3.4.4 hashed with SHA-256 (3.7 step 1),
// computed straight from the bytes that will be delivered. The signer uses it to prove that the body hash
// MimeKit computed from its parsed view equals the hash of the exact bytes on the wire.
using System.Security.Cryptography;

namespace Mta.Dkim;

/// <summary>SHA-256 over the relaxed-canonicalized body (no <c>l=</c> limit).</summary>
internal static class RelaxedBodyHash
{
    /// <summary>
    /// Hashes <paramref name="body"/>: in each line, runs of SP/HTAB become one SP and trailing SP/HTAB are dropped;
    /// trailing empty lines are dropped; a non-empty body ends with CRLF. CRLF and bare LF both end a line.
    /// </summary>
    /// <returns>The 32-byte digest (the value of <c>bh=</c> after base64).</returns>
    public static byte[] Compute(ReadOnlySpan<byte> body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var line = new List<byte>(256);
        int pendingEmptyLines = 0;
        int pos = 0;
        while (pos < body.Length)
        {
            int lf = body[pos..].IndexOf((byte)'\n');
            int end = lf < 0 ? body.Length : pos + lf;
            int contentEnd = lf >= 0 && end > pos && body[end - 1] == (byte)'\r' ? end - 1 : end;
            CanonicalizeLine(body[pos..contentEnd], line);
            pos = lf < 0 ? body.Length : end + 1;
            if (line.Count == 0)
            {
                pendingEmptyLines++;
                continue;
            }
            for (; pendingEmptyLines > 0; pendingEmptyLines--)
                hash.AppendData("\r\n"u8);
            hash.AppendData(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(line));
            hash.AppendData("\r\n"u8);
        }
        return hash.GetHashAndReset();
    }

    private static void CanonicalizeLine(ReadOnlySpan<byte> input, List<byte> output)
    {
        output.Clear();
        bool inWsp = false;
        foreach (var b in input)
        {
            if (b is (byte)' ' or (byte)'\t')
            {
                inWsp = true;
                continue;
            }
            if (inWsp)
            {
                output.Add((byte)' ');
                inWsp = false;
            }
            output.Add(b);
        }
    }
}
