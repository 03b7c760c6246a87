// T23 SessionLimits: the limits the listener and the session enforce before and between commands
// (docs/flow.md "1. Connection", "2. Commands"), each with raw clients that hold connections open:
//   - smtpd_client_connection_count_limit = 2, mynetworks = 127.0.0.1/32: from 127.0.0.3 (outside)
//     two sessions get 220, the third "421 4.7.0 ... too many connections ..." and is closed; once one
//     of the two has quit, a new one is greeted again; from 127.0.0.1 (mynetworks, exempt) three at once get 220.
//   - smtpd_session_limit = 3: three sessions get 220, the fourth "421 4.3.2 ..." and is closed; after
//     one quits, a new one is greeted.
//   - smtpd_timeout = 2s: a client that says EHLO and then nothing gets "421 4.4.2 ... timeout exceeded"
//     about 2 s later (asserted 1.5 s to 6 s) and is closed.
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Connection count, session count and idle timeout limits.</summary>
public sealed class T23_SessionLimitTests(ITestOutputHelper output)
{
    /// <summary>The rig's start-up probe (connect, 220, QUIT) must have ended before sessions are counted.</summary>
    private static Task ProbeEndedAsync(Peers.MtaProcess mta) =>
        Wait.UntilAsync(() => mta.Output.Contains("disconnect from", StringComparison.Ordinal), TimeSpan.FromSeconds(10),
            "the MTA to log the end of the start-up probe session", () => mta.Output);

    private static async Task<RawSmtpClient> GreetedAsync(Scenario s, string host, int port, string? from = null)
    {
        var client = await s.ConnectAsync(host, port, from);
        var greeting = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.True(greeting.Code == 220, $"{client.Name}: expected the 220 greeting, got: {greeting}");
        return client;
    }

    /// <summary>Connects until the greeting is 220 (a 421 4.3.2 while a closing session still holds its slot is retried).</summary>
    private static async Task<RawSmtpClient> GreetedWithinAsync(Scenario s, string host, int port, TimeSpan within)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var client = await s.ConnectAsync(host, port, null);
            var greeting = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
            if (greeting.Code == 220) return client;
            await client.DisposeAsync();
            Assert.True(greeting.Code == 421 && clock.Elapsed < within, $"expected the 220 greeting within {within.TotalSeconds}s, got: {greeting}");
            await Task.Delay(100);
        }
    }

    private static async Task RefusedAsync(Scenario s, string host, int port, string? from, int code, string enhanced, string text)
    {
        await using var client = await s.ConnectAsync(host, port, from);
        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(10));
        Assert.True(reply.Code == code && reply.Enhanced == enhanced && reply.LastText.Contains(text, StringComparison.Ordinal),
            $"{client.Name}: expected '{code} {enhanced} ...{text}...', got: {reply}");
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), $"{client.Name}: not closed after {reply.Code}");
    }

    /// <summary>Says QUIT and waits for the close, so the server has ended the session.</summary>
    private static async Task QuitAsync(RawSmtpClient client)
    {
        Assert.Equal(221, (await client.CommandAsync("QUIT")).Code);
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), $"{client.Name}: not closed after QUIT");
    }

    [Fact]
    public Task Third_connection_from_one_address_outside_mynetworks_gets_421_4_7_0() => Scenario.RunAsync(output, async s =>
    {
        var mta = await s.StartMtaAsync(c => c.Set("mynetworks", "127.0.0.1/32").Set("smtpd_client_connection_count_limit", "2"));
        const string outsider = "127.0.0.3";
        await ProbeEndedAsync(mta);

        await using var first = await GreetedAsync(s, mta.Host, mta.Port, outsider);
        await using var second = await GreetedAsync(s, mta.Host, mta.Port, outsider);
        await RefusedAsync(s, mta.Host, mta.Port, outsider, 421, "4.7.0", "too many connections");

        // mynetworks is exempt: three at once from 127.0.0.1 while the outsider still holds two.
        await using var inside1 = await GreetedAsync(s, mta.Host, mta.Port, "127.0.0.1");
        await using var inside2 = await GreetedAsync(s, mta.Host, mta.Port, "127.0.0.1");
        await using var inside3 = await GreetedAsync(s, mta.Host, mta.Port, "127.0.0.1");

        // The limit counts concurrent sessions: once one has ended, the outsider is greeted again.
        await QuitAsync(first);
        await using var again = await GreetedAsync(s, mta.Host, mta.Port, outsider);
        Assert.Equal(250, (await again.CommandAsync("NOOP")).Code);
    });

    [Fact]
    public Task Fourth_concurrent_session_gets_421_4_3_2() => Scenario.RunAsync(output, async s =>
    {
        var mta = await s.StartMtaAsync(c => c.Set("smtpd_session_limit", "3"));
        await ProbeEndedAsync(mta);

        await using var c1 = await GreetedAsync(s, mta.Host, mta.Port);
        await using var c2 = await GreetedAsync(s, mta.Host, mta.Port);
        await using var c3 = await GreetedAsync(s, mta.Host, mta.Port);
        await RefusedAsync(s, mta.Host, mta.Port, null, 421, "4.3.2", "");

        // The three sessions are unharmed, and a freed slot is usable again.
        Assert.Equal(250, (await c3.CommandAsync("NOOP")).Code);
        await QuitAsync(c1);
        // The slot is released when the server has closed c1's connection, a moment after its 221.
        await using var c4 = await GreetedWithinAsync(s, mta.Host, mta.Port, TimeSpan.FromSeconds(5));
        Assert.Equal(250, (await c4.CommandAsync("NOOP")).Code);
    });

    [Fact]
    public Task Idle_client_gets_421_4_4_2_after_smtpd_timeout() => Scenario.RunAsync(output, async s =>
    {
        var mta = await s.StartMtaAsync(c => c.Set("smtpd_timeout", "2s"));

        await using var client = await GreetedAsync(s, mta.Host, mta.Port);
        Assert.Equal(250, (await client.CommandAsync("EHLO client.test")).Code);
        var idleSince = client.Elapsed;

        var reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(15));
        var idle = reply.Elapsed - idleSince;
        Assert.Equal(421, reply.Code);
        Assert.Equal("4.4.2", reply.Enhanced);
        Assert.Contains("timeout exceeded", reply.LastText);
        Assert.InRange(idle.TotalSeconds, 1.5, 6);
        Assert.True(await client.WaitForCloseAsync(TimeSpan.FromSeconds(5)), "not closed after the timeout's 421");
    });
}
