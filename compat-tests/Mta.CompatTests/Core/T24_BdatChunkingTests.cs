// T24 BdatChunking: RFC 3030 CHUNKING. A raw client sends one message in three BDAT chunks (the last
// with LAST); the MTA relays it to smtp-sink, which must store exactly the client's bytes after our
// Received: (smtp-sink stores LF line ends and undoes dot-stuffing, so the message is compared in that
// form). BDAT content is never dot-stuffed by the client, so lines that are ".", ".." or start with a
// dot must reach the next hop as lines of the message. smtp-sink (3.7) announces no CHUNKING, so the
// MTA relays with DATA and must stuff those lines, else
// the sink ends the message at the lone "." and the rest would be taken as commands. The chunk
// boundaries are chosen to hurt: at line ends; between the CR and the LF of one line end; right after
// the dot of a lone-dot line. Each variant runs once with one BDAT per round trip and once with all
// three BDAT commands and chunks in one write (PIPELINING, RFC 3030 4.2).
// Replies: "250 2.0.0 Ok: N bytes" for the first two chunks (N = bytes received so far), the usual
// end-of-data reply "250 2.0.0 Ok: delivered as ID" after BDAT LAST, after the sink accepted.
using System.Globalization;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>A message in three BDAT chunks arrives byte-exact.</summary>
public sealed class T24_BdatChunkingTests(ITestOutputHelper output)
{
    private static readonly RawMessage Message = RawMessage.Create("T24 three chunks",
        "first line",
        ".",
        "..two dots",
        ".leading dot",
        "middle line " + new string('m', 900),
        ".",
        "last line");

    /// <summary>Where the two chunk boundaries fall in <see cref="Message"/>.</summary>
    public enum Split
    {
        /// <summary>After a CRLF each.</summary>
        AtLineEnds,
        /// <summary>Between CR and LF of a line end each.</summary>
        InsideCrLf,
        /// <summary>Right after the dot of a lone "." line ("\r\n." | "\r\n") each.</summary>
        AfterLoneDot,
    }

    private static (string, string, string) Chunks(Split split)
    {
        var wire = Message.Wire;
        var firstDot = wire.IndexOf("\r\n.\r\n", StringComparison.Ordinal);
        var middle = wire.IndexOf("middle line", StringComparison.Ordinal);
        var secondDot = wire.IndexOf("\r\n.\r\n", middle, StringComparison.Ordinal);
        var (a, b) = split switch
        {
            Split.AtLineEnds => (firstDot + 2, secondDot + 2),
            Split.InsideCrLf => (firstDot + 1, secondDot + 4),
            Split.AfterLoneDot => (firstDot + 3, secondDot + 3),
            _ => throw new ArgumentOutOfRangeException(nameof(split)),
        };
        return (wire[..a], wire[a..b], wire[b..]);
    }

    private static string Bdat(string chunk, bool last) =>
        $"BDAT {chunk.Length.ToString(CultureInfo.InvariantCulture)}{(last ? " LAST" : "")}\r\n{chunk}";

    [Theory]
    [InlineData(Split.AtLineEnds, false)]
    [InlineData(Split.InsideCrLf, false)]
    [InlineData(Split.AfterLoneDot, false)]
    [InlineData(Split.AtLineEnds, true)]
    [InlineData(Split.InsideCrLf, true)]
    [InlineData(Split.AfterLoneDot, true)]
    public Task Message_in_three_BDAT_chunks_arrives_byte_exact(Split split, bool pipelined) => Scenario.RunAsync(output, async s =>
    {
        var sink = await s.StartSinkAsync();
        var mta = await s.StartMtaAsync(c => c.Transports(("relay.test", "smtp:" + sink.NextHop)));
        var (c1, c2, c3) = Chunks(split);
        Assert.Equal(Message.Wire, c1 + c2 + c3);

        await using var client = await s.ConnectAsync(mta.Host, mta.Port);
        Assert.Equal(220, (await client.ReadReplyAsync()).Code);
        var ehlo = await client.CommandAsync("EHLO client.test");
        Assert.Contains(ehlo.Lines, l => l[4..].Equals("CHUNKING", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(250, (await client.CommandAsync("MAIL FROM:<sender@client.test>")).Code);
        Assert.Equal(250, (await client.CommandAsync("RCPT TO:<bob@relay.test>")).Code);

        var replies = new List<RawReply>();
        if (pipelined)
        {
            await client.SendAsync(Bdat(c1, false) + Bdat(c2, false) + Bdat(c3, true));
            for (var i = 0; i < 3; i++)
            {
                replies.Add(await client.ReadReplyAsync());
            }
        }
        else
        {
            foreach (var (chunk, last) in new[] { (c1, false), (c2, false), (c3, true) })
            {
                await client.SendAsync(Bdat(chunk, last));
                replies.Add(await client.ReadReplyAsync());
            }
        }

        Assert.Equal([250, 250, 250], replies.Select(r => r.Code));
        Assert.Equal($"2.0.0 Ok: {c1.Length} bytes", replies[0].LastText);
        Assert.Equal($"2.0.0 Ok: {c1.Length + c2.Length} bytes", replies[1].LastText);
        Assert.StartsWith("2.0.0 Ok: delivered as ", replies[2].LastText);
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);

        var dump = Assert.Single(sink.Dumps());
        Assert.Equal(["bob@relay.test"], dump.Recipients);
        MtaExpect.OurReceivedThen(Message.Stored, dump.Message);
        MtaExpect.QueueEmpty(mta, "the message was delivered before the reply to BDAT LAST");
    });
}
