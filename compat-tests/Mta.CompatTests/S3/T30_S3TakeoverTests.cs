// T30 S3 queue with two MTA processes on one bucket of a real Ceph RGW.
// Takeover: node-a queues mail that the downstream defers (450 at RCPT), node-a is killed with
// SIGKILL while holding it, the downstream starts accepting; node-b must take over node-a's lease and
// deliver every message within queue_lease_timeout plus the retry delay (plus scan slack), none lost,
// and any duplicate must have been counted ("possible duplicate delivery" in node-b's log).
// Store outage: radosgw is stopped mid-run: mail that needs the queue gets 451 4.3.0, mail that needs
// no queue is still delivered pre-queue; after radosgw is back, what was queued before is delivered.
using System.Text.RegularExpressions;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.S3;

[Collection("ceph")]
public sealed partial class T30_S3TakeoverTests(CephRgwFixture ceph, ITestOutputHelper output)
{
    private const int Messages = 5;
    private static readonly TimeSpan LeaseTimeout = TimeSpan.FromSeconds(5), MaxBackoff = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(10);   // lease scan tick, queue scan, process start-up on 2 busy cores

    [GeneratedRegex(@"queued as (\S+)")]
    private static partial Regex QueuedAs();

    private static void S3Node(MtaConfig c, Scenario s, CephRgwPeer ceph, string bucket, string node, SmtpSinkPeer now, SmtpSinkPeer later)
    {
        c.Transports(("now.test", "smtp:" + now.NextHop), ("later.test", "smtp:" + later.NextHop));
        foreach (var (name, value) in ceph.MainCf(bucket)) c.Set(name, value);
        c.Set("data_directory", s.Dir.Sub(node));
        c.Set("queue_node_id", node);
        c.Set("queue_lease_timeout", $"{LeaseTimeout.TotalSeconds}s");
        c.Set("queue_lease_renew_interval", "1s");
        c.Set("maximal_backoff_time", $"{MaxBackoff.TotalSeconds}s");
        c.Set("queue_s3_request_timeout", "3s");
    }

    [Fact]
    public Task Node_killed_with_queued_mail_is_taken_over_and_every_message_is_delivered() => Scenario.RunAsync(output, async s =>
    {
        string bucket = CephRgwPeer.NewBucketName("takeover");
        using var objects = await ceph.Peer.CreateBucketAsync(bucket);
        var now = await s.StartSinkAsync(name: "sink-now");
        var later = await s.StartSinkAsync(new SinkBehavior { SoftReject = ["RCPT"] }, name: "sink-later");
        var a = await s.StartMtaAsync(c => S3Node(c, s, ceph.Peer, bucket, "node-a", now, later), "node-a");
        var b = await s.StartMtaAsync(c => S3Node(c, s, ceph.Peer, bucket, "node-b", now, later), "node-b");

        var ids = new List<string>();
        for (int i = 0; i < Messages; i++)
        {
            var swaks = await s.SwaksAsync(new SwaksRequest { Port = a.Port, To = ["dave@now.test", "erin@later.test"] });
            Assert.Equal(250, swaks.EndOfData.Code);
            ids.Add(QueuedAs().Match(swaks.EndOfData.Text) is { Success: true } m ? m.Groups[1].Value : throw new Xunit.Sdk.XunitException("no 'queued as' in " + swaks.EndOfData.Text));
        }
        // The queue is in the bucket, owned by node-a's lease.
        var envelopes = await ListKeysAsync(objects, "mta/q/env/");
        Assert.Equal(ids.Order(), envelopes.Select(k => k[^ids[0].Length..]).Order());

        // node-a retries and is deferred again: the first attempts fail downstream.
        await Wait.UntilAsync(() => later.ReceivedCommands().Count(c => c.StartsWith("RCPT TO:<erin@later.test>", StringComparison.OrdinalIgnoreCase)) >= 2 * Messages,
            TimeSpan.FromSeconds(30), "node-a retrying the deferred mail", later.DescribeLogs);

        await a.KillAsync();
        var killed = DateTime.UtcNow;
        s.Note($"node-a killed with SIGKILL at {killed:HH:mm:ss.fff}");
        await later.RestartAsync(SinkBehavior.Accept);

        var dumps = await later.WaitForMessagesAsync(Messages, LeaseTimeout + MaxBackoff + Slack + TimeSpan.FromSeconds(20));
        var elapsed = DateTime.UtcNow - killed;
        s.Note($"all {Messages} messages delivered {elapsed.TotalSeconds:F1}s after the kill (lease timeout {LeaseTimeout.TotalSeconds}s, max backoff {MaxBackoff.TotalSeconds}s)");
        await Wait.UntilAsync(() => ListKeysAsync(objects, "mta/q/").Result.All(k => k.Contains("/q/lease/")), TimeSpan.FromSeconds(20),
            "the shared queue to drain", b.DescribeLogs);
        dumps = later.Dumps();

        foreach (var id in ids) Assert.Contains(dumps, d => d.Message.Contains(" id " + id, StringComparison.Ordinal) && d.Recipients.SequenceEqual(["erin@later.test"]));
        int duplicates = dumps.Count(d => d.Message.Length > 0) - Messages;
        string bLog = b.DescribeLogs();
        int counted = Regex.Count(bLog, "possible duplicate delivery");
        s.Note($"duplicates at the sink: {duplicates}; counted by node-b: {counted}");
        Assert.True(duplicates <= counted, $"{duplicates} duplicate(s) delivered but node-b counted {counted}");
        Assert.Contains("took over lease node-a from node-a", bLog);
        Assert.True(elapsed <= LeaseTimeout + MaxBackoff + Slack, $"takeover and delivery took {elapsed.TotalSeconds:F1}s");
        Assert.Equal(Messages, now.Dumps().Count(d => d.Message.Length > 0));   // dave: pre-queue, once each
    }, timeoutSeconds: 180);

    [Fact]
    public Task Store_stopped_mid_run_gives_451_for_what_needs_the_queue_and_resumes_after_restart() => Scenario.RunAsync(output, async s =>
    {
        string bucket = CephRgwPeer.NewBucketName("outage");
        using var objects = await ceph.Peer.CreateBucketAsync(bucket);
        var now = await s.StartSinkAsync(name: "sink-now");
        var later = await s.StartSinkAsync(new SinkBehavior { SoftReject = ["RCPT"] }, name: "sink-later");
        var mta = await s.StartMtaAsync(c => S3Node(c, s, ceph.Peer, bucket, "node-a", now, later), "node-a");

        var before = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["dave@now.test", "erin@later.test"] });
        Assert.Equal(250, before.EndOfData.Code);
        string queuedId = QueuedAs().Match(before.EndOfData.Text).Groups[1].Value;

        await ceph.Peer.StopRgwAsync();
        try
        {
            // Needs no queue: delivered pre-queue, 250.
            var direct = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["dave@now.test"] });
            Assert.Equal(250, direct.EndOfData.Code);
            Assert.Contains("delivered as", direct.EndOfData.Text);
            // Needs the queue (erin deferred): cannot be stored durably, 451 4.3.0, never 250.
            var needsQueue = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, To = ["dave@now.test", "erin@later.test"] });
            Assert.Equal(451, needsQueue.EndOfData.Code);
            Assert.Contains("451 4.3.0", needsQueue.EndOfData.Text);
        }
        finally
        {
            await ceph.Peer.StartRgwAsync();
        }
        await later.RestartAsync(SinkBehavior.Accept);

        var dumps = await later.WaitForMessagesAsync(1, TimeSpan.FromSeconds(60));
        var dump = Assert.Single(dumps, d => d.Message.Length > 0);
        Assert.Contains(" id " + queuedId, dump.Message);
        await Wait.UntilAsync(() => ListKeysAsync(objects, "mta/q/").Result.All(k => k.Contains("/q/lease/")), TimeSpan.FromSeconds(20),
            "the queue to drain", mta.DescribeLogs);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(later.Dumps(), d => d.Message.Length > 0);   // the 451'd message was not queued
        Assert.Equal(3, now.Dumps().Count(d => d.Message.Length > 0));
    }, timeoutSeconds: 180);

    private static async Task<List<string>> ListKeysAsync(Mta.Queue.S3.AwsObjectStore objects, string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in objects.ListAsync(prefix, CancellationToken.None)) keys.Add(o.Key);
        return keys;
    }
}
