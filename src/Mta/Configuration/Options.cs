// Option classes: every main.cf parameter the MTA reads, grouped by concern, each with its Postfix
// name, default and description (Postfix postconf(5) where the concept exists).
namespace Mta.Configuration;

/// <summary>Identity and local domains (postconf(5): myhostname, mydomain, myorigin, mydestination).</summary>
public sealed class IdentityOptions
{
    [Parameter("myhostname", "$default_myhostname", "The internet host name of this mail system; used in the banner, EHLO, Received: and DSNs.")]
    public string MyHostname { get; set; } = "";
    [Parameter("mydomain", "$default_mydomain", "The internet domain of this mail system (default: myhostname minus its first label).")]
    public string MyDomain { get; set; } = "";
    [Parameter("myorigin", "$myhostname", "The domain that locally-posted mail appears to come from.")]
    public string MyOrigin { get; set; } = "";
    [Parameter("mydestination", "$myhostname, localhost.$mydomain, localhost", "Domains delivered locally (Maildir); '*' means every domain (the embedded default's catch-all).")]
    public IReadOnlyList<string> MyDestination { get; set; } = [];
    [Parameter("mail_name", "Mta", "The mail system name shown in the SMTP greeting and Received: headers.")]
    public string MailName { get; set; } = "";
    [Parameter("data_directory", "var", "Root directory for the queue, local Maildirs, generated TLS and DKIM material.")]
    public string DataDirectory { get; set; } = "";
}

/// <summary>SMTP server parameters (postconf(5) smtpd_*).</summary>
public sealed class SmtpdOptions
{
    [Parameter("smtpd_listen", "127.0.0.1:2525", "Addresses the SMTP server listens on, host:port or [ipv6]:port, comma separated.")]
    public IReadOnlyList<string> Listen { get; set; } = [];
    [Parameter("smtpd_banner", "$myhostname ESMTP $mail_name", "Text that follows the 220 code in the greeting.")]
    public string Banner { get; set; } = "";
    [Parameter("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128", "Trusted clients (CIDR) that may relay to any destination.")]
    public IReadOnlyList<string> MyNetworks { get; set; } = [];
    [Parameter("relay_domains", "", "Remote domains this server accepts mail for from untrusted clients (relays to them).")]
    public IReadOnlyList<string> RelayDomains { get; set; } = [];
    [Parameter("smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination", "Relay control applied at RCPT TO before smtpd_recipient_restrictions.")]
    public IReadOnlyList<string> RelayRestrictions { get; set; } = [];
    [Parameter("smtpd_recipient_restrictions", "", "Further access restrictions at RCPT TO.")]
    public IReadOnlyList<string> RecipientRestrictions { get; set; } = [];
    [Parameter("line_length_limit", "2048", "Maximum length in bytes of an SMTP command line, CRLF included (RFC 5321 4.5.3.1.4 requires at least 512).")]
    public int LineLengthLimit { get; set; }
    [Parameter("message_size_limit", "10240000", "Maximum message size in bytes, enforced while DATA/BDAT is read and announced in EHLO SIZE.")]
    public long MessageSizeLimit { get; set; }
    [Parameter("smtpd_recipient_limit", "1000", "Maximum number of recipients accepted per message.")]
    public int RecipientLimit { get; set; }
    [Parameter("smtpd_timeout", "300s", "Time limit for reading a command or data chunk from the client and for sending a reply.")]
    public TimeSpan Timeout { get; set; }
    [Parameter("smtpd_session_timeout", "3600s", "Total time limit for one SMTP session, after which it gets 421 and is closed.")]
    public TimeSpan SessionTimeout { get; set; }
    [Parameter("smtpd_soft_error_limit", "10", "Error count after which each further error delays the reply by smtpd_error_sleep_time.")]
    public int SoftErrorLimit { get; set; }
    [Parameter("smtpd_hard_error_limit", "20", "Error count after which the server answers 421 and disconnects.")]
    public int HardErrorLimit { get; set; }
    [Parameter("smtpd_error_sleep_time", "1s", "Delay before replying to an error once the soft error limit is reached.")]
    public TimeSpan ErrorSleepTime { get; set; }
    [Parameter("smtpd_session_limit", "10000", "Maximum number of concurrent SMTP sessions; further connections get 421 and are closed.")]
    public int SessionLimit { get; set; }
    [Parameter("smtpd_client_connection_count_limit", "50", "Maximum concurrent sessions from one client IP address (0 = no limit); mynetworks clients are exempt.")]
    public int ClientConnectionCountLimit { get; set; }
    [Parameter("smtpd_spool_memory_limit", "262144", "Message bytes held in memory per transaction before spooling to a temporary file.")]
    public int SpoolMemoryLimit { get; set; }
    [Parameter("smtpd_tls_security_level", "may", "SMTP server TLS: 'none', 'may' (offer STARTTLS) or 'encrypt' (require it before MAIL).")]
    public string TlsSecurityLevel { get; set; } = "";
    [Parameter("smtpd_tls_cert_file", "", "PEM certificate chain for STARTTLS (empty: a self-signed certificate is generated under data_directory).")]
    public string TlsCertFile { get; set; } = "";
    [Parameter("smtpd_tls_key_file", "$smtpd_tls_cert_file", "PEM private key for smtpd_tls_cert_file.")]
    public string TlsKeyFile { get; set; } = "";
    [Parameter("smtpd_discard_ehlo_keywords", "", "EHLO keywords not announced (e.g. chunking, silent-discard).")]
    public IReadOnlyList<string> DiscardEhloKeywords { get; set; } = [];
    [Parameter("smtputf8_enable", "yes", "Announce and accept SMTPUTF8 (RFC 6531).")]
    public bool SmtpUtf8Enable { get; set; }
    [Parameter("smtpd_shutdown_timeout", "30s", "On SIGTERM, how long sessions in flight may take to finish before they are closed.")]
    public TimeSpan ShutdownTimeout { get; set; }
}

/// <summary>Routing and outbound delivery (postconf(5) relayhost, transport_maps, smtp_*, lmtp_*).</summary>
public sealed class DeliveryOptions
{
    [Parameter("relayhost", "", "Default next hop for non-local mail ([host]:port suppresses MX lookup); empty means MX lookup.")]
    public string RelayHost { get; set; } = "";
    [Parameter("transport_maps", "", "Lookup tables mapping recipient domains to transport:nexthop (texthash:/path or inline:{ domain=transport:nexthop, ... }).")]
    public IReadOnlyList<string> TransportMaps { get; set; } = [];
    [Parameter("default_transport", "smtp", "Transport for non-local destinations without a transport_maps entry (smtp, lmtp, discard, error).")]
    public string DefaultTransport { get; set; } = "";
    [Parameter("smtp_helo_name", "$myhostname", "Host name sent in EHLO/LHLO to next hops.")]
    public string HeloName { get; set; } = "";
    [Parameter("smtp_connect_timeout", "30s", "Time limit for completing a TCP connection to a next hop.")]
    public TimeSpan ConnectTimeout { get; set; }
    [Parameter("smtp_helo_timeout", "300s", "Time limit for the greeting and the EHLO reply.")]
    public TimeSpan HeloTimeout { get; set; }
    [Parameter("smtp_command_timeout", "300s", "Time limit for the reply to MAIL, RCPT, RSET, STARTTLS and QUIT.")]
    public TimeSpan CommandTimeout { get; set; }
    [Parameter("smtp_data_xfer_timeout", "180s", "Time limit for sending one chunk of message content.")]
    public TimeSpan DataTransferTimeout { get; set; }
    [Parameter("smtp_data_done_timeout", "600s", "Time limit for the reply to end-of-data.")]
    public TimeSpan DataDoneTimeout { get; set; }
    [Parameter("smtp_tls_security_level", "may", "SMTP client TLS: 'none', 'may' (opportunistic STARTTLS) or 'encrypt'.")]
    public string TlsSecurityLevel { get; set; } = "";
    [Parameter("smtp_mx_address_limit", "5", "Maximum number of MX host addresses tried per delivery.")]
    public int MxAddressLimit { get; set; }
    [Parameter("smtp_connection_cache_on_demand", "yes", "Keep the SMTP/LMTP connection to a next hop open after a completed transaction and reuse it for the next message to the same endpoint (IP:port or socket, transport, TLS state, HELO name); Postfix CONNECTION_CACHE_README. Here every delivery uses the cache, as pre-queue relay has no queue backlog to wait for.")]
    public bool ConnectionCacheOnDemand { get; set; }
    [Parameter("smtp_connection_cache_time_limit", "2s", "How long an idle cached connection stays open before it is closed (QUIT, best effort).")]
    public TimeSpan ConnectionCacheTimeLimit { get; set; }
    [Parameter("smtp_connection_reuse_count_limit", "0", "How many times a connection may be reused before it is closed (0 = no limit).")]
    public int ConnectionReuseCountLimit { get; set; }
    [Parameter("smtp_connection_reuse_time_limit", "300s", "How long after it was opened a connection may still be reused; older ones are closed after their transaction.")]
    public TimeSpan ConnectionReuseTimeLimit { get; set; }
    [Parameter("smtp_connection_cache_endpoint_limit", "100", "Maximum idle cached connections per endpoint (IP:port or socket, transport, TLS state, HELO name); a connection beyond it is closed after its transaction. Not in Postfix, where the number of smtp(8) processes (default_process_limit = 100) bounds the cache.")]
    public int ConnectionCacheEndpointLimit { get; set; }
    [Parameter("smtp_chunking_size_limit", "65536", "Largest message in bytes the SMTP client sends as one BDAT LAST in the same write as MAIL and RCPT when the next hop offers CHUNKING and PIPELINING (RFC 3030): one round trip per message instead of two. Larger messages, LMTP and 0 use DATA; at most 16777216 (the message is held in memory). Not in Postfix, whose client always uses DATA.")]
    public int ChunkingSizeLimit { get; set; }
    [Parameter("dns_resolver", "", "DNS server(s) for MX/A/AAAA lookups, host or host:port (empty: /etc/resolv.conf).")]
    public IReadOnlyList<string> DnsResolver { get; set; } = [];
    [Parameter("maildir_base", "$data_directory/mail", "Directory under which local recipients get a Maildir named after their address.")]
    public string MaildirBase { get; set; } = "";
    [Parameter("prequeue_delivery_deadline", "60s", "How long delivery after end-of-data may take before undelivered recipients are queued and the client gets 250.")]
    public TimeSpan PrequeueDeliveryDeadline { get; set; }
    [Parameter("prequeue_max_inflight", "500", "Maximum messages in pre-queue delivery at once; beyond it messages are queued directly (the load-spike fallback).")]
    public int PrequeueMaxInflight { get; set; }
}

/// <summary>The queue and its runner (postconf(5) queue_directory, *_backoff_time, maximal_queue_lifetime).</summary>
public sealed class QueueOptions
{
    [Parameter("queue_directory", "$data_directory/queue", "Directory of the durable local queue.")]
    public string QueueDirectory { get; set; } = "";
    [Parameter("queue_run_delay", "300s", "How often the queue runner scans for due messages.")]
    public TimeSpan QueueRunDelay { get; set; }
    [Parameter("minimal_backoff_time", "300s", "Minimal time between attempts to deliver a deferred message.")]
    public TimeSpan MinimalBackoffTime { get; set; }
    [Parameter("maximal_backoff_time", "4000s", "Maximal time between attempts to deliver a deferred message.")]
    public TimeSpan MaximalBackoffTime { get; set; }
    [Parameter("maximal_queue_lifetime", "5d", "How long a message may stay queued before it is bounced as undeliverable.", DefaultTimeUnit = 'd')]
    public TimeSpan MaximalQueueLifetime { get; set; }
    [Parameter("bounce_queue_lifetime", "5d", "Queue lifetime of bounces (null sender); after it they are dropped.", DefaultTimeUnit = 'd')]
    public TimeSpan BounceQueueLifetime { get; set; }
    [Parameter("qmgr_message_active_limit", "20", "Maximum queued messages the runner delivers at once.")]
    public int ActiveLimit { get; set; }
}
