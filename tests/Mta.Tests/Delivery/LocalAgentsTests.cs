// Maildir layout and atomic delivery (tmp -> new, no leftovers), unsafe addresses, I/O failure and
// deadline; discard and error transports.
using System.Text;
using Mta.Configuration;
using Mta.Delivery;

namespace Mta.Tests.Delivery;

public sealed class LocalAgentsTests : IDisposable
{
    private readonly string _base = Directory.CreateTempSubdirectory("maildir-").FullName;
    public void Dispose() => Directory.Delete(_base, true);

    private MaildirDeliveryAgent Agent() => new(new DeliveryOptions { MaildirBase = _base }, new IdentityOptions { MyHostname = "mx.test" });

    [Fact]
    public async Task Delivers_into_new_with_unique_names_and_headers()
    {
        var o = await Agent().DeliverAsync(Msg.Request(NextHop.Local, "Bob@Example.COM", "carol@example.com", "bob@example.com"), default);
        Assert.All(o, x => Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 delivered to maildir", "local"), (x.Status, x.Reply.ToString(), x.Relay)));
        var bob = Path.Combine(_base, "bob@example.com");
        foreach (var sub in new[] { "tmp", "new", "cur" }) Assert.True(Directory.Exists(Path.Combine(bob, sub)));
        Assert.Empty(Directory.GetFiles(Path.Combine(bob, "tmp")));
        var files = Directory.GetFiles(Path.Combine(bob, "new"));
        Assert.Equal(2, files.Length);
        Assert.Single(Directory.GetFiles(Path.Combine(_base, "carol@example.com", "new")));
        var name = Path.GetFileName(files[0]);
        Assert.Matches(@"^\d+\.M\d+P\d+_\d+\.mx\.test$", name);
        Assert.NotEqual(Path.GetFileName(files[0]), Path.GetFileName(files[1]));
        var text = File.ReadAllText(files[0], Encoding.UTF8);
        Assert.StartsWith("Return-Path: <alice@example.org>\nDelivered-To: ", text);
        Assert.EndsWith("Received: by test\nSubject: test\n\nbody\n", text);
        Assert.DoesNotContain('\r', text);
        Assert.False(OperatingSystem.IsWindows(), "these tests run on Linux");
        if (OperatingSystem.IsWindows()) return;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files[0]));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(bob));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(bob, "new")));
    }

    [Theory]
    [InlineData("a\r\nb\r\n", "a\nb\n")]
    [InlineData("lone\rcr\r\n", "lone\rcr\n")]
    [InlineData("ends in cr\r", "ends in cr\r")]
    public async Task Crlf_becomes_lf_across_buffer_boundaries(string input, string expected)
    {
        var bytes = Encoding.ASCII.GetBytes(new string('x', 65535) + input);
        using var src = new MemoryStream(bytes);
        using var dst = new MemoryStream();
        await MaildirDeliveryAgent.CopyWithLfLineEndsAsync(src, dst, default);
        Assert.Equal(new string('x', 65535) + expected, Encoding.ASCII.GetString(dst.ToArray()));
    }

    [Theory]
    [InlineData("a/b@example.com")]
    [InlineData("..@example.com")]
    [InlineData("x..y@example.com")]
    [InlineData("nul\0@example.com")]
    [InlineData("back\\slash@example.com")]
    public async Task Unsafe_addresses_bounce_5_1_3(string addr)
    {
        var o = (await Agent().DeliverAsync(Msg.Request(NextHop.Local, addr), default)).Single();
        Assert.Equal((DeliveryStatus.Bounced, "5.1.3"), (o.Status, o.Dsn));
        Assert.Empty(Directory.GetFileSystemEntries(_base));
    }

    [Fact]
    public async Task Io_failure_defers_and_leaves_nothing_in_new()
    {
        // The recipient's maildir path is a regular file: creating tmp/ fails.
        File.WriteAllText(Path.Combine(_base, "blocked@example.com"), "");
        var o = await Agent().DeliverAsync(Msg.Request(NextHop.Local, "blocked@example.com", "fine@example.com"), default);
        Assert.Equal((DeliveryStatus.Deferred, "4.3.0"), (o[0].Status, o[0].Dsn));
        Assert.Equal(DeliveryStatus.Sent, o[1].Status);
    }

    [Fact]
    public async Task Cancelled_deadline_defers()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var o = (await Agent().DeliverAsync(Msg.Request(NextHop.Local, "u@example.com"), cts.Token)).Single();
        Assert.Equal((DeliveryStatus.Deferred, "4.4.2"), (o.Status, o.Dsn));
        Assert.False(Directory.Exists(Path.Combine(_base, "u@example.com", "new")) && Directory.GetFiles(Path.Combine(_base, "u@example.com", "new")).Length > 0);
    }

    [Fact]
    public void Directory_fsync_works_on_this_platform() => MaildirDeliveryAgent.FsyncDirectory(_base);

    [Fact]
    public async Task Discard_accepts_with_relay_none()
    {
        var o = await new DiscardDeliveryAgent().DeliverAsync(Msg.Request(new NextHop(TransportKind.Discard, "", 0, true), "a@x", "b@x"), default);
        Assert.All(o, x => Assert.Equal((DeliveryStatus.Sent, "250 2.0.0 discarded", "none"), (x.Status, x.Reply.ToString(), x.Relay)));
    }

    [Theory]
    [InlineData("5.1.1 mailbox unavailable", "550 5.1.1 mailbox unavailable")]
    [InlineData("relaying denied", "550 5.0.0 relaying denied")]
    [InlineData("", "550 5.0.0 delivery refused by the error transport")]
    [InlineData("4.1.1 not a 5xx code", "550 5.0.0 4.1.1 not a 5xx code")]
    public async Task Error_bounces_with_the_next_hop_text(string text, string reply)
    {
        var o = (await new ErrorDeliveryAgent().DeliverAsync(Msg.Request(new NextHop(TransportKind.Error, text, 0, true), "a@x"), default)).Single();
        Assert.Equal((DeliveryStatus.Bounced, reply, "none"), (o.Status, o.Reply.ToString(), o.Relay));
    }
}
