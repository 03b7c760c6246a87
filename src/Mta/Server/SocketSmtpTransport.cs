// SocketSmtpTransport: ISmtpTransport over an accepted Socket, with STARTTLS through SslStream.
// Idle sessions hold no receive buffer (zero-byte reads, as Kestrel does). RFC 3207 (STARTTLS):
// plaintext received before the handshake is discarded by dropping the old pipe reader.
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Mta.Smtp.Server;

namespace Mta.Server;

/// <summary>A client connection as seen by an <see cref="SmtpServerSession"/>.</summary>
internal sealed class SocketSmtpTransport : ISmtpTransport, IAsyncDisposable
{
    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 4096, minimumReadSize: 512, leaveOpen: true, useZeroByteReads: true);
    private static readonly StreamPipeWriterOptions WriterOptions = new(minimumBufferSize: 512, leaveOpen: true);
    private readonly NetworkStream _network;
    private readonly X509Certificate2? _certificate;
    private SslStream? _ssl;

    public SocketSmtpTransport(Socket socket, X509Certificate2? certificate)
    {
        socket.NoDelay = true;
        _network = new NetworkStream(socket, ownsSocket: true);
        _certificate = certificate;
        Input = PipeReader.Create(_network, ReaderOptions);
        Output = PipeWriter.Create(_network, WriterOptions);
    }

    public PipeReader Input { get; private set; }
    public PipeWriter Output { get; private set; }
    public bool CanStartTls => _certificate != null && _ssl == null;
    public bool IsSecure => _ssl != null;
    public string? TlsDescription { get; private set; }

    public async ValueTask StartTlsAsync(CancellationToken cancellationToken)
    {
        // Drop the plaintext reader with whatever it buffered (pipelined commands after STARTTLS).
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = _certificate,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        }, cancellationToken).ConfigureAwait(false);
        _ssl = ssl;
        TlsDescription = $"{Describe(ssl.SslProtocol)} with cipher {ssl.NegotiatedCipherSuite}";
        Input = PipeReader.Create(ssl, ReaderOptions);
        Output = PipeWriter.Create(ssl, WriterOptions);
    }

    private static string Describe(System.Security.Authentication.SslProtocols p) => p switch
    {
        System.Security.Authentication.SslProtocols.Tls13 => "TLSv1.3",
        System.Security.Authentication.SslProtocols.Tls12 => "TLSv1.2",
        _ => p.ToString(),
    };

    public async ValueTask DisposeAsync()
    {
        try { await Input.CompleteAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
        try { await Output.CompleteAsync().ConfigureAwait(false); } catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException) { }
        if (_ssl != null) await _ssl.DisposeAsync().ConfigureAwait(false);
        await _network.DisposeAsync().ConfigureAwait(false);
    }
}
