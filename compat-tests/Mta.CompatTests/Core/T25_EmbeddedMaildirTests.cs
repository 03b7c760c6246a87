// T25 EmbeddedMaildir: local delivery as a first start sees it. The MTA gets only smtpd_listen,
// data_directory and mydestination = * (in a main.cf; or no file at all, everything by -o, so the
// embedded profile supplies mydestination = *). Every recipient domain is then local: each recipient
// gets a Maildir under maildir_base = $data_directory/mail, named after the lower-cased address.
// Layout (cr.yp.to/proto/maildir.html): tmp/, new/, cur/ exist; the message is in new/ under a
// "time.unique.host" name (no ":2," info, that belongs to cur/), tmp/ and cur/ are empty. Content:
// Return-Path: <sender>, Delivered-To: <recipient>, our Received:, then the client's message unchanged.
//
// Two more facts compare with Postfix's virtual(8) (run in the same test, its behaviour asserted too,
// so the reference is measured, not assumed) and with Dovecot, which the rig showed to do the same
// (DovecotLmtpPeer Maildirs are drwx------ / -rw-------, LF line ends by default, mail_save_crlf = no):
//   - privacy: Maildir directories 0700 and message files 0600 (no group/other access to mail);
//   - line ends: files in a Maildir use LF, as every Unix Maildir writer stores them (Dovecot's
//     documentation of mail_save_crlf warns that other software may mishandle CRs in Maildir files).
using System.Text.RegularExpressions;
using Mta.CompatTests.Clients;
using Mta.CompatTests.Infrastructure;
using Mta.CompatTests.Peers;
using Xunit.Abstractions;

namespace Mta.CompatTests.Core;

/// <summary>Maildir delivery with the embedded defaults.</summary>
public sealed partial class T25_EmbeddedMaildirTests(ITestOutputHelper output)
{
    private const string Sender = "sender@client.test";
    private static readonly string[] Recipients = ["alice@example.org", "bob@another.test"];
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    [GeneratedRegex(@"^(\d+)\.[^/:]+$")]
    private static partial Regex MaildirName();

    private static async Task<MtaProcess> StartBareMtaAsync(Scenario s, bool withoutConfigFile)
    {
        var config = MtaConfig.Bare(s.Dir);
        config.WithoutConfigFile = withoutConfigFile;
        if (!withoutConfigFile)
        {
            config.Set("mydestination", "*");
        }
        return await s.StartMtaAsync(config);
    }

    private static string MaildirMessagePath(string maildir) => Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Every_recipient_gets_a_Maildir_message_in_new_with_Return_Path_Delivered_To_and_our_Received(bool withoutConfigFile) => Scenario.RunAsync(output, async s =>
    {
        var mta = await StartBareMtaAsync(s, withoutConfigFile);
        var started = DateTimeOffset.UtcNow;

        var swaks = await s.SwaksAsync(new SwaksRequest { Port = mta.Port, From = Sender, To = Recipients, CorpusMessage = "ham-cjk_iso-2022-jp.2.eml" });

        Assert.Equal([250, 250], swaks.Rcpt.Select(r => r.Code));
        Assert.Equal(250, swaks.EndOfData.Code);
        Assert.Contains("delivered as", swaks.EndOfData.Text);
        Assert.Equal(Recipients.Order(StringComparer.Ordinal), Directory.GetDirectories(Path.Combine(mta.Config.DataDirectory, "mail"))
            .Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var rcpt in Recipients)
        {
            var maildir = mta.MaildirOf(rcpt);
            Assert.True(Directory.Exists(Path.Combine(maildir, "tmp")), $"{maildir}/tmp missing");
            Assert.True(Directory.Exists(Path.Combine(maildir, "cur")), $"{maildir}/cur missing");
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(maildir, "tmp")));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(maildir, "cur")));
            var file = MaildirMessagePath(maildir);
            var name = MaildirName().Match(Path.GetFileName(file));
            Assert.True(name.Success, $"not a Maildir new/ name (time.unique.host, no info): {Path.GetFileName(file)}");
            var time = DateTimeOffset.FromUnixTimeSeconds(long.Parse(name.Groups[1].Value));
            Assert.InRange(time, started.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

            // Compared with LF line ends; the line-end convention has its own test below.
            var stored = Bytes.Latin1(File.ReadAllBytes(file)).Replace("\r\n", "\n");
            var (returnPath, r1) = Bytes.SplitFirstField(stored);
            var (deliveredTo, r2) = Bytes.SplitFirstField(r1);
            Assert.Equal($"Return-Path: <{Sender}>\n", returnPath);
            Assert.Equal($"Delivered-To: {rcpt}\n", deliveredTo);
            var received = MtaExpect.OurReceivedThen(Corpus.AsStoredAfterSwaks("ham-cjk_iso-2022-jp.2.eml"), r2);
            Assert.Contains("from client.test", received);
        }
        MtaExpect.QueueEmpty(mta, "local delivery happened before the reply");
    });

    /// <summary>Delivers the same message through the bare MTA and through Postfix virtual(8); returns both files.</summary>
    private static async Task<(string Mta, string Postfix, MtaProcess MtaProcess, PostfixPeer PostfixPeer)> DeliverBothAsync(Scenario s)
    {
        var mta = await StartBareMtaAsync(s, withoutConfigFile: false);
        var postfix = await s.StartPostfixAsync(new PostfixOptions { MailboxUsers = ["alice@example.org"] });
        foreach (var port in new[] { mta.Port, postfix.Port })
        {
            var swaks = await s.SwaksAsync(new SwaksRequest { Port = port, From = Sender, To = ["alice@example.org"], CorpusMessage = "ham-001.eml" });
            Assert.Equal(250, swaks.EndOfData.Code);
        }
        await Maildir.WaitForAsync(postfix.MaildirOf("alice@example.org"), 1, TimeSpan.FromSeconds(30), "Postfix virtual(8) delivery");
        return (MaildirMessagePath(mta.MaildirOf("alice@example.org")), MaildirMessagePath(postfix.MaildirOf("alice@example.org")), mta, postfix);
    }

    [Fact]
    public Task Maildir_directories_and_messages_are_private_like_postfix_virtual() => Scenario.RunAsync(output, async s =>
    {
        var (mtaFile, postfixFile, mta, postfix) = await DeliverBothAsync(s);

        string[] Paths(string maildir, string file) =>
            [maildir, Path.Combine(maildir, "tmp"), Path.Combine(maildir, "new"), Path.Combine(maildir, "cur"), file];
        string Modes(string[] paths) => string.Join("\n", paths.Select(p => $"  {Convert.ToString((int)File.GetUnixFileMode(p), 8)} {p}"));
        var postfixPaths = Paths(postfix.MaildirOf("alice@example.org"), postfixFile);
        var mtaPaths = Paths(mta.MaildirOf("alice@example.org"), mtaFile);
        s.Note("postfix virtual(8):\n" + Modes(postfixPaths) + "\nmta:\n" + Modes(mtaPaths));

        Assert.All(postfixPaths, p => Assert.Equal((UnixFileMode)0, File.GetUnixFileMode(p) & GroupOrOther)); // the reference
        Assert.True(mtaPaths.All(p => (File.GetUnixFileMode(p) & GroupOrOther) == 0),
            "the MTA's Maildir gives group/other access to mail (Postfix virtual(8) and Dovecot use 0700/0600):\n" + Modes(mtaPaths));
    });

    [Fact]
    public Task Maildir_message_uses_LF_line_ends_like_postfix_virtual() => Scenario.RunAsync(output, async s =>
    {
        var (mtaFile, postfixFile, _, _) = await DeliverBothAsync(s);
        var postfixBytes = File.ReadAllBytes(postfixFile);
        var mtaBytes = File.ReadAllBytes(mtaFile);

        Assert.DoesNotContain((byte)'\r', postfixBytes); // the reference
        var crs = mtaBytes.Count(b => b == (byte)'\r');
        Assert.True(crs == 0, $"the MTA's Maildir file has {crs} CR bytes (CRLF line ends); Postfix virtual(8) and Dovecot store LF:\n" +
            RawSmtpClient.Printable(Bytes.Latin1(mtaBytes[..Math.Min(300, mtaBytes.Length)])));
    });
}
