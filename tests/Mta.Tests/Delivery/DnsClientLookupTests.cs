// DnsClientLookup against a tiny in-process UDP DNS server (RFC 1035 4.1 message format): MX, null MX
// (RFC 7505), NODATA, NXDOMAIN, SERVFAIL, A+AAAA; and dns_resolver parsing.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mta.Delivery;

namespace Mta.Tests.Delivery;

public sealed class DnsClientLookupTests : IAsyncDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public DnsClientLookupTests() => _loop = ServeAsync();

    private int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

    private async Task ServeAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var q = await _udp.ReceiveAsync(_stop.Token);
                var reply = Answer(q.Buffer);
                if (reply != null) await _udp.SendAsync(reply, q.RemoteEndPoint, _stop.Token);
            }
        }
        catch (Exception) { }
    }

    private static byte[]? Answer(byte[] query)
    {
        int p = 12;
        var labels = new List<string>();
        while (query[p] != 0) { labels.Add(Encoding.ASCII.GetString(query, p + 1, query[p])); p += query[p] + 1; }
        p++;
        int qtype = BinaryPrimitives.ReadUInt16BigEndian(query.AsSpan(p));
        int questionEnd = p + 4;
        string name = string.Join('.', labels).ToLowerInvariant();
        int rcode = 0;
        var answers = new List<(int Type, byte[] Data)>();
        switch (name, qtype)
        {
            case ("mx.example", 15): answers.Add((15, Mx(20, "mx2.example"))); answers.Add((15, Mx(10, "mx1.example"))); break;
            case ("null.example", 15): answers.Add((15, Mx(0, ""))); break;
            case ("nomx.example", 1): answers.Add((1, [192, 0, 2, 1])); break;
            case ("host.example", 1): answers.Add((1, [192, 0, 2, 7])); break;
            case ("host.example", 28): answers.Add((28, IPAddress.Parse("2001:db8::7").GetAddressBytes())); break;
            case ("gone.example", _): rcode = 3; break;
            case ("fail.example", _): rcode = 2; break;
        }
        var r = new List<byte>();
        r.AddRange(query.AsSpan(0, 2).ToArray());
        r.Add((byte)(0x80 | (query[2] & 0x01))); r.Add((byte)(0x80 | rcode));
        r.AddRange(new byte[] { 0, 1, 0, (byte)answers.Count, 0, 0, 0, 0 });
        r.AddRange(query.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var (type, data) in answers)
        {
            r.AddRange(new byte[] { 0xC0, 12, 0, (byte)type, 0, 1, 0, 0, 0, 60, (byte)(data.Length >> 8), (byte)data.Length });
            r.AddRange(data);
        }
        return r.ToArray();

        static byte[] Mx(int pref, string host)
        {
            var b = new List<byte> { (byte)(pref >> 8), (byte)pref };
            foreach (var l in host.Split('.', StringSplitOptions.RemoveEmptyEntries)) { b.Add((byte)l.Length); b.AddRange(Encoding.ASCII.GetBytes(l)); }
            b.Add(0);
            return b.ToArray();
        }
    }

    private DnsClientLookup Lookup() => new(DnsClientLookup.CreateLookupClient([$"127.0.0.1:{Port}"]));

    [Fact]
    public async Task Mx_records_and_null_mx()
    {
        var mx = await Lookup().LookupMxAsync("mx.example", default);
        Assert.Equal(DnsLookupStatus.Found, mx.Status);
        Assert.Equal([new MxHost(20, "mx2.example"), new MxHost(10, "mx1.example")], mx.Records);
        var nul = await Lookup().LookupMxAsync("null.example", default);
        Assert.True(Assert.Single(nul.Records).IsNullMx);
    }

    [Fact]
    public async Task Nodata_nxdomain_and_servfail_are_distinct()
    {
        var l = Lookup();
        Assert.Equal(DnsLookupStatus.NoRecords, (await l.LookupMxAsync("nomx.example", default)).Status);
        Assert.Equal(DnsLookupStatus.NotFound, (await l.LookupMxAsync("gone.example", default)).Status);
        Assert.Equal(DnsLookupStatus.TempFail, (await l.LookupMxAsync("fail.example", default)).Status);
        Assert.Equal(DnsLookupStatus.NotFound, (await l.LookupAddressesAsync("gone.example", default)).Status);
        Assert.Equal(DnsLookupStatus.TempFail, (await l.LookupAddressesAsync("fail.example", default)).Status);
    }

    [Fact]
    public async Task Addresses_ipv4_first()
    {
        var a = await Lookup().LookupAddressesAsync("host.example", default);
        Assert.Equal([IPAddress.Parse("192.0.2.7"), IPAddress.Parse("2001:db8::7")], a.Records);
    }

    [Theory]
    [InlineData("[::1]:x")]
    [InlineData("127.0.0.1:0")]
    [InlineData("[::1")]
    public void Bad_dns_resolver_items_are_rejected(string item) =>
        Assert.Throws<FormatException>(() => DnsClientLookup.CreateLookupClient([item]));

    [Fact]
    public void Dns_resolver_forms_are_accepted()
    {
        Assert.NotNull(DnsClientLookup.CreateLookupClient(["127.0.0.1", "127.0.0.1:5353", "[::1]:53", "::1"]));
        Assert.NotNull(DnsClientLookup.CreateLookupClient([]));
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        await _loop;
    }
}
