// The Received: header layout (RFC 5321 4.4) byte for byte.
using System.Text;
using Mta.Pipeline;

namespace Mta.Tests.Pipeline;

public class ReceivedHeaderTests
{
    [Fact]
    public void With_tls_and_one_recipient()
    {
        var h = ReceivedHeader.Build("client.test", "unknown", "192.0.2.1", "mx.test", "Mta", "ESMTPS", "1K1E2JM5SWXBBNN",
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384", "a@b.test", DateTimeOffset.Parse("2026-11-29T20:43:47Z"));
        Assert.Equal("Received: from client.test (unknown [192.0.2.1])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n" +
                     "\tby mx.test (Mta) with ESMTPS id 1K1E2JM5SWXBBNN\r\n\tfor <a@b.test>; Sun, 29 Nov 2026 20:43:47 +0000 (UTC)\r\n",
            Encoding.UTF8.GetString(h));
    }

    [Fact]
    public void Without_tls_and_several_recipients_has_no_for_clause()
    {
        var h = Encoding.UTF8.GetString(ReceivedHeader.Build("c", "localhost", "127.0.0.1", "mx.test", "Mta", "ESMTP", "ID", null, null,
            DateTimeOffset.Parse("2026-01-05T01:02:03Z")));
        Assert.Equal("Received: from c (localhost [127.0.0.1])\r\n\tby mx.test (Mta) with ESMTP id ID; Mon, 5 Jan 2026 01:02:03 +0000 (UTC)\r\n", h);
    }
}
