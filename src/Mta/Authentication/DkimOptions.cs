// DkimOptions: DKIM signing and verification parameters (new names in Postfix style; OpenDKIM's
// KeyTable/SigningTable and InternalHosts concepts folded into two parameters and mynetworks).
using Mta.Configuration;

namespace Mta.Authentication;

/// <summary>DKIM settings.</summary>
public sealed class DkimOptions
{
    [Parameter("dkim_signing_keys", "", "DKIM keys as DOMAIN:SELECTOR:/absolute/key.pem entries (RSA 2048+ and/or Ed25519 per domain); empty means no signing. `mta dkim keygen` prints the entry.")]
    public IReadOnlyList<string> SigningKeys { get; set; } = [];
    [Parameter("dkim_verify", "yes", "Verify DKIM signatures on mail from clients outside mynetworks and add an Authentication-Results header.")]
    public bool Verify { get; set; }
    [Parameter("authserv_id", "$myhostname", "Our authserv-id in Authentication-Results (RFC 8601); incoming headers that claim it are removed.")]
    public string AuthservId { get; set; } = "";
    [Parameter("dkim_verify_max_signatures", "10", "Most DKIM signatures verified per message.")]
    public int VerifyMaxSignatures { get; set; }
}
