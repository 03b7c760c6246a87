// QueueAdmin: mailq-shaped listing (golden text), postqueue -j JSON lines, postcat-style show, and
// hold/release/delete/requeue/flush results including unknown and malformed IDs.
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Mta.Configuration;
using Mta.Queue;
using Mta.Smtp.Protocol;
using static Mta.Tests.Queue.QueueTestData;

namespace Mta.Tests.Queue;

public sealed class QueueAdminTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly FakeTimeProvider _time = new(T0.AddHours(1));
    private readonly LocalQueueStore _store;
    private readonly QueueAdmin _admin;
    private static readonly CancellationToken Ct = CancellationToken.None;

    public QueueAdminTests()
    {
        _store = new LocalQueueStore(new QueueOptions { QueueDirectory = _dir.Path });
        _admin = new QueueAdmin(_store, _time);
    }

    public void Dispose() => _dir.Dispose();

    private async Task Seed()
    {
        var a = Message("0CQ7ZB1K3T94P2M", "alice@example.org", Rcpt("bob@example.net"), Rcpt("done@example.net"));
        a = a with
        {
            Attempts = 2,
            Recipients = [
                a.Recipients[0] with { LastReply = new SmtpReply(451, "4.4.1", "connection timed out") },
                a.Recipients[1] with { State = QueuedRecipientState.Delivered },
            ],
        };
        await _store.EnqueueAsync(a, Content(new byte[1500]), Ct);
        var b = Message("0CQ7ZB1K3T94P2N", "", Rcpt("carol@example.net")) with { Held = true, HoldReason = "policy HOLD" };
        await _store.EnqueueAsync(b, Content(new byte[700]), Ct);
    }

    [Fact]
    public async Task List_has_mailq_shape()
    {
        await Seed();
        var w = new StringWriter { NewLine = "\n" };
        Assert.Equal(2, await _admin.ListAsync(w, json: false, Ct));
        Assert.Equal(
            "-Queue ID-       --Size-- ----Arrival Time---- -Sender/Recipient-------\n" +
            "0CQ7ZB1K3T94P2M      1500 Sat Mar  1 12:00:00  alice@example.org\n" +
            "                                              (451 4.4.1 connection timed out)\n" +
            "                                               bob@example.net\n" +
            "\n" +
            "0CQ7ZB1K3T94P2N!      700 Sat Mar  1 12:00:00  MAILER-DAEMON\n" +
            "                                               carol@example.net\n" +
            "\n" +
            "-- 3 Kbytes in 2 Requests.\n", w.ToString());
    }

    [Fact]
    public async Task Empty_queue_says_so()
    {
        var w = new StringWriter { NewLine = "\n" };
        Assert.Equal(0, await _admin.ListAsync(w, json: false, Ct));
        Assert.Equal("Mail queue is empty\n", w.ToString());
    }

    [Fact]
    public async Task Json_list_is_one_postqueue_object_per_line()
    {
        await Seed();
        var w = new StringWriter { NewLine = "\n" };
        await _admin.ListAsync(w, json: true, Ct);
        var lines = w.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var r = first.RootElement;
        Assert.Equal("deferred", r.GetProperty("queue_name").GetString());
        Assert.Equal("0CQ7ZB1K3T94P2M", r.GetProperty("queue_id").GetString());
        Assert.Equal(T0.ToUnixTimeSeconds(), r.GetProperty("arrival_time").GetInt64());
        Assert.Equal(1500, r.GetProperty("message_size").GetInt64());
        var rcpt = Assert.Single(r.GetProperty("recipients").EnumerateArray());
        Assert.Equal("bob@example.net", rcpt.GetProperty("address").GetString());
        Assert.Equal("451 4.4.1 connection timed out", rcpt.GetProperty("delay_reason").GetString());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("hold", second.RootElement.GetProperty("queue_name").GetString());
        Assert.Equal("", second.RootElement.GetProperty("sender").GetString());
    }

    [Fact]
    public async Task Show_prints_envelope_recipient_states_and_content()
    {
        var m = Message("SHOW1", "alice@example.org", Rcpt("bob@example.net", Mta.Smtp.Envelope.DsnNotify.Failure, "rfc822;bob@example.net"));
        await _store.EnqueueAsync(m, Content(SampleMessage), Ct);
        var w = new StringWriter();
        Assert.Equal(QueueAdminResult.Done, await _admin.ShowAsync("SHOW1", w, Ct));
        var text = w.ToString();
        Assert.Contains("*** ENVELOPE RECORDS SHOW1 ***", text);
        Assert.Contains("sender: <alice@example.org>", text);
        Assert.Contains("recipient: <bob@example.net> state=pending NOTIFY=FAILURE ORCPT=rfc822;bob@example.net", text);
        Assert.Contains("*** MESSAGE CONTENTS SHOW1 ***\n" + SampleMessage, text);
        Assert.EndsWith("*** END OF MESSAGE ***" + Environment.NewLine, text);
    }

    [Fact]
    public async Task Hold_release_requeue_flush_delete_change_the_record()
    {
        var m = Message("ADM1", "alice@example.org", Rcpt("bob@example.net")) with { Attempts = 4, NextAttempt = T0.AddHours(5) };
        await _store.EnqueueAsync(m, Content("x"), Ct);

        Assert.Equal(QueueAdminResult.Done, await _admin.HoldAsync("ADM1", "checking", Ct));
        Assert.Equal(QueueAdminResult.Unchanged, await _admin.HoldAsync("ADM1", null, Ct));
        Assert.True((await _store.LoadAsync("ADM1", Ct))!.Held);
        Assert.Equal(QueueAdminResult.Unchanged, await _admin.FlushAsync("ADM1", Ct));   // held: flush leaves it

        Assert.Equal(QueueAdminResult.Done, await _admin.ReleaseAsync("ADM1", Ct));
        Assert.Equal(QueueAdminResult.Unchanged, await _admin.ReleaseAsync("ADM1", Ct));
        var released = (await _store.LoadAsync("ADM1", Ct))!;
        Assert.False(released.Held);
        Assert.Null(released.HoldReason);
        Assert.Equal(_time.GetUtcNow(), released.NextAttempt);

        await _store.UpdateAsync(released with { NextAttempt = T0.AddHours(9) }, Ct);
        Assert.Equal(QueueAdminResult.Done, await _admin.FlushAsync("ADM1", Ct));
        Assert.Equal(_time.GetUtcNow(), (await _store.LoadAsync("ADM1", Ct))!.NextAttempt);

        await _store.UpdateAsync(released with { NextAttempt = T0.AddHours(9) }, Ct);
        Assert.Equal(QueueAdminResult.Done, await _admin.RequeueAsync("ADM1", Ct));
        var requeued = (await _store.LoadAsync("ADM1", Ct))!;
        Assert.Equal(0, requeued.Attempts);
        Assert.Equal(_time.GetUtcNow(), requeued.NextAttempt);

        Assert.Equal(QueueAdminResult.Done, await _admin.DeleteAsync("ADM1", Ct));
        Assert.Null(await _store.LoadAsync("ADM1", Ct));
        Assert.Equal(QueueAdminResult.NotFound, await _admin.DeleteAsync("ADM1", Ct));
    }

    [Fact]
    public async Task Flush_all_makes_every_non_held_message_due()
    {
        await Seed();
        await _store.EnqueueAsync(Message("LATE1", "a@b.c", Rcpt("d@e.f")) with { NextAttempt = T0.AddDays(1) }, Content("x"), Ct);
        Assert.Equal(QueueAdminResult.Done, await _admin.FlushAsync(null, Ct));
        Assert.Equal(_time.GetUtcNow(), (await _store.LoadAsync("LATE1", Ct))!.NextAttempt);
        Assert.True((await _store.LoadAsync("0CQ7ZB1K3T94P2N", Ct))!.Held);
    }

    [Theory]
    [InlineData("NOSUCHID", QueueAdminResult.NotFound, 1)]
    [InlineData("../../etc/passwd", QueueAdminResult.InvalidId, 2)]
    public async Task Unknown_or_malformed_ids_get_clear_results(string id, QueueAdminResult expected, int exitCode)
    {
        Assert.Equal(expected, await _admin.HoldAsync(id, null, Ct));
        Assert.Equal(expected, await _admin.ReleaseAsync(id, Ct));
        Assert.Equal(expected, await _admin.DeleteAsync(id, Ct));
        Assert.Equal(expected, await _admin.RequeueAsync(id, Ct));
        Assert.Equal(expected, await _admin.FlushAsync(id, Ct));
        Assert.Equal(expected, await _admin.ShowAsync(id, new StringWriter(), Ct));
        Assert.Equal(exitCode, QueueAdmin.ExitCode(expected));
        Assert.Contains(id, QueueAdmin.Describe("held", id, expected));
    }
}
