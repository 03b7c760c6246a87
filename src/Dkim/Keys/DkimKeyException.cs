// DkimKeyException: a key file or key record that cannot be used, with the reason in words
// an administrator can act on (which file, what was found, what is required).
namespace Mta.Dkim;

/// <summary>
/// A DKIM private key could not be loaded or generated: missing or unreadable file, unsupported PEM
/// format, encrypted key, unsupported key type, or an RSA key shorter than
/// <see cref="DkimKey.MinimumRsaBits"/>. The message names the file when there is one.
/// </summary>
public sealed class DkimKeyException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong and what is required.</param>
    /// <param name="path">The key file, or null when the key did not come from a file.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public DkimKeyException(string message, string? path = null, Exception? inner = null)
        : base(path is null ? message : $"{path}: {message}", inner)
    {
        Path = path;
    }

    /// <summary>The key file the error is about, or null.</summary>
    public string? Path { get; }
}
