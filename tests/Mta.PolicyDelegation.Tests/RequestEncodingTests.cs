// Byte-exact request encoding per protocol_state (golden strings in Postfix 3.12 attribute order),
// sanitizing, xtext, recipient_count rule, instance format.
namespace Mta.PolicyDelegation.Tests;

public class RequestEncodingTests
{
    private static readonly PolicyRequest Session = new()
    {
        ProtocolName = "ESMTP",
        ClientAddress = "192.0.2.10",
        ClientName = "mail.example.org",
        ClientPort = "40312",
        ReverseClientName = "mail.example.org",
        ServerAddress = "198.51.100.1",
        ServerPort = "25",
        HeloName = "mail.example.org",
        CompatibilityLevel = "3.6",
        MailVersion = "3.12.0",
    };

    private static readonly PolicyRequest Transaction = Session with
    {
        Sender = "alice@example.org",
        Instance = "1f2a.67a0c3b1.5e3a1.0",
        Size = 12345,
    };

    [Fact]
    public void Connect_IsByteExact()
    {
        var r = new PolicyRequest
        {
            ProtocolState = PolicyProtocolState.Connect,
            ClientAddress = "192.0.2.10",
            ClientPort = "40312",
            ServerAddress = "198.51.100.1",
            ServerPort = "25",
            CompatibilityLevel = "3.6",
            MailVersion = "3.12.0",
        };
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=CONNECT\nprotocol_name=SMTP\nclient_address=192.0.2.10\n" +
            "client_name=unknown\nclient_port=40312\nreverse_client_name=unknown\nserver_address=198.51.100.1\n" +
            "server_port=25\nhelo_name=\nsender=\nrecipient=\nrecipient_count=0\nqueue_id=\ninstance=\nsize=0\n" +
            "etrn_domain=\nstress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\n" +
            "ccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\n" +
            "encryption_keysize=0\ntls_sni=\npolicy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(r));
    }

    [Fact]
    public void Ehlo_IsByteExact()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=EHLO\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=\nrecipient=\n" +
            "recipient_count=0\nqueue_id=\ninstance=\nsize=0\netrn_domain=\nstress=\nsasl_method=\nsasl_username=\n" +
            "sasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n" +
            "encryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\npolicy_context=\n" +
            "compatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Session with { ProtocolState = PolicyProtocolState.Ehlo }));
    }

    [Fact]
    public void Helo_IsByteExact()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=HELO\nprotocol_name=SMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=[192.0.2.10]\nsender=\nrecipient=\n" +
            "recipient_count=0\nqueue_id=\ninstance=\nsize=0\netrn_domain=\nstress=yes\nsasl_method=\nsasl_username=\n" +
            "sasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n" +
            "encryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\npolicy_context=\n" +
            "compatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Session with
            {
                ProtocolState = PolicyProtocolState.Helo, ProtocolName = "SMTP", HeloName = "[192.0.2.10]", Stress = "yes",
            }));
    }

    [Fact]
    public void Mail_IsByteExact_NullSenderIsEmpty()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=MAIL\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=\nrecipient=\n" +
            "recipient_count=0\nqueue_id=\ninstance=1f2a.67a0c3b1.5e3a1.0\nsize=12345\netrn_domain=\nstress=\n" +
            "sasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n" +
            "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\n" +
            "policy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Transaction with { ProtocolState = PolicyProtocolState.Mail, Sender = "" }));
    }

    [Fact]
    public void Rcpt_WithTlsAndSasl_IsByteExact_RecipientCountForcedToZero()
    {
        var r = Transaction with
        {
            ProtocolState = PolicyProtocolState.Rcpt,
            Recipient = "bob@example.net",
            RecipientCount = 3, // not sent at RCPT: Postfix sends 0
            SaslMethod = "PLAIN",
            SaslUsername = "alice",
            SaslSender = "alice@example.org",
            CcertSubject = "Client One+Co",
            CcertIssuer = "Example CA=1",
            CcertFingerprint = "AB:CD",
            CcertPubkeyFingerprint = "EF:01",
            EncryptionProtocol = "TLSv1.3",
            EncryptionCipher = "TLS_AES_256_GCM_SHA384",
            EncryptionKeysize = 256,
            TlsSni = "mx.example.net",
            PolicyContext = "ctx",
        };
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=alice@example.org\n" +
            "recipient=bob@example.net\nrecipient_count=0\nqueue_id=\ninstance=1f2a.67a0c3b1.5e3a1.0\nsize=12345\n" +
            "etrn_domain=\nstress=\nsasl_method=PLAIN\nsasl_username=alice\nsasl_sender=alice@example.org\n" +
            "ccert_subject=Client+20One+2BCo\nccert_issuer=Example+20CA=1\nccert_fingerprint=AB:CD\n" +
            "ccert_pubkey_fingerprint=EF:01\nencryption_protocol=TLSv1.3\nencryption_cipher=TLS_AES_256_GCM_SHA384\n" +
            "encryption_keysize=256\ntls_sni=mx.example.net\npolicy_context=ctx\ncompatibility_level=3.6\n" +
            "mail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(r));
    }

    [Fact]
    public void Data_IsByteExact_WithRecipientCount()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=DATA\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=alice@example.org\n" +
            "recipient=\nrecipient_count=2\nqueue_id=\ninstance=1f2a.67a0c3b1.5e3a1.0\nsize=12345\netrn_domain=\n" +
            "stress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n" +
            "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\n" +
            "policy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Transaction with { ProtocolState = PolicyProtocolState.Data, RecipientCount = 2 }));
    }

    [Fact]
    public void Bdat_IsSentAsData()
    {
        var bdat = PolicyRequestEncoder.Encode(Transaction with { ProtocolState = PolicyProtocolState.Bdat, RecipientCount = 2 });
        var data = PolicyRequestEncoder.Encode(Transaction with { ProtocolState = PolicyProtocolState.Data, RecipientCount = 2 });
        Assert.Equal(data, bdat);
    }

    [Fact]
    public void EndOfMessage_IsByteExact()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=alice@example.org\n" +
            "recipient=bob@example.net\nrecipient_count=1\nqueue_id=4XyZ1k0Qz7z9\ninstance=1f2a.67a0c3b1.5e3a1.0\n" +
            "size=20480\netrn_domain=\nstress=\nsasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\n" +
            "ccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\n" +
            "encryption_keysize=0\ntls_sni=\npolicy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Transaction with
            {
                ProtocolState = PolicyProtocolState.EndOfMessage, Recipient = "bob@example.net", RecipientCount = 1,
                QueueId = "4XyZ1k0Qz7z9", Size = 20480,
            }));
    }

    [Fact]
    public void Vrfy_IsByteExact()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=VRFY\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=\n" +
            "recipient=postmaster\nrecipient_count=0\nqueue_id=\ninstance=\nsize=0\netrn_domain=\nstress=\n" +
            "sasl_method=\nsasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n" +
            "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\n" +
            "policy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Session with { ProtocolState = PolicyProtocolState.Vrfy, Recipient = "postmaster" }));
    }

    [Fact]
    public void Etrn_IsByteExact()
    {
        Assert.Equal(
            "request=smtpd_access_policy\nprotocol_state=ETRN\nprotocol_name=ESMTP\nclient_address=192.0.2.10\n" +
            "client_name=mail.example.org\nclient_port=40312\nreverse_client_name=mail.example.org\n" +
            "server_address=198.51.100.1\nserver_port=25\nhelo_name=mail.example.org\nsender=\nrecipient=\n" +
            "recipient_count=0\nqueue_id=\ninstance=\nsize=0\netrn_domain=example.org\nstress=\nsasl_method=\n" +
            "sasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\nccert_fingerprint=\n" +
            "ccert_pubkey_fingerprint=\nencryption_protocol=\nencryption_cipher=\nencryption_keysize=0\ntls_sni=\n" +
            "policy_context=\ncompatibility_level=3.6\nmail_version=3.12.0\n\n",
            PolicyRequestEncoder.Encode(Session with { ProtocolState = PolicyProtocolState.Etrn, EtrnDomain = "example.org" }));
    }

    [Fact]
    public void AttributeOrder_MatchesPostfix_AndEveryRequestCarriesAll()
    {
        var names = PolicyRequestEncoder.ToAttributes(new PolicyRequest()).Select(a => a.Key).ToArray();
        Assert.Equal(32, names.Length);
        Assert.Equal(PolicyRequestEncoder.AttributeNames, names);
        Assert.Equal("request", names[0]);
        Assert.Equal("mail_version", names[^1]);
    }

    [Fact]
    public void Values_LfBecomesSpace_NulRemoved_CrKept()
    {
        var text = PolicyRequestEncoder.Encode(new PolicyRequest { HeloName = "a\nb\0c\rd" });
        Assert.Contains("\nhelo_name=a bc\rd\n", text);
        Assert.Equal(33, text.Split('\n').Length - 1); // 32 attribute lines + empty line
        Assert.EndsWith("\n\n", text);
    }

    [Fact]
    public void Xtext_EncodesPlusSpaceControlsAndNonAscii_NotEquals()
    {
        Assert.Equal("a+2Bb+20c=d+C3+A9+09", PolicyRequestEncoder.XtextQuote("a+b c=dé\t"));
        Assert.Equal("", PolicyRequestEncoder.XtextQuote(null));
    }

    [Fact]
    public void Utf8Values_AreSentAsUtf8()
    {
        var bytes = PolicyRequestEncoder.EncodeUtf8(new PolicyRequest { Sender = "jörg@example.de" });
        Assert.Contains("sender=j\u00f6rg@example.de\n", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Contains((byte)0xC3, bytes);
    }

    [Fact]
    public void Instance_Format_IsHexPidSecUsecSeq()
    {
        var t = DateTimeOffset.FromUnixTimeSeconds(0x67a0c3b1).AddTicks(0x5e3a1 * 10);
        Assert.Equal("1f2a.67a0c3b1.5e3a1.0", PolicyInstance.Format(0x1f2a, t, 0));
        Assert.Equal("1.0.0.ff", PolicyInstance.Format(1, DateTimeOffset.UnixEpoch, 255));
    }

    [Fact]
    public void Instance_Create_IsUniqueAndWellFormed()
    {
        var a = PolicyInstance.Create();
        var b = PolicyInstance.Create();
        Assert.NotEqual(a, b);
        Assert.Matches("^[0-9a-f]+\\.[0-9a-f]+\\.[0-9a-f]+\\.[0-9a-f]+$", a);
        Assert.StartsWith(Environment.ProcessId.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + ".", a);
    }
}
