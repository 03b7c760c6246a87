// DsnBuilder: owns the form of delivery status notifications: RFC 3464 (message/delivery-status
// fields, 2.2 per-message and 2.3 per-recipient), RFC 6522 (multipart/report), RFC 3461 4.1/4.2/4.3
// (NOTIFY, ORCPT, RET), RFC 3834 (Auto-Submitted), RFC 3463 (status codes). Postfix's bounce(8)
// and bounce_size_limit are the behavioural reference; the wording is our own.
using System.Text;
using MimeKit;
using MimeKit.Utils;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Smtp.Content;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Bounce;

/// <summary>The RFC 3464 2.3.3 Action field.</summary>
public enum DsnAction
{
    /// <summary>Action: failed (permanent failure or queue lifetime expired).</summary>
    Failed,
    /// <summary>Action: delayed (still being retried).</summary>
    Delayed,
    /// <summary>Action: delivered (NOTIFY=SUCCESS).</summary>
    Delivered,
}

/// <summary>One recipient's part of a DSN.</summary>
/// <param name="Recipient">the recipient with its NOTIFY and ORCPT parameters.</param>
/// <param name="Action">the Action field.</param>
/// <param name="Status">the RFC 3463 status code <c>X.Y.Z</c> (Status field).</param>
/// <param name="Reply">the reply to show as <c>Diagnostic-Code: smtp; ...</c>, or null for none.</param>
/// <param name="Relay">Postfix relay= form <c>host[addr]:port</c>; its host becomes <c>Remote-MTA: dns; host</c>
/// (omitted for null, <c>none</c> and <c>local</c>).</param>
public sealed record DsnRecipient(EnvelopeRecipient Recipient, DsnAction Action, string Status, SmtpReply? Reply, string? Relay)
{
    /// <summary>Last-Attempt-Date (RFC 3464 2.3.7), or null to omit.</summary>
    public DateTimeOffset? LastAttempt { get; init; }
    /// <summary>Will-Retry-Until for delayed recipients (RFC 3464 2.3.8), or null to omit.</summary>
    public DateTimeOffset? WillRetryUntil { get; init; }

    /// <summary>A recipient entry from a delivery outcome (Status from <see cref="RecipientOutcome.Dsn"/>).</summary>
    public static DsnRecipient From(RecipientOutcome outcome, DsnAction action) =>
        new(outcome.Recipient, action, outcome.Dsn, outcome.Reply, outcome.Relay);
}

/// <summary>
/// Builds RFC 3464 delivery status notifications as MimeKit messages:
/// <c>multipart/report; report-type=delivery-status</c> holding (1) a text/plain explanation,
/// (2) <c>message/delivery-status</c>, (3) the original as <c>message/rfc822</c> (RET=FULL or no RET) or
/// <c>text/rfc822-headers</c> (RET=HDRS, or the original is larger than the bounce size limit).
/// Header: <c>From: MAILER-DAEMON@myhostname</c>, <c>To:</c> the original envelope sender,
/// <c>Auto-Submitted: auto-replied</c>. The envelope sender of a DSN is always the null path (the
/// caller's job; see <see cref="Bouncer"/>). Thread-safe.
/// </summary>
public sealed class DsnBuilder
{
    /// <summary>Postfix's default bounce_size_limit in bytes.</summary>
    public const long DefaultBounceSizeLimit = 50_000;

    private readonly string _hostname;
    private readonly TimeProvider _time;
    private readonly long _bounceSizeLimit;

    /// <param name="identity">uses <see cref="IdentityOptions.MyHostname"/> (Reporting-MTA, From:, text).</param>
    /// <param name="time">the clock for Date:; null for <see cref="TimeProvider.System"/>.</param>
    /// <param name="bounceSizeLimit">bytes of original content returned at most (Postfix bounce_size_limit);
    /// larger originals are returned as headers only.</param>
    /// <exception cref="ArgumentException">myhostname is empty.</exception>
    public DsnBuilder(IdentityOptions identity, TimeProvider? time = null, long bounceSizeLimit = DefaultBounceSizeLimit)
    {
        if (string.IsNullOrWhiteSpace(identity.MyHostname)) throw new ArgumentException("myhostname is empty", nameof(identity));
        _hostname = identity.MyHostname;
        _time = time ?? TimeProvider.System;
        _bounceSizeLimit = bounceSizeLimit;
    }

    /// <summary>The From: address of DSNs: <c>MAILER-DAEMON@myhostname</c>.</summary>
    public string MailerDaemon => "MAILER-DAEMON@" + _hostname;

    /// <summary>
    /// RFC 3461 4.1: whether the recipient asked for (or by default gets) a DSN of this kind.
    /// No NOTIFY: failures only (Postfix sends no delay DSNs unless delay_warning_time is set, so
    /// delayed is false by default here too). NOTIFY=NEVER: none. Otherwise the listed kinds.
    /// </summary>
    public static bool Wants(EnvelopeRecipient recipient, DsnAction action)
    {
        var n = recipient.Parameters.Notify;
        if (n.HasFlag(DsnNotify.Never)) return false;
        if (n == DsnNotify.None) return action == DsnAction.Failed;
        return action switch
        {
            DsnAction.Failed => n.HasFlag(DsnNotify.Failure),
            DsnAction.Delayed => n.HasFlag(DsnNotify.Delay),
            _ => n.HasFlag(DsnNotify.Success),
        };
    }

    /// <summary>
    /// Builds the DSN for <paramref name="original"/>. Does not filter by NOTIFY or null sender; the
    /// caller does (<see cref="Wants"/>, <see cref="Bouncer"/>).
    /// </summary>
    /// <param name="original">the original envelope (sender becomes To:, ENVID, RET, arrival time).</param>
    /// <param name="recipients">at least one recipient entry, in report order.</param>
    /// <param name="content">the original content (read once, not disposed), or null when unavailable.</param>
    /// <param name="expiredAfter">when the failures are due to the queue lifetime, that lifetime (for the text part).</param>
    /// <exception cref="ArgumentException">no recipients, or the original sender is the null path.</exception>
    public MimeMessage Build(MessageEnvelope original, IReadOnlyList<DsnRecipient> recipients, MessageContent? content, TimeSpan? expiredAfter = null)
    {
        if (recipients.Count == 0) throw new ArgumentException("a DSN needs at least one recipient", nameof(recipients));
        if (original.Sender.IsNull) throw new ArgumentException("never build a DSN for a null-sender message", nameof(original));
        var now = _time.GetUtcNow();
        var kind = recipients.Any(r => r.Action == DsnAction.Failed) ? DsnAction.Failed
                 : recipients.Any(r => r.Action == DsnAction.Delayed) ? DsnAction.Delayed : DsnAction.Delivered;

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", MailerDaemon));
        message.To.Add(MailboxAddress.Parse(ParserOptions.Default, original.Sender.Address));
        message.Subject = kind switch
        {
            DsnAction.Failed => "Undelivered Mail Returned to Sender",
            DsnAction.Delayed => "Delayed Mail (still being retried)",
            _ => "Successful Mail Delivery Report",
        };
        message.Date = now;
        message.MessageId = MimeUtils.GenerateMessageId(_hostname);
        message.Headers.Add("Auto-Submitted", "auto-replied");

        var report = new MultipartReport("delivery-status");
        var text = new TextPart("plain") { Text = HumanText(original, recipients, kind, expiredAfter) };
        text.ContentTransferEncoding = text.GetBestEncoding(EncodingConstraint.SevenBit, 998);
        report.Add(text);
        report.Add(StatusPart(original, recipients));
        if (content != null) report.Add(OriginalPart(original, content));
        message.Body = report;
        return message;
    }

    /// <summary>The DSN's wire form (CRLF line endings), ready to queue.</summary>
    public static byte[] ToBytes(MimeMessage dsn)
    {
        using var ms = new MemoryStream();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        dsn.WriteTo(options, ms);
        return ms.ToArray();
    }

    private string HumanText(MessageEnvelope original, IReadOnlyList<DsnRecipient> recipients, DsnAction kind, TimeSpan? expiredAfter)
    {
        var sb = new StringBuilder();
        sb.Append("This is the mail system at host ").Append(_hostname).Append(".\n\n");
        switch (kind)
        {
            case DsnAction.Failed:
                if (expiredAfter is { } life)
                    sb.Append("Your message could not be delivered to one or more recipients within ")
                      .Append(Describe(life)).Append(", so the mail system has stopped trying.\n");
                else
                    sb.Append("Your message could not be delivered to one or more recipients.\nThe receiving side refused it permanently; it will not be retried.\n");
                sb.Append("The reasons are listed below, and your message (or its header) is attached.\n");
                break;
            case DsnAction.Delayed:
                sb.Append("Your message has not yet been delivered to one or more recipients.\nThe mail system keeps trying; you need not send it again.\n");
                break;
            default:
                sb.Append("Your message was delivered to the recipients below, as you asked.\n");
                break;
        }
        sb.Append("\nIf you need help, ask the postmaster of this system and include this report.\n\n")
          .Append("                   The mail system\n\n");
        foreach (var r in recipients)
        {
            sb.Append('<').Append(r.Recipient.Address.Address).Append(">: ");
            string? host = RemoteHost(r.Relay);
            if (r.Reply != null)
                sb.Append(host != null ? "host " + r.Relay + " said: " : "").Append(r.Reply.ToString());
            else
                sb.Append(r.Action.ToString().ToLowerInvariant()).Append(" (").Append(r.Status).Append(')');
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string Describe(TimeSpan t) =>
        t.TotalDays >= 1 && t.TotalDays == Math.Floor(t.TotalDays) ? $"{t.TotalDays:0} day{(t.TotalDays == 1 ? "" : "s")}"
        : t.TotalHours >= 1 ? $"{t.TotalHours:0.#} hours" : $"{t.TotalMinutes:0.#} minutes";

    private MimePart StatusPart(MessageEnvelope original, IReadOnlyList<DsnRecipient> recipients)
    {
        var groups = new List<HeaderList>();
        var perMessage = new HeaderList { { "Reporting-MTA", "dns; " + _hostname } };
        if (original.MailParameters.EnvId is { } envid) perMessage.Add("Original-Envelope-Id", envid);
        if (original.HeloName.Length > 0) perMessage.Add("Received-From-MTA", "dns; " + original.HeloName);
        perMessage.Add("Arrival-Date", DateUtils.FormatDate(original.ArrivalTime));
        groups.Add(perMessage);
        foreach (var r in recipients)
        {
            var g = new HeaderList();
            if (r.Recipient.Parameters.OriginalRecipient is { } orcpt) g.Add("Original-Recipient", orcpt);
            string addr = r.Recipient.Address.Address;
            g.Add("Final-Recipient", (r.Recipient.Address.RequiresSmtpUtf8 ? "utf-8; " : "rfc822; ") + addr);
            g.Add("Action", r.Action.ToString().ToLowerInvariant());
            g.Add("Status", r.Status);
            if (RemoteHost(r.Relay) is { } host) g.Add("Remote-MTA", "dns; " + host);
            if (r.Reply != null) g.Add("Diagnostic-Code", "smtp; " + r.Reply.ToString());
            if (r.LastAttempt is { } la) g.Add("Last-Attempt-Date", DateUtils.FormatDate(la));
            if (r.WillRetryUntil is { } wr) g.Add("Will-Retry-Until", DateUtils.FormatDate(wr));
            groups.Add(g);
        }
        // Rendered by hand: RFC 3464 2.1 wants groups separated by one empty line and none after the
        // last; MimeKit's MessageDeliveryStatus writer adds a trailing empty group when parsed back.
        var sb = new StringBuilder();
        for (int i = 0; i < groups.Count; i++)
        {
            if (i > 0) sb.Append("\r\n");
            foreach (var h in groups[i]) sb.Append(h.Field).Append(": ").Append(h.Value.Trim()).Append("\r\n");
        }
        var bytes = Encoding.UTF8.GetBytes(sb.ToString());
        bool eightBit = bytes.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0;
        return new MimePart("message", "delivery-status")
        {
            ContentTransferEncoding = eightBit ? ContentEncoding.EightBit : ContentEncoding.SevenBit,
            Content = new MimeContent(new MemoryStream(bytes, writable: false)),
        };
    }

    private MimeEntity OriginalPart(MessageEnvelope original, MessageContent content)
    {
        bool headersOnly = original.MailParameters.Ret == DsnRet.Headers || content.Length > _bounceSizeLimit;
        byte[] bytes;
        using (var s = content.OpenRead())
            bytes = headersOnly ? ReadHeader(s) : ReadAll(s);
        bool eightBit = bytes.AsSpan().IndexOfAnyInRange((byte)0x80, (byte)0xff) >= 0;
        var part = headersOnly ? new MimePart("text", "rfc822-headers") : new MimePart("message", "rfc822");
        part.ContentTransferEncoding = eightBit ? ContentEncoding.EightBit : ContentEncoding.SevenBit;
        part.Content = new MimeContent(new MemoryStream(bytes, writable: false));
        return part;
    }

    private static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>The header section up to and including the empty line (RFC 5322 2.1), at most 1 MiB.</summary>
    private static byte[] ReadHeader(Stream s)
    {
        const int Max = 1 << 20;
        var ms = new MemoryStream();
        int prev1 = -1, prev2 = -1, b;
        while (ms.Length < Max && (b = s.ReadByte()) >= 0)
        {
            ms.WriteByte((byte)b);
            if (b == '\n' && (prev1 == '\n' || (prev1 == '\r' && prev2 == '\n'))) break;
            prev2 = prev1;
            prev1 = b;
        }
        return ms.ToArray();
    }

    private static string? RemoteHost(string? relay)
    {
        if (string.IsNullOrEmpty(relay) || relay is "none" or "local") return null;
        int bracket = relay.IndexOf('[');
        string host = bracket switch
        {
            < 0 => relay,                                         // "host" or "host:port" without address
            0 => relay[1..Math.Max(1, relay.IndexOf(']'))],        // "[addr]:port"
            _ => relay[..bracket],                                // "host[addr]:port"
        };
        return host.Length == 0 ? null : host;
    }
}
