// TLSA matching (RFC 6698 2.1, RFC 7671 5.1/5.2, RFC 7672 3.1.3): every usage x selector x matching
// type combination against a CA-issued chain, with association data computed here independently
// (from the generating key and the certificate's DER), plus the unusable and non-matching cases.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Mta.Checks;

namespace Mta.Tests.Checks;

public class TlsaMatcherTests
{
    private static readonly Issued CaCert = TestPki.Ca();
    private static readonly Issued LeafCert = TestPki.Leaf(CaCert, ["mx.example.org"]);
    private static readonly Issued Other = TestPki.SelfSigned(["mx.example.org"]);
    private static readonly X509Certificate2[] Chain = [LeafCert.Certificate, CaCert.Certificate];

    private static byte[] Expected(Issued subject, byte selector, byte matching)
    {
        byte[] content = selector == 0 ? subject.Certificate.Export(X509ContentType.Cert) : subject.Key.ExportSubjectPublicKeyInfo();
        return matching switch { 0 => content, 1 => SHA256.HashData(content), _ => SHA512.HashData(content) };
    }

    public static TheoryData<byte, byte, byte> AllCombinations()
    {
        var data = new TheoryData<byte, byte, byte>();
        foreach (byte u in new byte[] { 2, 3 })
            foreach (byte s in new byte[] { 0, 1 })
                foreach (byte m in new byte[] { 0, 1, 2 })
                    data.Add(u, s, m);
        return data;
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void Record_for_the_right_certificate_matches(byte usage, byte selector, byte matching)
    {
        Issued subject = usage == 3 ? LeafCert : CaCert;
        var record = new TlsaData(usage, selector, matching, Expected(subject, selector, matching));
        Assert.True(TlsaMatcher.IsUsableForSmtp(record));
        Assert.True(TlsaMatcher.Matches(record, Chain));
        Assert.Equal(record.AssociationData, TlsaMatcher.AssociationData(subject.Certificate, selector, matching));
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void Record_for_another_certificate_does_not_match(byte usage, byte selector, byte matching)
    {
        var record = new TlsaData(usage, selector, matching, Expected(Other, selector, matching));
        Assert.False(TlsaMatcher.Matches(record, Chain));
    }

    [Theory]
    [MemberData(nameof(AllCombinations))]
    public void Usage_decides_which_certificate_of_the_chain_is_compared(byte usage, byte selector, byte matching)
    {
        // a DANE-EE record holding the CA's data, or a DANE-TA record holding the leaf's, does not match
        Issued wrong = usage == 3 ? CaCert : LeafCert;
        Assert.False(TlsaMatcher.Matches(new TlsaData(usage, selector, matching, Expected(wrong, selector, matching)), Chain));
    }

    [Fact]
    public void Dane_ta_needs_the_issuer_in_the_presented_chain()
    {
        var record = new TlsaData(2, 1, 1, Expected(CaCert, 1, 1));
        Assert.False(TlsaMatcher.Matches(record, [LeafCert.Certificate]));
    }

    [Theory]
    [InlineData(0, 1, 1)] // PKIX-TA: unusable for SMTP (RFC 7672 3.1.3)
    [InlineData(1, 1, 1)] // PKIX-EE: unusable for SMTP
    [InlineData(3, 2, 1)] // unknown selector
    [InlineData(3, 1, 3)] // unknown matching type
    [InlineData(4, 1, 1)] // unknown usage
    public void Unusable_records_never_match(byte usage, byte selector, byte matching)
    {
        byte[] data = Expected(usage is 0 ? CaCert : LeafCert, 1, 1);
        var record = new TlsaData(usage, selector, matching, data);
        Assert.False(TlsaMatcher.IsUsableForSmtp(record));
        Assert.False(TlsaMatcher.Matches(record, Chain));
    }

    [Fact]
    public void Truncated_association_data_does_not_match()
    {
        byte[] data = Expected(LeafCert, 1, 1);
        Assert.False(TlsaMatcher.Matches(new TlsaData(3, 1, 1, data[..31]), Chain));
    }

    [Fact]
    public void Record_to_publish_is_dane_ee_spki_sha256_in_zone_file_syntax()
    {
        string hex = Convert.ToHexStringLower(SHA256.HashData(LeafCert.Key.ExportSubjectPublicKeyInfo()));
        Assert.Equal($"_25._tcp.mx.example.org. IN TLSA 3 1 1 {hex}", TlsaMatcher.RecordFor("mx.example.org.", LeafCert.Certificate));
        Assert.Equal($"3 1 1 {hex}", new TlsaData(3, 1, 1, Convert.FromHexString(hex)).ToString());
    }

    [Fact]
    public void Unknown_selector_or_matching_type_cannot_be_computed()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsaMatcher.AssociationData(LeafCert.Certificate, 2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TlsaMatcher.AssociationData(LeafCert.Certificate, 1, 3));
    }
}
