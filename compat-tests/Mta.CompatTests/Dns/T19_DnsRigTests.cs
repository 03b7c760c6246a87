// T19 DnsRig: the rig itself and our DNSSEC-aware resolver against it, without the MTA. Unbound sets
// the AD bit (RFC 4035 3.2.3) only because DnsClientSecurityResolver asks with EDNS0 DO (RFC 3225):
// signed zone -> records with AD; unsigned zone -> records without AD; a corrupted RRSIG -> SERVFAIL
// (RFC 4035 5.5); an authenticated NXDOMAIN/NODATA carries AD too (NSEC proof). Names outside the test
// zones are refused, proving the resolver never goes to the internet.
using System.Net;
using DnsClient;
using Mta.Checks;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Dns;

/// <summary>NSD + Unbound answer as the security checks expect.</summary>
public sealed class T19_DnsRigTests(ITestOutputHelper output)
{
    private const string Tlsa = "3 1 1 0011223344556677889900112233445566778899001122334455667788990011";

    private static TestZone Zone(string name, ZoneSigning signing) => new(name,
    [
        $"{name}. IN MX 10 mx.{name}.",
        $"mx.{name}. IN A 192.0.2.25",
        $"_25._tcp.mx.{name}. IN TLSA {Tlsa}",
        $"_submission._tcp.{name}. IN SRV 0 1 587 mx.{name}.",
        $"sel._domainkey.{name}. IN TXT \"v=DKIM1; k=rsa; \" \"p=AAAA\"",
    ], signing);

    [Fact]
    public Task Ad_bit_follows_the_signing_of_each_zone() => Scenario.RunAsync(output, async s =>
    {
        var dns = s.Own(await DnsRig.StartAsync(s.Dir,
            [Zone("signed.test", ZoneSigning.Signed), Zone("plain.test", ZoneSigning.Unsigned), Zone("bogus.test", ZoneSigning.BrokenTlsaSignature)]));
        var resolver = DnsClientSecurityResolver.FromParameter([dns.Resolver], TimeSpan.FromSeconds(3));
        var ct = CancellationToken.None;

        var tlsa = await resolver.TlsaAsync("_25._tcp.mx.signed.test", ct);
        Assert.Equal(SecureDnsStatus.Found, tlsa.Status);
        Assert.True(tlsa.Authenticated);
        Assert.Equal(Tlsa, Assert.Single(tlsa.Records).ToString());   // RRSIGs in the answer are filtered out

        var mx = await resolver.MxAsync("signed.test", ct);
        Assert.True(mx.Authenticated);
        Assert.Equal(new MxData(10, "mx.signed.test"), Assert.Single(mx.Records));
        var txt = await resolver.TxtAsync("sel._domainkey.signed.test", ct);
        Assert.Equal("v=DKIM1; k=rsa; p=AAAA", Assert.Single(txt.Records));   // strings concatenated
        var srv = await resolver.SrvAsync("_submission._tcp.signed.test", ct);
        Assert.Equal(new SrvData(0, 1, 587, "mx.signed.test"), Assert.Single(srv.Records));
        var addresses = await resolver.AddressesAsync("mx.signed.test", ct);
        Assert.Equal([IPAddress.Parse("192.0.2.25")], addresses.Records);
        Assert.True(addresses.Authenticated);   // A with AD, AAAA NODATA with AD

        var missing = await resolver.TlsaAsync("_25._tcp.nothere.signed.test", ct);
        Assert.Equal(SecureDnsStatus.NxDomain, missing.Status);
        Assert.True(missing.Authenticated);
        var noData = await resolver.TlsaAsync("mx.signed.test", ct);
        Assert.Equal(SecureDnsStatus.NoData, noData.Status);
        Assert.True(noData.Authenticated);

        var plain = await resolver.TlsaAsync("_25._tcp.mx.plain.test", ct);
        Assert.Equal(SecureDnsStatus.Found, plain.Status);
        Assert.False(plain.Authenticated);

        var bogus = await resolver.TlsaAsync("_25._tcp.mx.bogus.test", ct);
        Assert.Equal(SecureDnsStatus.ServFail, bogus.Status);
        // only the TLSA RRset is broken: the rest of that zone still validates
        Assert.True((await resolver.MxAsync("bogus.test", ct)).Authenticated);

        // outside the test zones unbound refuses instead of asking the root servers
        var outside = await resolver.MxAsync("example.com", ct);
        Assert.Equal(SecureDnsStatus.Failed, outside.Status);
        Assert.Contains("Refused", outside.Error);
    });

    [Fact]
    public Task Without_the_do_bit_unbound_sends_no_ad_bit() => Scenario.RunAsync(output, async s =>
    {
        // why the resolver must set DO: the same signed answer without it comes back without AD (RFC 6840 5.7)
        var dns = s.Own(await DnsRig.StartAsync(s.Dir, [Zone("signed.test", ZoneSigning.Signed)]));
        var client = new LookupClient(new LookupClientOptions(new IPEndPoint(IPAddress.Loopback, dns.UnboundPort)) { UseCache = false });
        var plain = await client.QueryAsync("signed.test", QueryType.MX);
        Assert.False(plain.Header.IsAuthenticData);
        var withDo = await client.QueryAsync(new DnsQuestion("signed.test", QueryType.MX),
            new DnsQueryAndServerOptions(new IPEndPoint(IPAddress.Loopback, dns.UnboundPort)) { RequestDnsSecRecords = true, UseCache = false });
        Assert.True(withDo.Header.IsAuthenticData);
    });
}
