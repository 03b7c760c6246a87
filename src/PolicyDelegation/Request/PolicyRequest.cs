// PolicyRequest: the attribute set of one "smtpd_access_policy" request, in Postfix's wire order.
// Follows Postfix SMTPD_POLICY_README ("Protocol description") and smtpd_check.c check_policy_service
// (Postfix 3.12 attribute list and order, TLS and SASL enabled as in Debian's build).
// Encoding (name=value LF lines, empty line) lives in PolicyRequestEncoder.cs.
namespace Mta.PolicyDelegation;

/// <summary>
/// One policy delegation request. Every request carries the full attribute set in Postfix's order
/// (<see cref="PolicyRequestEncoder.AttributeNames"/>); values that are not known are sent empty, numbers
/// as <c>0</c>. Strings are sent as given except that NUL is removed and LF is replaced by a space
/// (see <see cref="PolicyRequestEncoder"/>). Defaults mirror what Postfix sends before the value is known.
/// </summary>
public sealed record PolicyRequest
{
    /// <summary><c>protocol_state</c>: the SMTP stage (BDAT is sent as DATA).</summary>
    public PolicyProtocolState ProtocolState { get; init; } = PolicyProtocolState.Rcpt;

    /// <summary><c>protocol_name</c>: <c>SMTP</c> (default, also before HELO) or <c>ESMTP</c> after EHLO.</summary>
    public string ProtocolName { get; init; } = "SMTP";

    /// <summary><c>client_address</c>: client IP address text (IPv6 without brackets or prefix).</summary>
    public string ClientAddress { get; init; } = "";

    /// <summary><c>client_name</c>: forward-confirmed client hostname; Postfix sends <c>unknown</c> when not verified (default).</summary>
    public string ClientName { get; init; } = "unknown";

    /// <summary><c>client_port</c>: client TCP port as text (Postfix 3.0); empty when unknown.</summary>
    public string ClientPort { get; init; } = "";

    /// <summary><c>reverse_client_name</c>: PTR name, not verified; Postfix sends <c>unknown</c> when there is none (default).</summary>
    public string ReverseClientName { get; init; } = "unknown";

    /// <summary><c>server_address</c>: the local address the client connected to.</summary>
    public string ServerAddress { get; init; } = "";

    /// <summary><c>server_port</c>: the local port as text (Postfix 3.2).</summary>
    public string ServerPort { get; init; } = "";

    /// <summary><c>helo_name</c>: HELO/EHLO argument; empty before HELO.</summary>
    public string HeloName { get; init; } = "";

    /// <summary><c>sender</c>: MAIL FROM address without angle brackets; empty for the null sender and before MAIL.</summary>
    public string Sender { get; init; } = "";

    /// <summary>
    /// <c>recipient</c>: RCPT TO address without angle brackets. At DATA / END-OF-MESSAGE Postfix sends it only
    /// when exactly one recipient was accepted; the host sets it accordingly.
    /// </summary>
    public string Recipient { get; init; } = "";

    /// <summary>
    /// <c>recipient_count</c>: accepted recipients. Sent only at DATA, BDAT and END-OF-MESSAGE; at every
    /// other stage the encoder sends <c>0</c> whatever this says, as Postfix does.
    /// </summary>
    public int RecipientCount { get; init; }

    /// <summary><c>queue_id</c>: empty until a queue ID is assigned.</summary>
    public string QueueId { get; init; } = "";

    /// <summary><c>instance</c>: constant for all requests of one transaction, empty before MAIL FROM (see <see cref="PolicyInstance"/>).</summary>
    public string Instance { get; init; } = "";

    /// <summary><c>size</c>, bytes: MAIL FROM SIZE= value (0 when absent), the actual size at END-OF-MESSAGE.</summary>
    public long Size { get; init; }

    /// <summary><c>etrn_domain</c>: the ETRN argument; always sent (postgrey reacts to its presence).</summary>
    public string EtrnDomain { get; init; } = "";

    /// <summary><c>stress</c>: <c>yes</c> when the MTA is under stress, else empty.</summary>
    public string Stress { get; init; } = "";

    /// <summary><c>sasl_method</c>: SASL mechanism after AUTH, else empty.</summary>
    public string SaslMethod { get; init; } = "";

    /// <summary><c>sasl_username</c>: SASL login name after AUTH, else empty.</summary>
    public string SaslUsername { get; init; } = "";

    /// <summary><c>sasl_sender</c>: MAIL FROM AUTH= value, else empty.</summary>
    public string SaslSender { get; init; } = "";

    /// <summary>
    /// <c>ccert_subject</c>: the client certificate's subject CN, unencoded. Set it only when the certificate
    /// is trusted (Postfix sends empty otherwise); the encoder applies xtext encoding.
    /// </summary>
    public string CcertSubject { get; init; } = "";

    /// <summary><c>ccert_issuer</c>: the issuer CN, unencoded, only when trusted; xtext-encoded on the wire.</summary>
    public string CcertIssuer { get; init; } = "";

    /// <summary><c>ccert_fingerprint</c>: client certificate fingerprint (sent even if not trusted), empty in plaintext.</summary>
    public string CcertFingerprint { get; init; } = "";

    /// <summary><c>ccert_pubkey_fingerprint</c>: client public key fingerprint (Postfix 2.9), empty in plaintext.</summary>
    public string CcertPubkeyFingerprint { get; init; } = "";

    /// <summary><c>encryption_protocol</c>: e.g. <c>TLSv1.3</c>; empty in plaintext.</summary>
    public string EncryptionProtocol { get; init; } = "";

    /// <summary><c>encryption_cipher</c>: e.g. <c>TLS_AES_256_GCM_SHA384</c>; empty in plaintext.</summary>
    public string EncryptionCipher { get; init; } = "";

    /// <summary><c>encryption_keysize</c>, bits: cipher bits in use; <c>0</c> in plaintext.</summary>
    public int EncryptionKeysize { get; init; }

    /// <summary><c>tls_sni</c>: server name the client asked for (Postfix 3.12); empty in plaintext.</summary>
    public string TlsSni { get; init; } = "";

    /// <summary>
    /// <c>policy_context</c> (Postfix 3.1). <see cref="PolicyClient"/> overwrites it with the service's
    /// <c>policy_context</c> setting, as Postfix takes it from the service definition.
    /// </summary>
    public string PolicyContext { get; init; } = "";

    /// <summary><c>compatibility_level</c>: the MTA's compatibility level, e.g. <c>3.6</c>.</summary>
    public string CompatibilityLevel { get; init; } = "";

    /// <summary><c>mail_version</c> (Postfix 3.8): the MTA's version string.</summary>
    public string MailVersion { get; init; } = "";
}
