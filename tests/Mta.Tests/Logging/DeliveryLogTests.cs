// The per-recipient delivery record in Postfix's shape, as pflogsumm and fail2ban filters parse it.
using Mta.Delivery;
using Mta.Logging;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Tests.Logging;

public class DeliveryLogTests
{
    [Fact]
    public void Bounced_recipient_line()
    {
        var o = new RecipientOutcome(new EnvelopeRecipient(new SmtpPath("u", "example.com")), DeliveryStatus.Bounced,
            new SmtpReply(550, "5.1.1", "no such user"), "mx.example[192.0.2.1]:25")
        { ConnectionSetup = TimeSpan.FromSeconds(0.12), Transmission = TimeSpan.FromSeconds(0.03) };
        Assert.Equal("4FQX1Z2K3M: to=<u@example.com>, relay=mx.example[192.0.2.1]:25, delay=1.5, delays=1.4/0/0.12/0.03, dsn=5.1.1, status=bounced (550 5.1.1 no such user)",
            DeliveryLog.Format("4FQX1Z2K3M", o, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1.35), TimeSpan.Zero));
    }

    [Theory]
    [InlineData(0.004, "0")]
    [InlineData(0.05, "0.05")]
    [InlineData(0.423, "0.42")]
    [InlineData(1.23, "1.2")]
    [InlineData(71.4, "71")]
    public void Seconds_have_two_significant_digits(double seconds, string expected) =>
        Assert.Equal(expected, DeliveryLog.Seconds(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Original_recipient_from_orcpt_is_logged_when_different()
    {
        var rcpt = new EnvelopeRecipient(new SmtpPath("u", "example.com"), new RecipientParameters { OriginalRecipient = "rfc822;alias@example.com" });
        var o = new RecipientOutcome(rcpt, DeliveryStatus.Sent, new SmtpReply(250, null, "Ok"), "local");
        Assert.Equal("Q: to=<u@example.com>, orig_to=<alias@example.com>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (250 Ok)",
            DeliveryLog.Format("Q", o, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero));
    }
}
