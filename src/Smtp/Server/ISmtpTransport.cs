// ISmtpTransport: the duplex byte pipe a session runs over, and the STARTTLS switch. The protocol code
// never sees a socket; the host implements this over a Socket/NetworkStream and SslStream.
using System.IO.Pipelines;

namespace Mta.Smtp.Server;

/// <summary>The connection under a session.</summary>
public interface ISmtpTransport
{
    /// <summary>Bytes from the client. Replaced after <see cref="StartTlsAsync"/>.</summary>
    PipeReader Input { get; }
    /// <summary>Bytes to the client. Replaced after <see cref="StartTlsAsync"/>.</summary>
    PipeWriter Output { get; }
    /// <summary>True when TLS can be started (a certificate is configured and TLS is not active).</summary>
    bool CanStartTls { get; }
    /// <summary>True once TLS is active.</summary>
    bool IsSecure { get; }
    /// <summary>
    /// Discards every byte already received in plaintext (RFC 3207 5 / CVE-2011-0411), performs the TLS
    /// handshake and replaces <see cref="Input"/>/<see cref="Output"/>. Called after the 220 reply was flushed.
    /// </summary>
    /// <exception cref="IOException">handshake failed; the session is closed.</exception>
    ValueTask StartTlsAsync(CancellationToken cancellationToken);
    /// <summary>TLS details for Received: and logs, e.g. "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)", or null.</summary>
    string? TlsDescription { get; }
}
