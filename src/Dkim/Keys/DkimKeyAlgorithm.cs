// DkimKeyAlgorithm: the two key types a DKIM signer may use today: RSA (RFC 6376 3.3.1, with
// RFC 8301 3.2 minimum sizes) and Ed25519 (RFC 8463 3).
namespace Mta.Dkim;

/// <summary>Key type of a DKIM key; each maps to exactly one signing algorithm (the <c>a=</c> tag).</summary>
public enum DkimKeyAlgorithm
{
    /// <summary>RSA; signs with <c>rsa-sha256</c> (RFC 6376 3.3.1). DNS key type <c>k=rsa</c>.</summary>
    Rsa,

    /// <summary>Ed25519; signs with <c>ed25519-sha256</c> (RFC 8463 3). DNS key type <c>k=ed25519</c>.</summary>
    Ed25519,
}

/// <summary>Names of <see cref="DkimKeyAlgorithm"/> as they appear on the wire.</summary>
public static class DkimKeyAlgorithmNames
{
    /// <summary>The DKIM-Signature <c>a=</c> value: <c>rsa-sha256</c> or <c>ed25519-sha256</c>.</summary>
    public static string SignatureAlgorithm(this DkimKeyAlgorithm algorithm) => algorithm switch
    {
        DkimKeyAlgorithm.Rsa => "rsa-sha256",
        DkimKeyAlgorithm.Ed25519 => "ed25519-sha256",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The key record <c>k=</c> value (RFC 6376 3.6.1, RFC 8463 4.2): <c>rsa</c> or <c>ed25519</c>.</summary>
    public static string KeyType(this DkimKeyAlgorithm algorithm) => algorithm switch
    {
        DkimKeyAlgorithm.Rsa => "rsa",
        DkimKeyAlgorithm.Ed25519 => "ed25519",
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    /// <summary>The file-name suffix used by the key generator: <c>rsa</c> or <c>ed25519</c>.</summary>
    public static string FileSuffix(this DkimKeyAlgorithm algorithm) => algorithm.KeyType();
}
