// Negotiation matrix: for every offered version (2, 3, 4, 6) and several milter protocol masks, which
// events (and which macro packets) go on the wire and which replies the client waits for. The expected
// model is written from Postfix milter8.c independently of the client code.
using Microsoft.Extensions.Time.Testing;
using Mta.Milter.Protocol;
using Mta.Milter.Tests.Support;

namespace Mta.Milter.Tests.Client;

public class NegotiationMatrixTests
{
    private const uint NR = 0x0FF080;

    public static TheoryData<int, uint> Cases()
    {
        var data = new TheoryData<int, uint>();
        uint[] masks =
        [
            0,
            0x37F,                  // every NO* flag
            NR,                     // rspamd: every NR_* flag
            0x2 | 0x8000 | 0x10 | 0x40000,   // NOHELO, NR_RCPT, NOBODY, NR_EOH
            0x20 | 0x1000 | 0x200 | 0x20000, // NOHDRS, NR_CONN, NODATA, NR_UNKN
            0x80,                   // NR_HDR only
            0x1 | 0x4 | 0x100 | 0x80000 | 0x10000 | 0x2000, // NOCONNECT, NOMAIL, NOUNKNOWN, NR_BODY, NR_DATA, NR_HELO
        ];
        foreach (var v in new[] { 2, 3, 4, 6 })
            foreach (var m in masks)
                data.Add(v, m);
        return data;
    }

    private sealed record Step(char Code, uint NoFlag, uint NrFlag, bool Content, int MinVersion);

    private static readonly Step[] Steps =
    [
        new('C', 0x1, 0x1000, false, 2),
        new('H', 0x2, 0x2000, false, 2),
        new('M', 0x4, 0x4000, false, 2),
        new('R', 0x8, 0x8000, false, 2),
        new('U', 0x100, 0x20000, false, 3),
        new('T', 0x200, 0x10000, false, 4),
        new('L', 0x20, 0x80, true, 2),
        new('N', 0x40, 0x40000, true, 2),
        new('B', 0x10, 0x80000, true, 2),
        new('E', 0, 0, true, 2),
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Events_sent_and_replies_awaited(int version, uint milterProtocol)
    {
        var options = new MilterClientOptions { ProtocolVersion = version, TimeProvider = new FakeTimeProvider() };
        var (client, milter) = await FakeMilter.StartAsync(version: (uint)version, protocol: milterProtocol, options: options);
        var macros = new Dictionary<string, string> { ["i"] = "QID", ["j"] = "mx" };

        Func<Task>[] calls =
        [
            () => client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1", macros),
            () => client.HeloAsync("helo", macros),
            () => client.MailAsync(["<a@b>"], macros),
            () => client.RcptAsync(["<c@d>"], macros),
            () => client.UnknownAsync("FOO", macros),
            () => client.DataAsync(macros),
            () => client.HeaderAsync("Subject", " hi", macros),
            () => client.EndOfHeadersAsync(macros),
            () => client.BodyAsync(new byte[70000], macros),
            () => client.EndOfMessageAsync(macros),
        ];

        for (int i = 0; i < Steps.Length; i++)
        {
            var step = Steps[i];
            bool nonProtocol = version < step.MinVersion;
            bool wantsNo = (milterProtocol & step.NoFlag) != 0;
            bool expectEvent = !nonProtocol && !wantsNo;
            // Content events are not produced at all under NO*; envelope events still send their macros.
            bool expectMacros = step.Content ? !wantsNo : !nonProtocol;
            bool expectWait = expectEvent && (step.NrFlag == 0 || (milterProtocol & step.NrFlag) == 0);

            int waits = milter.ClientWaits;
            var t = calls[i]();
            var packets = new List<MilterPacket>();
            int replies = 0;
            while (true)
            {
                var until = DateTime.UtcNow.AddSeconds(10);
                while (!t.IsCompleted && milter.ClientWaits == waits)
                {
                    Assert.True(DateTime.UtcNow < until, "client hung");
                    await Task.Delay(1);
                }
                waits = milter.ClientWaits;
                packets.AddRange(milter.Drain());
                if (t.IsCompleted) break;
                await milter.SendAsync('c');
                replies++;
            }
            await t;

            var events = packets.Where(p => p.Code != 'D').ToList();
            var macroPackets = packets.Where(p => p.Code == 'D').ToList();
            string where = $"v{version} proto=0x{milterProtocol:x} event {step.Code}";
            if (step.Code == 'E')
            {
                bool bodyWanted = (milterProtocol & 0x10) == 0;
                bool bodyWait = bodyWanted && (milterProtocol & 0x80000) == 0;
                Assert.Equal(bodyWanted ? "BE" : "E", new string([.. events.Select(p => (char)p.Code)]));
                if (bodyWanted) Assert.Equal(70000 - 65535, events[0].Payload.Length);
                Assert.Equal(bodyWanted ? "BE" : "E", new string([.. macroPackets.Select(p => (char)p.Payload.Span[0])]));
                Assert.Equal((bodyWait ? 1 : 0) + 1, replies);
                continue;
            }
            Assert.True(expectEvent == events.Any(p => p.Code == step.Code), where + " sent");
            Assert.True(events.All(p => p.Code == step.Code), where + " only its own event");
            Assert.True(expectMacros == (macroPackets.Count > 0), where + " macros");
            Assert.All(macroPackets, d => Assert.Equal((byte)step.Code, d.Payload.Span[0]));
            Assert.True(expectWait == (replies > 0), where + " waited");
            if (step.Code == 'B' && expectEvent)
                Assert.Equal(65535, Assert.Single(events).Payload.Length); // the rest is held for EOB
        }
        Assert.Equal(MilterSessionState.Envelope, client.State);
    }

    [Fact]
    public async Task Rspamd_negotiation_never_waits_before_eob()
    {
        // rspamd answers version 6, actions offered|0x3F, protocol 0x0FF080, no macro lists, and says nothing until EOB.
        var (client, milter) = await FakeMilter.StartAsync(version: 6, actions: 0x1FF, protocol: NR);
        int waits = milter.ClientWaits;
        Assert.Equal(MilterResponse.Continue, await client.ConnectEventAsync("mail.example", MilterAddressFamily.Inet, 4711, "192.0.2.7"));
        Assert.Equal(MilterResponse.Continue, await client.HeloAsync("client.example"));
        Assert.Equal(MilterResponse.Continue, await client.MailAsync(["<a@example.org>"]));
        Assert.Equal(MilterResponse.Continue, await client.RcptAsync(["<b@example.net>"]));
        Assert.Equal(MilterResponse.Continue, await client.DataAsync());
        Assert.Equal(MilterResponse.Continue, await client.HeaderAsync("From", " a@example.org"));
        Assert.Equal(MilterResponse.Continue, await client.EndOfHeadersAsync());
        Assert.Equal(MilterResponse.Continue, await client.BodyAsync("hello\r\n"u8.ToArray()));
        Assert.Equal(waits, milter.ClientWaits); // never waited for a reply before EOB
        var eob = client.EndOfMessageAsync();
        var codes = new List<char>();
        while (true)
        {
            var p = await milter.ReadAsync();
            codes.Add((char)p.Code);
            if (p.Code == 'E') break;
        }
        Assert.Equal("DCDHDMDRDTDLDNDBDE", new string([.. codes]));
        await milter.SendAsync('m', FakeMilter.Cat(FakeMilter.U32(1), FakeMilter.Z("X-Spam", "Yes")));
        await milter.SendAsync('a');
        var result = await eob;
        Assert.Equal(MilterAction.Accept, result.Response.Action);
        Assert.Single(result.Modifications);
    }
}
