// DsnBuilder and Bouncer: the DSN is parsed back with MimeKit and checked field by field
// (RFC 3464 2.2/2.3, RFC 6522 report-type, RFC 3461 RET and NOTIFY).
using System.Text;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Mta.Bounce;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Queue;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;
using Mta.Tests.Queue;
using static Mta.Tests.Queue.QueueTestData;
using static Mta.Tests.Bounce.Dsn;

namespace Mta.Tests.Bounce;

internal static class Dsn
{
    public static string F(HeaderList group, string field) => group[field]?.Trim() ?? "";
    public static MultipartReport Report(MimeMessage m) => Assert.IsType<MultipartReport>(m.Body);
}

public sealed class DsnBuilderTests
{
    private static readonly IdentityOptions Identity = new() { MyHostname = "mx.example.org" };
    private static readonly FakeTimeProvider Time = new(T0.AddHours(2));

    private static MessageEnvelope Envelope(DsnRet ret = DsnRet.Unspecified, string? envid = "env-42") =>
        Message("DSN1", "alice@example.org", Rcpt("bob@example.net", DsnNotify.Failure, "rfc822;Bob@Example.NET")).Envelope with
        {
            MailParameters = new MailParameters { Ret = ret, EnvId = envid },
        };

    private static RecipientOutcome Bounced(string rcpt = "bob@example.net", string? orcpt = "rfc822;Bob@Example.NET") =>
        new(Rcpt(rcpt, DsnNotify.Failure, orcpt), DeliveryStatus.Bounced, new SmtpReply(550, "5.1.1", "user unknown"), "mx.example.net[192.0.2.1]:25");

    private static MimeMessage RoundTrip(MimeMessage dsn)
    {
        var bytes = DsnBuilder.ToBytes(dsn);
        // Wire form: CRLF only.
        for (int i = 0; i < bytes.Length; i++)
            if (bytes[i] == '\n') Assert.True(i > 0 && bytes[i - 1] == '\r', "bare LF at " + i);
        return MimeMessage.Load(new MemoryStream(bytes));
    }

    private static MimeMessage Build(MessageEnvelope e, long limit = DsnBuilder.DefaultBounceSizeLimit, params RecipientOutcome[] outcomes) =>
        RoundTrip(new DsnBuilder(Identity, Time, limit).Build(e, [.. outcomes.Select(o => DsnRecipient.From(o, DsnAction.Failed))], Content(SampleMessage)));

    [Fact]
    public void Dsn_is_a_multipart_report_with_rfc3464_fields()
    {
        var dsn = Build(Envelope(), outcomes: Bounced());

        Assert.Equal("MAILER-DAEMON@mx.example.org", ((MailboxAddress)dsn.From.Single()).Address);
        Assert.Equal("alice@example.org", ((MailboxAddress)dsn.To.Single()).Address);
        Assert.Equal("auto-replied", dsn.Headers["Auto-Submitted"]?.Trim());
        Assert.Equal("Undelivered Mail Returned to Sender", dsn.Subject);

        var report = Assert.IsType<MultipartReport>(dsn.Body);
        Assert.Equal("delivery-status", report.ReportType);
        Assert.Equal("delivery-status", report.ContentType.Parameters["report-type"]);
        Assert.Equal(3, report.Count);
        var text = Assert.IsType<TextPart>(report[0]);
        Assert.StartsWith("This is the mail system at host mx.example.org.", text.Text);
        Assert.Contains("<bob@example.net>: host mx.example.net[192.0.2.1]:25 said: 550 5.1.1 user unknown", text.Text);

        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal(2, status.StatusGroups.Count);
        var perMessage = status.StatusGroups[0];
        Assert.Equal("dns; mx.example.org", F(perMessage, "Reporting-MTA"));
        Assert.Equal("env-42", F(perMessage, "Original-Envelope-Id"));
        Assert.Equal(T0, MimeKit.Utils.DateUtils.TryParse(F(perMessage, "Arrival-Date"), out var arrival) ? arrival : default);

        var rcpt = status.StatusGroups[1];
        Assert.Equal("rfc822;Bob@Example.NET", F(rcpt, "Original-Recipient"));
        Assert.Equal("rfc822; bob@example.net", F(rcpt, "Final-Recipient"));
        Assert.Equal("failed", F(rcpt, "Action"));
        Assert.Equal("5.1.1", F(rcpt, "Status"));
        Assert.Equal("dns; mx.example.net", F(rcpt, "Remote-MTA"));
        Assert.Equal("smtp; 550 5.1.1 user unknown", F(rcpt, "Diagnostic-Code"));
    }

    [Fact]
    public void Without_envid_and_orcpt_those_fields_are_absent()
    {
        var dsn = Build(Envelope(envid: null), outcomes: Bounced(orcpt: null));
        var status = (MessageDeliveryStatus)(Report(dsn))[1];
        Assert.False(status.StatusGroups[0].Contains("Original-Envelope-Id"));
        Assert.False(status.StatusGroups[1].Contains("Original-Recipient"));
    }

    [Theory]
    [InlineData(DsnRet.Full)]
    [InlineData(DsnRet.Unspecified)]
    public void Ret_full_or_unspecified_returns_the_whole_message(DsnRet ret)
    {
        var dsn = Build(Envelope(ret), outcomes: Bounced());
        var part = Assert.IsType<MessagePart>((Report(dsn))[2]);
        Assert.Equal("message/rfc822", part.ContentType.MimeType);
        Assert.Equal("hello", part.Message!.Subject);
        Assert.Contains("line two", part.Message.TextBody);
    }

    [Fact]
    public void Ret_hdrs_returns_only_the_header()
    {
        var dsn = Build(Envelope(DsnRet.Headers), outcomes: Bounced());
        var part = (MimeEntity)(Report(dsn))[2];
        Assert.Equal("text/rfc822-headers", part.ContentType.MimeType);
        using var ms = new MemoryStream();
        part.WriteTo(ms);
        var text = Encoding.UTF8.GetString(ms.ToArray());
        Assert.Contains("Subject: hello", text);
        Assert.DoesNotContain("line two", text);
    }

    [Fact]
    public void Original_larger_than_the_bounce_size_limit_is_returned_as_headers()
    {
        var dsn = Build(Envelope(DsnRet.Full), limit: 20, Bounced());
        Assert.Equal("text/rfc822-headers", (Report(dsn))[2].ContentType.MimeType);
    }

    [Fact]
    public void One_group_per_recipient_in_order()
    {
        var dsn = Build(Envelope(), outcomes: [Bounced("x@example.net", null), Bounced("y@example.net", null)]);
        var status = (MessageDeliveryStatus)(Report(dsn))[1];
        Assert.Equal(["rfc822; x@example.net", "rfc822; y@example.net"], status.StatusGroups.Skip(1).Select(g => F(g, "Final-Recipient")));
    }

    [Fact]
    public void A_null_sender_original_is_refused()
    {
        var e = Envelope() with { Sender = SmtpPath.Null };
        Assert.Throws<ArgumentException>(() => new DsnBuilder(Identity, Time).Build(e, [DsnRecipient.From(Bounced(), DsnAction.Failed)], Content(SampleMessage)));
    }

    [Theory]
    [InlineData(DsnNotify.None, DsnAction.Failed, true)]
    [InlineData(DsnNotify.None, DsnAction.Delayed, false)]
    [InlineData(DsnNotify.None, DsnAction.Delivered, false)]
    [InlineData(DsnNotify.Never, DsnAction.Failed, false)]
    [InlineData(DsnNotify.Success, DsnAction.Failed, false)]
    [InlineData(DsnNotify.Success, DsnAction.Delivered, true)]
    [InlineData(DsnNotify.Delay, DsnAction.Failed, false)]
    [InlineData(DsnNotify.Delay, DsnAction.Delayed, true)]
    [InlineData(DsnNotify.Failure | DsnNotify.Delay, DsnAction.Failed, true)]
    public void Notify_decides_which_notices_are_wanted(DsnNotify notify, DsnAction action, bool wanted) =>
        Assert.Equal(wanted, DsnBuilder.Wants(Rcpt("a@b.c", notify), action));
}

public sealed class BouncerTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly LocalQueueStore _store;
    private readonly Bouncer _bouncer;
    private static readonly CancellationToken Ct = CancellationToken.None;

    public BouncerTests()
    {
        var time = new FakeTimeProvider(T0);
        var identity = new IdentityOptions { MyHostname = "mx.example.org" };
        _store = new LocalQueueStore(new QueueOptions { QueueDirectory = _dir.Path });
        _bouncer = new Bouncer(_store, new DsnBuilder(identity, time), new QueueIdGenerator(time), identity, time, spoolDirectory: _dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    private static RecipientOutcome Failed(DsnNotify notify) =>
        new(Rcpt("bob@example.net", notify), DeliveryStatus.Bounced, new SmtpReply(550, "5.1.1", "user unknown"), "none");

    private async Task<List<QueuedMessage>> All()
    {
        var list = new List<QueuedMessage>();
        await foreach (var m in _store.ListAsync(Ct)) list.Add(m);
        return list;
    }

    [Fact]
    public async Task Bounce_queues_one_dsn_from_the_null_sender_to_the_original_sender()
    {
        var original = Message("ORIG1", "alice@example.org", Rcpt("bob@example.net")).Envelope;
        string? id = await _bouncer.BounceAsync(original, [Failed(DsnNotify.None)], Content(SampleMessage), Ct);
        Assert.NotNull(id);
        var q = Assert.Single(await All());
        Assert.Equal(id, q.QueueId);
        Assert.True(q.Envelope.Sender.IsNull);
        Assert.Equal("alice@example.org", Assert.Single(q.Envelope.Recipients).Address.Address);
        Assert.Equal(QueuedRecipientState.Pending, Assert.Single(q.Recipients).State);
        Assert.Equal(T0, q.NextAttempt);

        using var s = await _store.OpenContentAsync(id, Ct);
        var dsn = MimeMessage.Load(s);
        Assert.Equal("delivery-status", Assert.IsType<MultipartReport>(dsn.Body).ReportType);
    }

    [Theory]
    [InlineData(DsnNotify.Never)]
    [InlineData(DsnNotify.Success)]
    [InlineData(DsnNotify.Delay | DsnNotify.Success)]
    public async Task Notify_without_failure_queues_nothing(DsnNotify notify)
    {
        var original = Message("ORIG2", "alice@example.org", Rcpt("bob@example.net", notify)).Envelope;
        Assert.Null(await _bouncer.BounceAsync(original, [Failed(notify)], Content(SampleMessage), Ct));
        Assert.Empty(await All());
    }

    [Fact]
    public async Task A_bounce_is_never_bounced()
    {
        var original = Message("ORIG3", "", Rcpt("bob@example.net")).Envelope;
        Assert.Null(await _bouncer.BounceAsync(original, [Failed(DsnNotify.Failure)], Content(SampleMessage), Ct));
        Assert.Empty(await All());
    }

    [Fact]
    public async Task Only_recipients_that_want_failure_notices_are_reported()
    {
        var original = Message("ORIG4", "alice@example.org", Rcpt("bob@example.net")).Envelope;
        var quiet = new RecipientOutcome(Rcpt("quiet@example.net", DsnNotify.Never), DeliveryStatus.Bounced, new SmtpReply(550, "5.1.1", "no"), "none");
        string? id = await _bouncer.BounceAsync(original, [Failed(DsnNotify.None), quiet], Content(SampleMessage), Ct);
        using var s = await _store.OpenContentAsync(id!, Ct);
        var status = (MessageDeliveryStatus)Report(MimeMessage.Load(s))[1];
        Assert.Equal(["rfc822; bob@example.net"], status.StatusGroups.Skip(1).Select(g => F(g, "Final-Recipient")));
    }
}
