// Every timeout on a fake clock: OPTNEG and envelope events use the command timeout, content events the
// content timeout; each read (PROGRESS, each modification packet) restarts it; blocked writes time out too.
using Microsoft.Extensions.Time.Testing;
using Mta.Milter.Tests.Support;
using static Mta.Milter.Tests.Support.FakeMilter;

namespace Mta.Milter.Tests.Client;

public class TimeoutTests
{
    private static MilterClientOptions Options(FakeTimeProvider time) => new()
    {
        TimeProvider = time,
        CommandTimeout = TimeSpan.FromSeconds(30),
        ContentTimeout = TimeSpan.FromSeconds(300),
    };

    private static async Task ExpectTimeout(Task t)
    {
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => t.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(MilterFailureKind.Timeout, ex.Kind);
    }

    private static async Task AssertStillWaiting(Task t)
    {
        await Task.Delay(20);
        Assert.False(t.IsCompleted);
    }

    [Fact]
    public async Task Optneg_uses_the_command_timeout()
    {
        var time = new FakeTimeProvider();
        var milter = new FakeMilter();
        var client = new MilterClient(Options(time));
        var t = client.ConnectAsync(milter.ClientTransport);
        await milter.ExpectAsync('O');
        await milter.WaitForClientWaitAsync(0);
        time.Advance(TimeSpan.FromSeconds(29));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(1));
        await ExpectTimeout(t);
        Assert.Equal(MilterSessionState.Error, client.State);
    }

    [Fact]
    public async Task Envelope_event_uses_the_command_timeout()
    {
        var time = new FakeTimeProvider();
        var (client, milter) = await StartAsync(protocol: 0x1000, options: Options(time) with { CommandTimeout = TimeSpan.FromSeconds(7) });
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        int waits = milter.ClientWaits;
        var t = client.MailAsync(["<a@b>"]);
        await milter.WaitForClientWaitAsync(waits);
        time.Advance(TimeSpan.FromSeconds(6.9));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(0.1));
        await ExpectTimeout(t);
        Assert.True(milter.Drain().Count >= 2); // D + M were sent
    }

    [Fact]
    public async Task Progress_restarts_the_timeout()
    {
        var time = new FakeTimeProvider();
        var (client, milter) = await StartAsync(protocol: 0x1000, options: Options(time));
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        int waits = milter.ClientWaits;
        var t = client.RcptAsync(["<a@b>"]);
        for (int i = 0; i < 5; i++)
        {
            await milter.WaitForClientWaitAsync(waits);
            waits = milter.ClientWaits;
            time.Advance(TimeSpan.FromSeconds(25));
            await milter.SendAsync('p');
        }
        await milter.WaitForClientWaitAsync(waits);
        time.Advance(TimeSpan.FromSeconds(29));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(1));
        await ExpectTimeout(t);
    }

    [Fact]
    public async Task Header_uses_the_content_timeout()
    {
        var time = new FakeTimeProvider();
        var (client, milter) = await StartAsync(protocol: 0x1F000, options: Options(time));
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        await client.MailAsync(["<a@b>"]);
        int waits = milter.ClientWaits;
        var t = client.HeaderAsync("Subject", " x");
        await milter.WaitForClientWaitAsync(waits);
        time.Advance(TimeSpan.FromSeconds(299));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(1));
        await ExpectTimeout(t);
    }

    [Fact]
    public async Task Eob_modification_stream_restarts_the_content_timeout_per_read()
    {
        var time = new FakeTimeProvider();
        var (client, milter) = await StartAsync(protocol: 0x0FF080, options: Options(time));
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        await client.MailAsync(["<a@b>"]);
        int waits = milter.ClientWaits;
        var t = client.EndOfMessageAsync();
        for (int i = 0; i < 4; i++) // 4 x 250 s = 1000 s in total, more than 300 s, but never 300 s between reads
        {
            await milter.WaitForClientWaitAsync(waits);
            waits = milter.ClientWaits;
            time.Advance(TimeSpan.FromSeconds(250));
            await milter.SendAsync('h', Z("X-" + i, "v"));
        }
        await milter.WaitForClientWaitAsync(waits);
        time.Advance(TimeSpan.FromSeconds(299));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(1));
        await ExpectTimeout(t);
    }

    [Fact]
    public async Task Blocked_write_times_out()
    {
        var time = new FakeTimeProvider();
        var (client, milter) = await StartAsync(protocol: 0x0FF080, options: Options(time), pauseWriterThreshold: 1024);
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('C');
        await client.MailAsync(["<a@b>"]);
        await milter.ExpectAsync('D');
        await milter.ExpectAsync('M');
        var t = client.BodyAsync(new byte[200_000]); // the fake milter stops reading
        await Task.Delay(100);
        time.Advance(TimeSpan.FromSeconds(299));
        await AssertStillWaiting(t);
        time.Advance(TimeSpan.FromSeconds(1));
        await ExpectTimeout(t);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_protocol_error_but_ends_the_session()
    {
        var (client, milter) = await StartAsync(protocol: 0x1000);
        await client.ConnectEventAsync("h", Mta.Milter.Protocol.MilterAddressFamily.Inet, 25, "192.0.2.1");
        using var cts = new CancellationTokenSource();
        int waits = milter.ClientWaits;
        var t = client.MailAsync(["<a@b>"], null, cts.Token);
        await milter.WaitForClientWaitAsync(waits);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t);
        Assert.Equal(MilterSessionState.Error, client.State);
    }
}
