// MilterClient message content: header value formatting, body chunking at 65535 bytes, SKIP during body,
// end-of-message modification stream (every kind, REPLBODY concatenation, >64 KiB inbound, error cases).
using Mta.Milter.Protocol;
using Mta.Milter.Tests.Support;
using static Mta.Milter.Tests.Support.FakeMilter;

namespace Mta.Milter.Tests.Client;

public class ClientContentTests
{
    private const uint NrAllButEob = 0x0FF080; // rspamd style: no replies before EOB

    private static async Task<(MilterClient, FakeMilter)> InMessageAsync(uint protocol = NrAllButEob)
    {
        // The envelope events never wait (NR_CONN..NR_DATA) so the tests can focus on content replies.
        var (client, milter) = await StartAsync(protocol: protocol | 0x1F000);
        await client.ConnectEventAsync("h", MilterAddressFamily.Inet, 25, "192.0.2.1");
        await client.MailAsync(["<a@b>"]);
        await client.RcptAsync(["<c@d>"]);
        await client.DataAsync();
        milter.Drain();
        return (client, milter);
    }

    [Theory]
    [InlineData(" value", "value")]
    [InlineData("  two spaces", " two spaces")]
    [InlineData("\ttab kept", "\ttab kept")]
    [InlineData("", "")]
    [InlineData(" folded\r\n\tsecond\r\n third", "folded\n\tsecond\n third")]
    [InlineData(" lf\n\tfold", "lf\n\tfold")]
    public async Task Header_value_one_leading_space_removed_folds_as_lf(string raw, string sent)
    {
        var (client, milter) = await InMessageAsync();
        await client.HeaderAsync("Subject ", raw);
        await milter.ExpectAsync('D', [(byte)'L']);
        await milter.ExpectAsync('L', Z("Subject", sent));
    }

    [Fact]
    public async Task Header_value_kept_verbatim_with_leadspc()
    {
        var (client, milter) = await InMessageAsync(NrAllButEob | 0x100000);
        await client.HeaderAsync("Subject", " folded\r\n\tline");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('L', Z("Subject", " folded\n\tline"));
    }

    [Theory]
    [InlineData(65535, new[] { 65535 })]
    [InlineData(65536, new[] { 65535, 1 })]
    [InlineData(131071, new[] { 65535, 65535, 1 })]
    [InlineData(131070, new[] { 65535, 65535 })]
    [InlineData(10, new[] { 10 })]
    public async Task Body_chunks_are_65535_bytes(int size, int[] chunks)
    {
        var (client, milter) = await InMessageAsync();
        await client.EndOfHeadersAsync();
        var body = new byte[size];
        for (int i = 0; i < size; i++) body[i] = (byte)('a' + i % 26);
        // Feed in odd pieces: chunking must not depend on how the host splits the body.
        for (int off = 0; off < size; off += 7001)
            await client.BodyAsync(body.AsMemory(off, Math.Min(7001, size - off)));
        var eob = client.EndOfMessageAsync();
        var got = new List<byte>();
        var sizes = new List<int>();
        while (true)
        {
            var p = await milter.ReadAsync();
            if (p.Code == 'B')
            {
                sizes.Add(p.Payload.Length);
                got.AddRange(p.Payload.ToArray());
            }
            if (p.Code == 'E') break;
        }
        Assert.Equal(chunks, sizes);
        Assert.Equal(body, got.ToArray());
        await milter.SendAsync('c');
        Assert.Equal(MilterAction.Continue, (await eob).Response.Action);
    }

    [Fact]
    public async Task Empty_body_sends_eoh_then_eob_only()
    {
        var (client, milter) = await InMessageAsync();
        await client.EndOfHeadersAsync();
        var eob = client.EndOfMessageAsync();
        var codes = new List<char>();
        while (true)
        {
            var p = await milter.ReadAsync();
            codes.Add((char)p.Code);
            if (p.Code == 'E')
            {
                Assert.True(p.Payload.IsEmpty);
                break;
            }
        }
        Assert.Equal("DNDE", new string([.. codes]));
        await milter.SendAsync('a');
        await eob;
    }

    [Fact]
    public async Task Skip_stops_body_chunks_until_eob()
    {
        var (client, milter) = await InMessageAsync(protocol: 0);
        var t = client.BodyAsync(new byte[65535 * 3 + 5]);
        await milter.ExpectAsync('D', [(byte)'B']);
        await milter.ExpectAsync('B');
        await milter.SendAsync('s');
        Assert.Equal(MilterResponse.Skip, await t);
        Assert.Equal(MilterResponse.Skip, await client.BodyAsync(new byte[70000]));
        Assert.Empty(milter.Drain());
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D', [(byte)'E']);
        await milter.ExpectAsync('E', []);
        await milter.SendAsync('c');
        Assert.Equal(MilterResponse.Continue, (await eob).Response);
    }

    [Fact]
    public async Task Reject_at_header_stops_content_and_eob_returns_it()
    {
        var (client, milter) = await InMessageAsync(protocol: 0);
        var t = client.HeaderAsync("From", " spammer");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('L');
        await milter.SendAsync('r');
        Assert.Equal(MilterResponse.Reject, await t);
        Assert.Equal(MilterResponse.Reject, await client.HeaderAsync("To", " x"));
        Assert.Equal(MilterResponse.Reject, await client.BodyAsync(new byte[100000]));
        var eob = await client.EndOfMessageAsync();
        Assert.Equal(MilterResponse.Reject, eob.Response);
        Assert.Empty(eob.Modifications);
        Assert.Empty(milter.Drain());
        Assert.Equal(MilterSessionState.Envelope, client.State);
    }

    [Fact]
    public async Task Eob_collects_every_modification_in_order()
    {
        var (client, milter) = await InMessageAsync();
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D', [(byte)'E']);
        await milter.ExpectAsync('E');
        await milter.SendAsync('h', Z("X-A", "1"));
        await milter.SendAsync('i', Cat(U32(1), Z("DKIM-Signature", "v=1;\n\tb=x")));
        await milter.SendAsync('m', Cat(U32(2), Z("X-Spam", "")));
        await milter.SendAsync('+', Z("<new@rcpt>"));
        await milter.SendAsync('2', Z("<p@rcpt>", "NOTIFY=NEVER"));
        await milter.SendAsync('2', Z("<q@rcpt>"));
        await milter.SendAsync('-', Z("<old@rcpt>"));
        await milter.SendAsync('e', Z("<s@x>"));
        await milter.SendAsync('e', Z("<s@x>", "RET=HDRS"));
        await milter.SendAsync('p');
        await milter.SendAsync('q', Z("spam"));
        await milter.SendAsync('b', "new "u8.ToArray());
        await milter.SendAsync('b', "body\r\n"u8.ToArray());
        await milter.SendAsync('a');
        var r = await eob;
        Assert.Equal(MilterAction.Accept, r.Response.Action);
        Assert.Equal("spam", r.Response.QuarantineReason);
        Assert.Equal(10, r.Modifications.Count);
        Assert.Equal(new MilterModification.AddHeader("X-A", "1"), r.Modifications[0]);
        Assert.Equal(new MilterModification.InsertHeader(1, "DKIM-Signature", "v=1;\n\tb=x"), r.Modifications[1]);
        var chg = Assert.IsType<MilterModification.ChangeHeader>(r.Modifications[2]);
        Assert.True(chg.IsDelete);
        Assert.Equal(2u, chg.Index);
        Assert.Equal(new MilterModification.AddRecipient("<new@rcpt>"), r.Modifications[3]);
        Assert.Equal(new MilterModification.AddRecipientWithArgs("<p@rcpt>", "NOTIFY=NEVER"), r.Modifications[4]);
        Assert.Equal(new MilterModification.AddRecipientWithArgs("<q@rcpt>", ""), r.Modifications[5]);
        Assert.Equal(new MilterModification.DeleteRecipient("<old@rcpt>"), r.Modifications[6]);
        Assert.Equal(new MilterModification.ChangeSender("<s@x>", ""), r.Modifications[7]);
        Assert.Equal(new MilterModification.ChangeSender("<s@x>", "RET=HDRS"), r.Modifications[8]);
        var body = Assert.IsType<MilterModification.ReplaceBody>(r.Modifications[9]);
        Assert.Equal("new body\r\n"u8.ToArray(), body.Body.ToArray());
        Assert.Equal(MilterSessionState.Envelope, client.State);
    }

    [Fact]
    public async Task Replbody_larger_than_64KiB_in_one_packet()
    {
        var (client, milter) = await InMessageAsync();
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('E');
        var big = new byte[300_000];
        Array.Fill(big, (byte)'x');
        await milter.SendAsync('b', big);
        await milter.SendAsync('c');
        var r = await eob;
        Assert.Equal(300_000, Assert.IsType<MilterModification.ReplaceBody>(Assert.Single(r.Modifications)).Body.Length);
    }

    [Fact]
    public async Task Replbody_after_other_edit_following_replbody_is_a_configuration_error()
    {
        var (client, milter) = await InMessageAsync();
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('E');
        await milter.SendAsync('b', (byte)'a');
        await milter.SendAsync('h', Z("X", "y"));
        await milter.SendAsync('b', (byte)'b');
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => eob);
        Assert.Equal(MilterFailureKind.Configuration, ex.Kind);
        Assert.Contains("can't currently be mixed", ex.Message);
    }

    [Fact]
    public async Task Chgheader_with_empty_name_is_a_configuration_error()
    {
        var (client, milter) = await InMessageAsync();
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('E');
        await milter.SendAsync('m', Cat(U32(1), Z("", "v")));
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => eob);
        Assert.Equal(MilterFailureKind.Configuration, ex.Kind);
        Assert.Contains("null change header name", ex.Message);
    }

    public static TheoryData<char, byte[]> MalformedModifications => new()
    {
        { 'h', Z("only-name") },
        { 'h', Cat(Z("X", "y"), [1]) },
        { 'i', [0, 0, 1] },
        { 'i', Cat(U32(1), Z("X"), [(byte)'y']) },
        { 'm', Cat(U32(1), Z("X")) },
        { '+', [] },
        { '+', Z("a", "b") },
        { '-', [(byte)'x'] },
        { 'e', Z("a", "b", "c") },
        { '2', Z("a", "b", "c") },
    };

    [Theory]
    [MemberData(nameof(MalformedModifications))]
    public async Task Malformed_modification_is_a_communication_error(char code, byte[] payload)
    {
        var (client, milter) = await InMessageAsync();
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('E');
        await milter.SendAsync(code, payload);
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => eob);
        Assert.Equal(MilterFailureKind.Communication, ex.Kind);
        Assert.Equal(MilterSessionState.Error, client.State);
    }

    [Fact]
    public async Task Nr_flags_never_apply_to_eob()
    {
        var (client, milter) = await InMessageAsync(protocol: 0x1FFFFF & ~0x7Fu & ~0x300u);
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('E');
        Assert.False(eob.IsCompleted);
        await milter.SendAsync('t');
        Assert.Equal(MilterResponse.TempFail, (await eob).Response);
    }

    [Fact]
    public async Task Nobody_flag_drops_body_bytes_entirely()
    {
        var (client, milter) = await InMessageAsync(protocol: NrAllButEob | 0x10);
        await client.BodyAsync(new byte[200_000]);
        Assert.Empty(milter.Drain());
        var eob = client.EndOfMessageAsync();
        await milter.ExpectAsync('D', [(byte)'E']);
        await milter.ExpectAsync('E');
        await milter.SendAsync('c');
        await eob;
    }
}
