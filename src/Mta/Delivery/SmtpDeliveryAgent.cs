// SmtpDeliveryAgent: delivery over SMTP or LMTP to one next hop — next-hop resolution (RFC 5321 5.1:
// MX sorted by preference, equal preferences shuffled, implicit MX; RFC 7505 null MX; bracketed hosts
// and IP literals use A/AAAA only; lmtp:unix:/path), trying addresses in order up to
// smtp_mx_address_limit, opportunistic or mandatory STARTTLS (Postfix TLS_README smtp_tls_security_level
// none/may/encrypt, with plaintext fallback after a failed handshake at "may"), and the mapping of every
// reply, failure and deadline to exactly one RecipientOutcome per recipient in Postfix smtp(8) wording
// ("connect to host[addr]:port: Connection refused", "lost connection with host[addr] while ...").
// Connection cache (smtp_connection_cache_on_demand, SmtpConnectionCache): after a transaction that left the
// connection usable (no exception, no 421, nothing unread) it is kept idle for the next delivery to the same
// endpoint/transport/TLS state/HELO name. Reuse sends MAIL directly after a completed transaction (the server
// reset itself at end-of-data) and RSET first after a refusal before end-of-data. Instead of an RSET probe per
// reuse, a non-blocking poll of the socket rejects connections the server closed or spoke on while idle, and a
// reused connection that fails before the server accepted MAIL (RSET/MAIL unanswered, 421 to MAIL) is closed
// and the delivery goes on over another connection: nothing was decided, so the outcomes are those of a new one.
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Mta.Configuration;
using Mta.Smtp.Client;
using Mta.Smtp.Protocol;

namespace Mta.Delivery;

/// <summary>
/// <see cref="IDeliveryAgent"/> for <see cref="TransportKind.Smtp"/> and <see cref="TransportKind.Lmtp"/>.
/// Recipients deferred by one address are tried at the next address (as Postfix does with soft errors at a
/// non-final MX), except after end-of-data was sent. Never throws for delivery failures; cancellation of
/// the token (the pre-queue deadline) yields <c>451 4.4.2</c> Deferred outcomes for undecided recipients.
/// </summary>
public sealed class SmtpDeliveryAgent : IDeliveryAgent, IAsyncDisposable
{
    private readonly DeliveryOptions _options;
    private readonly IDnsLookup _dns;
    private readonly ILogger _logger;
    private readonly Func<Stream, string, CancellationToken, Task<Stream>> _startTls;
    private readonly string _heloName;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeProvider _time;
    private readonly SmtpConnectionCache? _cache;

    /// <summary>Creates the agent.</summary>
    /// <param name="options">smtp_helo_name, smtp_*_timeout (zero = Postfix default), smtp_tls_security_level, smtp_mx_address_limit (0 = no limit).</param>
    /// <param name="identity">myhostname, the HELO name when smtp_helo_name is empty.</param>
    /// <param name="dns">DNS lookups (<see cref="DnsClientLookup"/> in production).</param>
    /// <param name="logger">connection-level diagnostics (per-recipient lines are the dispatcher's).</param>
    /// <param name="startTls">the TLS handshake: (plain stream, server host name for SNI, token) → TLS stream. Default: SslStream
    /// accepting any certificate (Postfix "may"/"encrypt" do not authenticate the server).</param>
    /// <param name="timeProvider">clock and timers of the connection cache (default: the system's).</param>
    public SmtpDeliveryAgent(DeliveryOptions options, IdentityOptions identity, IDnsLookup dns, ILogger<SmtpDeliveryAgent>? logger = null,
        Func<Stream, string, CancellationToken, Task<Stream>>? startTls = null, TimeProvider? timeProvider = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(identity);
        _dns = dns ?? throw new ArgumentNullException(nameof(dns));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _startTls = startTls ?? DefaultStartTlsAsync;
        _heloName = !string.IsNullOrWhiteSpace(options.HeloName) ? options.HeloName
            : !string.IsNullOrWhiteSpace(identity.MyHostname) ? identity.MyHostname : "localhost";
        _connectTimeout = OrDefault(options.ConnectTimeout, 30);
        _time = timeProvider ?? TimeProvider.System;
        if (options.ConnectionCacheOnDemand)
        {
            _cache = new SmtpConnectionCache(_time, OrDefault(options.ConnectionCacheTimeLimit, 2), Math.Max(0, options.ConnectionReuseCountLimit),
                OrDefault(options.ConnectionReuseTimeLimit, 300), options.ConnectionCacheEndpointLimit > 0 ? options.ConnectionCacheEndpointLimit : 100,
                CloseQuietlyAsync);
        }
        TlsLevel = (options.TlsSecurityLevel ?? "").Trim().ToLowerInvariant() switch
        {
            "" or "may" => "may",
            "none" => "none",
            "encrypt" => "encrypt",
            var other => throw new ArgumentException($"smtp_tls_security_level: unsupported value \"{other}\" (none, may, encrypt)"),
        };
    }

    /// <summary>The effective smtp_tls_security_level: none, may or encrypt.</summary>
    public string TlsLevel { get; }

    /// <summary>Idle connections in the cache now (0 when smtp_connection_cache_on_demand = no).</summary>
    public int CachedConnections => _cache?.IdleCount ?? 0;

    /// <summary>Closes the idle cached connections (QUIT, best effort).</summary>
    public ValueTask DisposeAsync() => _cache?.DisposeAsync() ?? ValueTask.CompletedTask;

    private static TimeSpan OrDefault(TimeSpan t, int seconds) => t > TimeSpan.Zero ? t : TimeSpan.FromSeconds(seconds);

    private SmtpClientOptions ClientOptions(TransportKind kind) => new()
    {
        Protocol = kind == TransportKind.Lmtp ? SmtpClientProtocol.Lmtp : SmtpClientProtocol.Smtp,
        HeloName = _heloName,
        HeloTimeout = OrDefault(_options.HeloTimeout, 300),
        CommandTimeout = OrDefault(_options.CommandTimeout, 300),
        DataTransferTimeout = OrDefault(_options.DataTransferTimeout, 180),
        DataDoneTimeout = OrDefault(_options.DataDoneTimeout, 600),
        ChunkingSizeLimit = _options.ChunkingSizeLimit,
    };

    /// <summary>An address to try: the MX host name, its address (null for a UNIX socket), the endpoint and Postfix's relay= text.</summary>
    private sealed record Target(string HostName, EndPoint EndPoint, string Relay);

    /// <summary>Outcome of one attempt at one target: the per-pending-recipient outcomes and whether deferred ones may go on to the next address.</summary>
    private sealed record Attempt(RecipientOutcome[] Outcomes, bool MayTryNext);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(DeliveryRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hop = request.NextHop;
        if (hop.Transport is not (TransportKind.Smtp or TransportKind.Lmtp))
            throw new ArgumentException($"SmtpDeliveryAgent does not handle {hop.Transport}", nameof(request));
        var recipients = request.Recipients;
        var final = new RecipientOutcome?[recipients.Count];
        var clock = Stopwatch.StartNew();

        List<Target> targets;
        try
        {
            var (resolved, failure) = await ResolveAsync(hop, cancellationToken).ConfigureAwait(false);
            if (failure != null)
                return recipients.Select(r => Outcome(r, failure, "none", clock.Elapsed, TimeSpan.Zero)).ToArray();
            targets = resolved;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var reply = new SmtpReply(451, "4.4.2", $"lookup of next hop {hop} interrupted by the pre-queue delivery deadline");
            return recipients.Select(r => Outcome(r, reply, "none", clock.Elapsed, TimeSpan.Zero)).ToArray();
        }

        for (int t = 0; t < targets.Count; t++)
        {
            var pending = Enumerable.Range(0, recipients.Count).Where(i => final[i] == null).ToArray();
            if (pending.Length == 0) break;
            bool last = t == targets.Count - 1;
            var attempt = await AttemptAsync(targets[t], request, pending, clock, tlsAllowed: true, cancellationToken).ConfigureAwait(false);
            bool stop = last || !attempt.MayTryNext || cancellationToken.IsCancellationRequested;
            for (int k = 0; k < pending.Length; k++)
            {
                var o = attempt.Outcomes[k];
                if (o.Status != DeliveryStatus.Deferred || stop) final[pending[k]] = o;
                else
                {
                    _logger.LogDebug("{QueueId}: to=<{Rcpt}> deferred by {Relay} ({Reply}); trying the next address",
                        request.Envelope.QueueId, o.Recipient.Address.Address, o.Relay, o.Reply);
                }
            }
        }
        return final.Select((o, i) => o ?? Outcome(recipients[i], new SmtpReply(451, "4.4.1", "no address to try"), "none", clock.Elapsed, TimeSpan.Zero)).ToArray();
    }

    // ---- next-hop resolution ---------------------------------------------------------------------

    private async Task<(List<Target> Targets, SmtpReply? Failure)> ResolveAsync(NextHop hop, CancellationToken ct)
    {
        if (hop.UnixSocketPath != null)
            return ([new Target("localhost", new UnixDomainSocketEndPoint(hop.UnixSocketPath), $"localhost[{hop.UnixSocketPath}]")], null);
        string host = hop.Host;
        int limit = _options.MxAddressLimit > 0 ? _options.MxAddressLimit : int.MaxValue;
        if (IPAddress.TryParse(host, out var literal))
            return ([MakeTarget(host, literal, hop.Port)], null);

        if (hop.SuppressMx || hop.Transport == TransportKind.Lmtp)
        {
            var a = await _dns.LookupAddressesAsync(host, ct).ConfigureAwait(false);
            return a.Status switch
            {
                DnsLookupStatus.Found => (a.Records.Take(limit).Select(ip => MakeTarget(host, ip, hop.Port)).ToList(), null),
                DnsLookupStatus.TempFail => ([], TempFail(host, "A")),
                DnsLookupStatus.NotFound => ([], NotFound(host, "A")),
                _ => ([], NoAddress(host)),
            };
        }

        var mx = await _dns.LookupMxAsync(host, ct).ConfigureAwait(false);
        switch (mx.Status)
        {
            case DnsLookupStatus.TempFail: return ([], TempFail(host, "MX"));
            case DnsLookupStatus.NotFound: return ([], NotFound(host, "MX"));
            case DnsLookupStatus.NoRecords:
            {
                // Implicit MX (RFC 5321 5.1): the domain itself, preference 0.
                var a = await _dns.LookupAddressesAsync(host, ct).ConfigureAwait(false);
                return a.Status switch
                {
                    DnsLookupStatus.Found => (a.Records.Take(limit).Select(ip => MakeTarget(host, ip, hop.Port)).ToList(), null),
                    DnsLookupStatus.TempFail => ([], TempFail(host, "A")),
                    DnsLookupStatus.NotFound => ([], NotFound(host, "A")),
                    _ => ([], NoAddress(host)),
                };
            }
        }
        if (mx.Records.Any(r => r.IsNullMx))
            return ([], new SmtpReply(556, "5.1.10", $"Domain {host} does not accept mail (nullMX)"));

        var ordered = mx.Records.GroupBy(r => r.Preference).OrderBy(g => g.Key)
            .SelectMany(g => g.Select(r => r.Exchange).Distinct().OrderBy(_ => Random.Shared.Next()))
            .Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        // Look the exchanges up concurrently; keep preference order.
        var lookups = ordered.Select(x => IPAddress.TryParse(x, out var ip)
            ? Task.FromResult(new DnsLookupResult<IPAddress>(DnsLookupStatus.Found, [ip]))
            : _dns.LookupAddressesAsync(x, ct)).ToArray();
        var results = await Task.WhenAll(lookups).ConfigureAwait(false);
        var targets = new List<Target>();
        bool tempFail = false;
        for (int i = 0; i < ordered.Length && targets.Count < limit; i++)
        {
            if (results[i].Status == DnsLookupStatus.TempFail) tempFail = true;
            foreach (var ip in results[i].Records)
            {
                if (targets.Count >= limit) break;
                targets.Add(MakeTarget(ordered[i], ip, hop.Port));
            }
        }
        if (targets.Count > 0) return (targets, null);
        return ([], tempFail ? TempFail(string.Join(", ", ordered), "A") : NoAddress(string.Join(", ", ordered)));
    }

    private static Target MakeTarget(string host, IPAddress ip, int port) =>
        new(host, new IPEndPoint(ip, port), $"{host}[{ip}]:{port}");

    private static SmtpReply TempFail(string name, string type) =>
        new(451, "4.4.3", $"Host or domain name not found. Name service error for name={name} type={type}: Host not found, try again");

    private static SmtpReply NotFound(string name, string type) =>
        new(550, "5.1.2", $"Host or domain name not found. Name service error for name={name} type={type}: Host not found");

    private static SmtpReply NoAddress(string name) =>
        new(550, "5.4.4", $"Host or domain name not found. Name service error for name={name} type=A: No address associated with hostname");

    // ---- one attempt at one address -------------------------------------------------------------

    private async Task<Attempt> AttemptAsync(Target target, DeliveryRequest request, int[] pending, Stopwatch clock, bool tlsAllowed, CancellationToken ct)
    {
        var recipients = pending.Select(i => request.Recipients[i]).ToArray();
        var kind = request.NextHop.Transport;
        string level = kind == TransportKind.Lmtp || !tlsAllowed ? "none" : TlsLevel;

        // A cached connection first. One that turns out dead before the server accepted MAIL is not this delivery's
        // failure: it is closed and the next cached one, then a fresh connection, is tried (bounded, so a next hop that
        // keeps killing reused connections costs at most a few wasted writes).
        if (_cache != null)
        {
            for (int tries = 0; tries < 3 && TryTakeCached(target, kind, level, out var key, out var cached); tries++)
            {
                var reused = await TransactAsync(target, request, recipients, clock, key, cached, reused: true, ct).ConfigureAwait(false);
                if (reused != null) return reused;
                _logger.LogDebug("{Relay}: cached connection no longer usable; trying another connection", target.Relay);
            }
        }

        TimeSpan setup = clock.Elapsed;
        Attempt All(SmtpReply reply, bool mayTryNext) =>
            new(recipients.Select(r => Outcome(r, reply, target.Relay, setup, TimeSpan.Zero)).ToArray(), mayTryNext);
        Attempt Deadline(string what) => All(new SmtpReply(451, "4.4.2", $"delivery to {target.Relay} interrupted by the pre-queue delivery deadline {what}"), false);

        Stream stream;
        try
        {
            stream = await ConnectAsync(target, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            setup = clock.Elapsed;
            return Deadline("while connecting");
        }
        catch (Exception e) when (e is SocketException or TimeoutException or IOException)
        {
            setup = clock.Elapsed;
            string why = e is TimeoutException ? "Connection timed out" : e is SocketException se ? SocketText(se) : e.Message;
            _logger.LogDebug("connect to {Relay}: {Why}", target.Relay, why);
            return All(new SmtpReply(451, "4.4.1", $"connect to {target.Relay}: {why}"), true);
        }

        var openedAt = _time.GetTimestamp();
        var socket = (stream as NetworkStream)?.Socket;
        var session = new SmtpClientSession(stream, ClientOptions(kind));
        bool handedOver = false;
        try
        {
            var greeting = await session.ConnectAsync(ct).ConfigureAwait(false);
            if (!greeting.IsPositive)
            {
                setup = clock.Elapsed;
                await QuietQuitAsync(session).ConfigureAwait(false);
                return All(new SmtpReply(greeting.IsTransient ? greeting.Code : 450, greeting.IsTransient ? greeting.EnhancedStatus ?? "4.3.0" : "4.3.0",
                    $"host {target.Relay} refused to talk to me: {greeting}"), true);
            }
            var hello = await session.HelloAsync(ct).ConfigureAwait(false);
            if (!hello.IsPositive)
            {
                setup = clock.Elapsed;
                await QuietQuitAsync(session).ConfigureAwait(false);
                return All(hello, hello.IsTransient);
            }

            if (level != "none")
            {
                if (session.Capabilities.Supports(SmtpExtensions.StartTls))
                {
                    SmtpReply r;
                    try
                    {
                        r = await session.StartTlsAsync((s, c) => _startTls(s, target.HostName, c), ct).ConfigureAwait(false);
                    }
                    catch (SmtpProtocolException e) when (e.Stage == SmtpClientStage.TlsHandshake)
                    {
                        setup = clock.Elapsed;
                        await session.DisposeAsync().ConfigureAwait(false);
                        if (level == "may")
                        {
                            _logger.LogInformation("{Relay}: TLS handshake failed ({Why}); retrying without TLS", target.Relay, e.Message);
                            return await AttemptAsync(target, request, pending, clock, tlsAllowed: false, ct).ConfigureAwait(false);
                        }
                        return All(new SmtpReply(451, "4.7.5", $"Cannot start TLS with {target.Relay}: handshake failure ({e.Message})"), true);
                    }
                    if (!session.IsTls)
                    {
                        if (level == "encrypt")
                        {
                            setup = clock.Elapsed;
                            await QuietQuitAsync(session).ConfigureAwait(false);
                            return All(new SmtpReply(451, "4.7.5", $"TLS is required, but host {target.Relay} refused to start TLS: {r}"), true);
                        }
                    }
                    else if (!r.IsPositive)
                    {
                        setup = clock.Elapsed;
                        await QuietQuitAsync(session).ConfigureAwait(false);
                        return All(r, r.IsTransient);
                    }
                }
                else if (level == "encrypt")
                {
                    setup = clock.Elapsed;
                    await QuietQuitAsync(session).ConfigureAwait(false);
                    return All(new SmtpReply(451, "4.7.5", $"TLS is required, but was not offered by host {target.Relay}"), true);
                }
            }
            handedOver = true;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            setup = clock.Elapsed;
            return Deadline(SmtpProtocolException.DescribeStage(session.Stage));
        }
        catch (SmtpProtocolException e)
        {
            setup = clock.Elapsed;
            return All(ProtocolFailure(target, e), true);
        }
        finally
        {
            if (!handedOver) await session.DisposeAsync().ConfigureAwait(false);
        }

        var conn = new SmtpCachedConnection(session, socket, openedAt);
        var freshKey = new SmtpConnectionKey(target.EndPoint.ToString()!, kind, session.IsTls, _heloName);
        return (await TransactAsync(target, request, recipients, clock, freshKey, conn, reused: false, ct).ConfigureAwait(false))!;
    }

    /// <summary>The cache keys acceptable under a TLS policy: encrypt needs a TLS session, none a plaintext one; may takes
    /// either (a plaintext one exists only when the server did not offer STARTTLS or its handshake failed, which is what a new
    /// connection would give too), TLS first.</summary>
    private bool TryTakeCached(Target target, TransportKind kind, string level, out SmtpConnectionKey key, out SmtpCachedConnection connection)
    {
        string endpoint = target.EndPoint.ToString()!;
        if (level != "none")
        {
            key = new SmtpConnectionKey(endpoint, kind, true, _heloName);
            if (_cache!.TryTake(key, out connection)) return true;
        }
        if (level != "encrypt")
        {
            key = new SmtpConnectionKey(endpoint, kind, false, _heloName);
            if (_cache!.TryTake(key, out connection)) return true;
        }
        key = default;
        connection = null!;
        return false;
    }

    /// <summary>
    /// One mail transaction on an open connection, which this method owns: it goes back to the cache when the
    /// transaction left it usable, otherwise it is closed. Returns null (reused connections only) when the connection
    /// proved dead before the server accepted MAIL: RSET or MAIL failed, no reply to MAIL, or 421 to MAIL; nothing of
    /// this delivery was decided, so the caller tries another connection.
    /// </summary>
    private async Task<Attempt?> TransactAsync(Target target, DeliveryRequest request, EnvelopeRecipient[] recipients, Stopwatch clock,
        SmtpConnectionKey key, SmtpCachedConnection conn, bool reused, CancellationToken ct)
    {
        var session = conn.Session;
        TimeSpan setup = clock.Elapsed;
        var txClock = new Stopwatch();
        bool keep = false, quit = false;
        Attempt All(SmtpReply reply, bool mayTryNext) =>
            new(recipients.Select(r => Outcome(r, reply, target.Relay, setup, txClock.Elapsed)).ToArray(), mayTryNext);
        Attempt Mixed(IReadOnlyList<SmtpReply?>? decided, SmtpReply undecided, bool mayTryNext)
        {
            var tx = txClock.Elapsed;
            return new(recipients.Select((r, k) => Outcome(r, decided?[k] ?? undecided, target.Relay, setup, tx)).ToArray(), mayTryNext);
        }

        try
        {
            if (reused && conn.NeedsReset)
            {
                // The previous transaction ended at a refusal before end-of-data: end it before the next MAIL.
                var r = await session.ResetAsync(ct).ConfigureAwait(false);
                if (!r.IsPositive) return null;
                conn.NeedsReset = false;
            }
            setup = clock.Elapsed;
            txClock.Start();
            var env = request.Envelope;
            var tx = new SmtpTransaction(env.Sender, env.MailParameters,
                recipients.Select(r => new SmtpTransactionRecipient(r.Address, r.Parameters)).ToArray(), request.Content.Length);
            SmtpTransactionResult result;
            await using (var content = request.Content.OpenRead())
                result = await session.SendAsync(tx, content, ct).ConfigureAwait(false);
            var transmission = txClock.Elapsed;
            if (reused && result.MailReply?.Code == 421) return null;   // the server is closing the reused connection
            if (_cache != null && Reusable(session, result))
            {
                keep = true;
                // After end-of-data the server has reset its state (RFC 5321 4.1.1.4); after a refusal at MAIL, RCPT or
                // DATA the next use sends RSET first (nothing to reset when MAIL was never sent).
                // A refused BDAT LAST may leave the transaction open on the server (RFC 3030 does not say it ends): RSET too.
                conn.NeedsReset = result.MailReply != null && (session.TransactionMayBeOpen || !result.Recipients.Any(r => r.InReplyTo == SmtpClientStage.EndOfData));
            }
            else
            {
                quit = true;
            }
            return new(recipients.Select((r, k) => Outcome(r, result.Recipients[k].Reply, target.Relay, setup, transmission)).ToArray(), true);
        }
        catch (SmtpTransactionCanceledException e)
        {
            return Mixed(e.RecipientReplies, new SmtpReply(451, "4.4.2",
                $"delivery to {target.Relay} interrupted by the pre-queue delivery deadline {SmtpProtocolException.DescribeStage(e.Stage)}"), false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return All(new SmtpReply(451, "4.4.2",
                $"delivery to {target.Relay} interrupted by the pre-queue delivery deadline {SmtpProtocolException.DescribeStage(session.Stage)}"), false);
        }
        catch (SmtpProtocolException e) when (reused && e.Error != SmtpProtocolError.Timeout
            && (e.Stage == SmtpClientStage.Reset || session.LastMailReply is not { IsPositive: true }))
        {
            // Lost (or garbled) before the server accepted MAIL: a stale cached connection, not a delivery failure.
            _logger.LogDebug(e, "{Relay}: reused connection failed {Stage}", target.Relay, e.StageText);
            return null;
        }
        catch (SmtpProtocolException e)
        {
            if (!txClock.IsRunning) setup = clock.Elapsed;
            return Mixed(e.RecipientReplies, ProtocolFailure(target, e), e.Stage != SmtpClientStage.EndOfData);
        }
        catch (IOException e)
        {
            // Reading our own spooled content failed: a local error, not the peer's.
            _logger.LogError(e, "reading message content for {Relay} failed", target.Relay);
            return All(new SmtpReply(451, "4.3.0", "local error reading the message content"), false);
        }
        finally
        {
            if (keep) _cache!.Return(key, conn);
            else
            {
                if (quit) await QuietQuitAsync(session).ConfigureAwait(false);
                await session.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether a connection may serve another transaction: nothing went wrong on it (no exception, nothing unread)
    /// and the server did not announce that it is closing (421 to any command).</summary>
    private static bool Reusable(SmtpClientSession session, SmtpTransactionResult result) =>
        !session.IsBroken && !session.HasUnreadInput
        && result.MailReply?.Code != 421 && result.Recipients.All(r => r.Reply.Code != 421);

    private SmtpReply ProtocolFailure(Target target, SmtpProtocolException e)
    {
        string text = e.Error switch
        {
            SmtpProtocolError.Timeout => $"conversation with {target.Relay} timed out {e.StageText}",
            SmtpProtocolError.ConnectionLost => $"lost connection with {target.Relay} {e.StageText}",
            _ => $"protocol error with {target.Relay} {e.StageText}: {e.Message}",
        };
        _logger.LogDebug(e, "{Relay}: {Text}", target.Relay, text);
        return new SmtpReply(451, e.Error == SmtpProtocolError.Malformed ? "4.5.0" : "4.4.2", text);
    }

    private async Task<Stream> ConnectAsync(Target target, CancellationToken ct)
    {
        var socket = target.EndPoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(target.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(_connectTimeout);
        try
        {
            await socket.ConnectAsync(target.EndPoint, cts.Token).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException("Connection timed out");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }


    private static string SocketText(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "Connection refused",
        SocketError.TimedOut => "Connection timed out",
        SocketError.NetworkUnreachable => "Network is unreachable",
        SocketError.HostUnreachable => "No route to host",
        SocketError.AddressNotAvailable => "Cannot assign requested address",
        _ => e.Message,
    };

    private static async Task QuietQuitAsync(SmtpClientSession session)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await session.QuitAsync(cts.Token, readReply: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SmtpProtocolException or OperationCanceledException or InvalidOperationException)
        {
            // The delivery is decided; a failed QUIT changes nothing.
        }
    }

    private static async Task CloseQuietlyAsync(SmtpCachedConnection connection)
    {
        try
        {
            await QuietQuitAsync(connection.Session).ConfigureAwait(false);
            await connection.Session.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closing an idle connection nobody waits for: nothing to report.
        }
    }

    private static RecipientOutcome Outcome(EnvelopeRecipient r, SmtpReply reply, string relay, TimeSpan setup, TimeSpan transmission) =>
        new(r, reply.IsPositive ? DeliveryStatus.Sent : reply.IsPermanent ? DeliveryStatus.Bounced : DeliveryStatus.Deferred, reply, relay)
        {
            ConnectionSetup = setup,
            Transmission = transmission,
        };

    private static async Task<Stream> DefaultStartTlsAsync(Stream plain, string serverName, CancellationToken ct)
    {
        var ssl = new SslStream(plain, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = IPAddress.TryParse(serverName, out _) ? "" : serverName,
                // smtp_tls_security_level may/encrypt: encryption without server authentication (Postfix TLS_README).
                RemoteCertificateValidationCallback = static (_, _, _, _) => true,
            }, ct).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}
