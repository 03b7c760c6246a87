// PolicyRequestEncoder: writes a PolicyRequest as Postfix's attr_print_plain does:
// "name=value\n" per attribute in check_policy_service order, then "\n".
// Follows Postfix SMTPD_POLICY_README ("Protocol description"), util/attr_print_plain.c,
// smtpd_check.c check_policy_service, global/xtext.c (ccert_subject / ccert_issuer).
using System.Text;

namespace Mta.PolicyDelegation;

/// <summary>
/// Encodes <see cref="PolicyRequest"/> to its wire form: UTF-8 text of <c>name=value</c> lines ending in a
/// bare LF, in <see cref="AttributeNames"/> order, terminated by an empty line. Numbers are decimal.
/// Sanitizing (not done by Postfix, whose values cannot contain these): NUL is removed and LF is replaced by
/// a single space, so a value can never end the line or the request early. CR is kept.
/// </summary>
public static class PolicyRequestEncoder
{
    /// <summary>The <c>request</c> attribute value Postfix sends.</summary>
    public const string RequestType = "smtpd_access_policy";

    /// <summary>Attribute names in the order Postfix 3.12 sends them (smtpd_check.c check_policy_service).</summary>
    public static IReadOnlyList<string> AttributeNames { get; } =
    [
        "request", "protocol_state", "protocol_name", "client_address", "client_name", "client_port",
        "reverse_client_name", "server_address", "server_port", "helo_name", "sender", "recipient",
        "recipient_count", "queue_id", "instance", "size", "etrn_domain", "stress", "sasl_method",
        "sasl_username", "sasl_sender", "ccert_subject", "ccert_issuer", "ccert_fingerprint",
        "ccert_pubkey_fingerprint", "encryption_protocol", "encryption_cipher", "encryption_keysize",
        "tls_sni", "policy_context", "compatibility_level", "mail_version",
    ];

    /// <summary>The (name, value) pairs of <paramref name="request"/> in wire order, values already sanitized and encoded.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToAttributes(PolicyRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var r = request;
        var values = new string[]
        {
            RequestType,
            r.ProtocolState.ToWireName(),
            r.ProtocolName,
            r.ClientAddress,
            r.ClientName,
            r.ClientPort,
            r.ReverseClientName,
            r.ServerAddress,
            r.ServerPort,
            r.HeloName,
            r.Sender,
            r.Recipient,
            Unsigned(r.ProtocolState.CarriesRecipientCount() ? r.RecipientCount : 0),
            r.QueueId,
            r.Instance,
            Unsigned(r.Size),
            r.EtrnDomain,
            r.Stress,
            r.SaslMethod,
            r.SaslUsername,
            r.SaslSender,
            XtextQuote(r.CcertSubject),
            XtextQuote(r.CcertIssuer),
            r.CcertFingerprint,
            r.CcertPubkeyFingerprint,
            r.EncryptionProtocol,
            r.EncryptionCipher,
            Unsigned(r.EncryptionKeysize),
            r.TlsSni,
            r.PolicyContext,
            r.CompatibilityLevel,
            r.MailVersion,
        };
        var list = new KeyValuePair<string, string>[values.Length];
        for (int i = 0; i < values.Length; i++)
            list[i] = new(AttributeNames[i], Sanitize(values[i]));
        return list;
    }

    /// <summary>The complete request text: every attribute line plus the terminating empty line.</summary>
    public static string Encode(PolicyRequest request)
    {
        var sb = new StringBuilder(1024);
        foreach (var (name, value) in ToAttributes(request))
            sb.Append(name).Append('=').Append(value).Append('\n');
        sb.Append('\n');
        return sb.ToString();
    }

    /// <summary>The complete request as UTF-8 bytes, ready to write to the policy server.</summary>
    public static byte[] EncodeUtf8(PolicyRequest request) => Encoding.UTF8.GetBytes(Encode(request));

    /// <summary>Removes NUL and replaces LF by a space; null becomes empty.</summary>
    public static string Sanitize(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (value.AsSpan().IndexOfAny('\0', '\n') < 0) return value;
        var sb = new StringBuilder(value.Length);
        foreach (char c in value)
        {
            if (c == '\0') continue;
            sb.Append(c == '\n' ? ' ' : c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// xtext encoding as Postfix's xtext_quote with no extra specials: bytes 33..126 other than '+' stay,
    /// every other byte of the UTF-8 form becomes <c>+XX</c> (upper-case hex). '=' is not encoded.
    /// </summary>
    public static string XtextQuote(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        var sb = new StringBuilder(value.Length + 8);
        foreach (byte b in Encoding.UTF8.GetBytes(value))
        {
            if (b != (byte)'+' && b > 32 && b < 127) sb.Append((char)b);
            else sb.Append('+').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    private static string Unsigned(long value) =>
        ((ulong)Math.Max(0, value)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
