// Ed25519: derives an Ed25519 public key from its 32-byte private key (seed), RFC 8032 5.1.5, because
// .NET's base class library has no Ed25519 and a DKIM key file (RFC 8463) holds only the seed in its
// PKCS#8 form (RFC 8410 7). Only public data is computed (not constant-time: the check runs once at
// start on the operator's own key); no signing. Curve and base point: RFC 8032 5.1; point addition
// in extended homogeneous coordinates: RFC 8032 5.1.4; encoding: RFC 8032 5.1.2.
using System.Numerics;
using System.Security.Cryptography;

namespace Mta.Checks;

/// <summary>Ed25519 public key derivation (RFC 8032 5.1.5).</summary>
public static class Ed25519
{
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger D = Mod(-121665 * Inverse(121666));
    private static readonly BigInteger D2 = Mod(2 * D);
    private static readonly BigInteger Bx = BigInteger.Parse("15112221349535400772501151409588531511454012693041857206046113283949847762202");
    private static readonly BigInteger By = BigInteger.Parse("46316835694926478169428394003475163141307993866256225615783033603165251855960");

    private readonly record struct Point(BigInteger X, BigInteger Y, BigInteger Z, BigInteger T);

    /// <summary>The 32-byte public key A = [s]B for the 32-byte private key <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="seed"/> is not 32 bytes.</exception>
    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != 32) throw new ArgumentException("an Ed25519 private key has 32 bytes", nameof(seed));
        byte[] h = SHA512.HashData(seed);
        // the secret scalar: the first half of the hash, pruned (RFC 8032 5.1.5 step 2)
        byte[] s = h[..32];
        s[0] &= 248;
        s[31] &= 127;
        s[31] |= 64;
        BigInteger scalar = new(s, isUnsigned: true, isBigEndian: false);

        Point acc = new(0, 1, 1, 0);
        Point addend = new(Bx, By, 1, Mod(Bx * By));
        while (!scalar.IsZero)
        {
            if (!scalar.IsEven) acc = Add(acc, addend);
            addend = Add(addend, addend);
            scalar >>= 1;
        }
        BigInteger zInverse = Inverse(acc.Z);
        BigInteger x = Mod(acc.X * zInverse), y = Mod(acc.Y * zInverse);
        byte[] encoded = new byte[32];
        y.TryWriteBytes(encoded, out _, isUnsigned: true, isBigEndian: false);
        if (!x.IsEven) encoded[31] |= 0x80;
        return encoded;
    }

    private static Point Add(Point p, Point q)
    {
        BigInteger a = Mod((p.Y - p.X) * (q.Y - q.X));
        BigInteger b = Mod((p.Y + p.X) * (q.Y + q.X));
        BigInteger c = Mod(p.T * D2 * q.T);
        BigInteger d = Mod(2 * p.Z * q.Z);
        BigInteger e = b - a, f = d - c, g = d + c, hh = b + a;
        return new Point(Mod(e * f), Mod(g * hh), Mod(f * g), Mod(e * hh));
    }

    private static BigInteger Mod(BigInteger v)
    {
        BigInteger r = BigInteger.Remainder(v, P);
        return r.Sign < 0 ? r + P : r;
    }

    private static BigInteger Inverse(BigInteger v) => BigInteger.ModPow(Mod(v), P - 2, P);
}
