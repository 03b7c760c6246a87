// MilterClient: one MTA-side milter conversation per SMTP session (one connection, opened per session
// as Postfix does because libmilter closes after QUIT). This file owns the session state, connecting and
// option negotiation; MilterClient.Envelope.cs the CONNECT..RCPT/DATA/UNKNOWN/ABORT/QUIT events,
// MilterClient.Content.cs HEADER/EOH/BODY/EOB, MilterClient.Replies.cs reading and interpreting replies,
// MilterClient.Io.cs framing I/O with timeouts. Follows Postfix src/milter/milter8.c (milter8_connect,
// milter8_event and the per-event functions) and reference 1.1-1.10.
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Mta.Milter.Protocol;

namespace Mta.Milter;

/// <summary>Where a <see cref="MilterClient"/> is in the conversation (Postfix <c>MILTER8_STAT_*</c>).</summary>
public enum MilterSessionState
{
    /// <summary>No connection (before connecting, after QUIT, or after the milter ended the session).</summary>
    Closed,
    /// <summary>Negotiated; waiting for the CONNECT event.</summary>
    Ready,
    /// <summary>In the envelope (CONNECT..RCPT, DATA, UNKNOWN).</summary>
    Envelope,
    /// <summary>Sending message content (HEADER..EOB).</summary>
    Message,
    /// <summary>The milter accepted the whole session at CONNECT/HELO; no more events are sent.</summary>
    AcceptedConnection,
    /// <summary>The milter accepted or discarded this message; no more events until ABORT or the next MAIL.</summary>
    AcceptedMessage,
    /// <summary>The milter rejected the session (reject/tempfail/reply at CONNECT/HELO, or shutdown); every
    /// later event returns the same decision without contacting the milter.</summary>
    RejectedConnection,
    /// <summary>The conversation broke (<see cref="MilterProtocolException"/> was thrown); the connection is closed.</summary>
    Error,
}

/// <summary>
/// The MTA side of the Sendmail milter protocol for one SMTP session. Call <see cref="ConnectAsync(string, CancellationToken)"/>
/// (socket connect and option negotiation), then the event methods in SMTP order, <see cref="AbortAsync"/> after every
/// mail transaction, and <see cref="QuitAsync"/> at the end. Each event first sends the macros of its stage
/// (<c>D</c> packet; only names that have a value) and returns the milter's decision as a
/// <see cref="MilterResponse"/>; events the milter does not want, or that its protocol version lacks, are not
/// sent and return <see cref="MilterResponse.Continue"/>, as do events whose reply the milter said it will
/// not send (NR_* flags). Any I/O error, EOF, timeout, malformed or unexpected packet closes the connection and
/// throws <see cref="MilterProtocolException"/>; the host then applies <c>milter_default_action</c>.
/// Not thread-safe: one call at a time.
/// </summary>
public sealed partial class MilterClient : IAsyncDisposable
{
    private readonly MilterClientOptions _options;
    private IDuplexPipe? _transport;
    private Socket? _socket;
    private Stream? _stream;
    private MilterNegotiation? _negotiation;
    private MilterSessionState _state = MilterSessionState.Closed;
    private bool _used;
    private MilterResponse? _sticky;
    private string[][] _macroNames = [];

    /// <summary>Creates a client; nothing is connected yet.</summary>
    /// <exception cref="ArgumentException">Invalid options (see <see cref="MilterClientOptions.Validate"/>).</exception>
    public MilterClient(MilterClientOptions? options = null)
    {
        _options = options ?? new MilterClientOptions();
        _options.Validate();
    }

    /// <summary>Current state.</summary>
    public MilterSessionState State => _state;

    /// <summary>The negotiated options.</summary>
    /// <exception cref="InvalidOperationException">Before negotiation.</exception>
    public MilterNegotiation Negotiation => _negotiation ?? throw new InvalidOperationException("milter not negotiated yet");

    /// <summary>True when the milter asked for rejected recipients too (SMFIP_RCPT_REJ): the host should then call
    /// <see cref="RcptAsync"/> for rejected RCPTs as well, with the rcpt macros describing the error.</summary>
    public bool WantsRejectedRecipients => _negotiation?.WantsRejectedRecipients ?? false;

    /// <summary>True while the milter still wants events for this session (Postfix <c>milter8_active</c>).</summary>
    public bool IsActive => _state is MilterSessionState.Ready or MilterSessionState.Envelope or MilterSessionState.Message;

    /// <summary>Connects to <paramref name="endpoint"/> (<c>inet:host:port</c>, <c>inet:[ipv6]:port</c>,
    /// <c>unix:/path</c>) within the connect timeout, then negotiates within the command timeout.</summary>
    /// <exception cref="FormatException">Bad endpoint syntax.</exception>
    /// <exception cref="MilterProtocolException">Connect failure or timeout, or negotiation failed.</exception>
    public Task ConnectAsync(string endpoint, CancellationToken cancellationToken = default) =>
        ConnectAsync(MilterEndpoint.Parse(endpoint), cancellationToken);

    /// <inheritdoc cref="ConnectAsync(string, CancellationToken)"/>
    public async Task ConnectAsync(MilterEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        BeginUse();
        var ep = endpoint.ToEndPoint();
        var socket = endpoint.IsUnix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : ep is IPEndPoint ip ? new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
            : new Socket(SocketType.Stream, ProtocolType.Tcp);
        using (var deadline = new Deadline(_options.ConnectTimeout, _options.TimeProvider, cancellationToken))
        {
            try
            {
                await socket.ConnectAsync(ep, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.TimedOut && !cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                _state = MilterSessionState.Error;
                throw new MilterProtocolException($"connect to Milter service {endpoint}: timed out after {_options.ConnectTimeout.TotalSeconds}s", MilterFailureKind.Timeout);
            }
            catch (Exception e) when (e is SocketException or IOException)
            {
                socket.Dispose();
                _state = MilterSessionState.Error;
                throw new MilterProtocolException($"connect to Milter service {endpoint}: {e.Message}", MilterFailureKind.Communication, e);
            }
            catch
            {
                socket.Dispose();
                _state = MilterSessionState.Error;
                throw;
            }
        }
        if (!endpoint.IsUnix) socket.NoDelay = true;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _transport = new StreamTransport(PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true)),
            PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true)));
        await NegotiateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Negotiates over an already connected transport (tests, or a host-provided connection).
    /// The client owns the transport from now on and completes it when the session ends.</summary>
    /// <exception cref="MilterProtocolException">Negotiation failed.</exception>
    public Task ConnectAsync(IDuplexPipe transport, CancellationToken cancellationToken = default)
    {
        BeginUse();
        _transport = transport;
        return NegotiateAsync(cancellationToken);
    }

    private void BeginUse()
    {
        if (_used) throw new InvalidOperationException("a MilterClient serves one connection; create a new one per SMTP session");
        _used = true;
    }

    private async Task NegotiateAsync(CancellationToken ct)
    {
        uint version = (uint)_options.ProtocolVersion;
        var offered = MilterNegotiation.OfferedMask(_options.ProtocolVersion, _options.NoHeaderReply);
        MilterPacketWriter.WriteOptionNegotiation(_transport!.Output, version, MilterNegotiation.OfferedActions, offered);
        await SendAsync(MilterCommand.OptionNegotiation, _options.CommandTimeout, ct).ConfigureAwait(false);
        var packet = await ReadPacketAsync(MilterCommand.OptionNegotiation, _options.CommandTimeout, ct).ConfigureAwait(false);
        if (packet.Code != MilterReplyCode.OptionNegotiation)
            throw Fail($"unexpected reply \"{(char)packet.Code}\" in initial handshake");
        try
        {
            _negotiation = MilterNegotiation.Parse(packet.Payload.Span, version, offered);
        }
        catch (MilterProtocolException e)
        {
            throw Fail(e.Message);
        }
        _macroNames = BuildMacroNames(_options.Macros, _negotiation);
        _state = MilterSessionState.Ready;
    }

    // Index = MilterMacroStage value (0..6); index 7 = unknown-command list (not negotiable).
    private const int UnknownMacroIndex = 7;

    private static string[][] BuildMacroNames(MilterMacroLists mta, MilterNegotiation n)
    {
        string[] defaults = [mta.Connect, mta.Helo, mta.Mail, mta.Rcpt, mta.Data, mta.EndOfMessage, mta.EndOfHeaders, mta.Unknown];
        var result = new string[defaults.Length][];
        for (int i = 0; i < defaults.Length; i++)
        {
            string list = defaults[i];
            // Postfix MILTER_MACRO_EVAL: a non-empty milter list replaces the MTA's list for that stage only.
            if (i < UnknownMacroIndex && n.MacroLists.TryGetValue((MilterMacroStage)i, out var own) && own.Length > 0) list = own;
            result[i] = SplitNames(list);
        }
        return result;
    }

    private static string[] SplitNames(string list) =>
        list.Split([' ', ',', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The macro names sent for a stage (after negotiation), as they go on the wire.</summary>
    public IReadOnlyList<string> MacroNamesFor(MilterMacroStage stage) => _macroNames.Length == 0
        ? throw new InvalidOperationException("milter not negotiated yet")
        : _macroNames[(int)stage];

    /// <summary>Closes the connection without sending anything.</summary>
    public ValueTask DisposeAsync()
    {
        CloseTransport();
        if (_state != MilterSessionState.Error) _state = MilterSessionState.Closed;
        return ValueTask.CompletedTask;
    }

    private void CloseTransport()
    {
        var t = _transport;
        _transport = null;
        if (t is not null)
        {
            try { t.Input.Complete(); } catch (InvalidOperationException) { }
            try { t.Output.Complete(); } catch (InvalidOperationException) { }
        }
        _stream?.Dispose();
        _stream = null;
        _socket?.Dispose();
        _socket = null;
    }

    /// <summary>Closes the connection, enters <see cref="MilterSessionState.Error"/> and returns the exception to throw.</summary>
    private MilterProtocolException Fail(string message, MilterFailureKind kind = MilterFailureKind.Communication, Exception? inner = null)
    {
        CloseTransport();
        _state = MilterSessionState.Error;
        return new MilterProtocolException(message, kind, inner);
    }

    private sealed class StreamTransport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}
