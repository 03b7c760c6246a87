// TlsaMatcher: DANE TLSA association data and matching against the server's certificate chain.
// RFC 6698 2.1 (fields), 2.1.1 usages, 2.1.2 selectors (0 full certificate DER, 1 SubjectPublicKeyInfo
// DER), 2.1.3 matching types (0 exact, 1 SHA-256, 2 SHA-512), 2.2 presentation format; RFC 7671 5.1
// (DANE-EE(3): the end-entity certificate, names and validity ignored) and 5.2 (DANE-TA(2): a
// certificate of the presented chain above the end entity); RFC 7672 3.1.3: for SMTP, PKIX-TA(0) and
// PKIX-EE(1) records are unusable, as are unknown selectors and matching types (RFC 7671 4.1).
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Mta.Checks;

/// <summary>TLSA matching for SMTP (DANE-EE and DANE-TA only).</summary>
public static class TlsaMatcher
{
    /// <summary>DANE-TA(2): trust anchor assertion (RFC 6698 2.1.1, RFC 7671 5.2).</summary>
    public const byte DaneTa = 2;
    /// <summary>DANE-EE(3): domain-issued certificate (RFC 6698 2.1.1, RFC 7671 5.1).</summary>
    public const byte DaneEe = 3;
    /// <summary>Cert(0): the full certificate's DER (RFC 6698 2.1.2).</summary>
    public const byte SelectorCert = 0;
    /// <summary>SPKI(1): the DER SubjectPublicKeyInfo (RFC 6698 2.1.2).</summary>
    public const byte SelectorSpki = 1;
    /// <summary>Full(0): the selected content itself (RFC 6698 2.1.3).</summary>
    public const byte MatchFull = 0;
    /// <summary>SHA2-256(1) (RFC 6698 2.1.3).</summary>
    public const byte MatchSha256 = 1;
    /// <summary>SHA2-512(2) (RFC 6698 2.1.3).</summary>
    public const byte MatchSha512 = 2;

    /// <summary>
    /// The certificate association data for <paramref name="certificate"/>: selector 0 takes
    /// <see cref="X509Certificate.GetRawCertData"/>, selector 1 the SubjectPublicKeyInfo DER; matching type 0 is that
    /// content, 1 its SHA-256, 2 its SHA-512.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A selector other than 0, 1 or a matching type other than 0, 1, 2.</exception>
    public static byte[] AssociationData(X509Certificate2 certificate, byte selector, byte matchingType)
    {
        byte[] content = selector switch
        {
            SelectorCert => certificate.RawData,
            SelectorSpki => certificate.PublicKey.ExportSubjectPublicKeyInfo(),
            _ => throw new ArgumentOutOfRangeException(nameof(selector), selector, "TLSA selector must be 0 or 1"),
        };
        return matchingType switch
        {
            MatchFull => content,
            MatchSha256 => SHA256.HashData(content),
            MatchSha512 => SHA512.HashData(content),
            _ => throw new ArgumentOutOfRangeException(nameof(matchingType), matchingType, "TLSA matching type must be 0, 1 or 2"),
        };
    }

    /// <summary>True when a record is usable by an SMTP client: usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2
    /// (RFC 7672 3.1.3, RFC 7671 4.1).</summary>
    public static bool IsUsableForSmtp(TlsaData record) =>
        record.Usage is DaneTa or DaneEe && record.Selector is SelectorCert or SelectorSpki &&
        record.MatchingType is MatchFull or MatchSha256 or MatchSha512;

    /// <summary>
    /// True when <paramref name="record"/> is usable for SMTP and matches <paramref name="chain"/> (end entity first, as
    /// the server presents it): usage 3 against <c>chain[0]</c>; usage 2 against any of <c>chain[1..]</c> (the issuer
    /// certificates the server sends; RFC 7671 5.2.2 — the end entity itself is not a trust anchor).
    /// </summary>
    public static bool Matches(TlsaData record, IReadOnlyList<X509Certificate2> chain)
    {
        if (!IsUsableForSmtp(record) || chain.Count == 0) return false;
        IEnumerable<X509Certificate2> candidates = record.Usage == DaneEe ? [chain[0]] : chain.Skip(1);
        return candidates.Any(c => CryptographicOperations.FixedTimeEquals(
            AssociationData(c, record.Selector, record.MatchingType), record.AssociationData));
    }

    /// <summary>
    /// The TLSA record to publish for <paramref name="endEntity"/>, RFC 7671 5.1's recommended DANE-EE(3) SPKI(1)
    /// SHA2-256(1), in zone-file syntax: <c>_25._tcp.HOST. IN TLSA 3 1 1 HEX</c> (lower-case hex).
    /// </summary>
    public static string RecordFor(string host, X509Certificate2 endEntity) =>
        $"{TlsaOwner(host)}. IN TLSA {DaneEe} {SelectorSpki} {MatchSha256} {Convert.ToHexStringLower(AssociationData(endEntity, SelectorSpki, MatchSha256))}";

    /// <summary><c>_25._tcp.HOST</c> (RFC 7672 2.2.3: the TLSA base domain of an MX host, port 25).</summary>
    public static string TlsaOwner(string host) => $"_25._tcp.{host.TrimEnd('.')}";
}
