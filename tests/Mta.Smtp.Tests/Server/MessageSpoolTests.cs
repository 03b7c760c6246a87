// MessageSpool: memory up to the threshold, a temporary file beyond it, readable many times, removed on dispose.
using Mta.Smtp.Content;

namespace Mta.Smtp.Tests.Server;

public class MessageSpoolTests
{
    [Fact]
    public void Small_content_stays_in_memory()
    {
        using var spool = new MessageSpool(100, Path.GetTempPath());
        spool.Write(new byte[60]);
        spool.Flush();
        Assert.False(spool.IsOnDisk);
        Assert.Equal(60, spool.Length);
    }

    [Fact]
    public void Past_the_threshold_content_moves_to_a_file_that_dispose_removes()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spooltest-" + Guid.NewGuid().ToString("N"));
        var spool = new MessageSpool(100, dir);
        var data = Enumerable.Range(0, 250).Select(i => (byte)i).ToArray();
        spool.Write(data.AsSpan(0, 80));
        spool.Write(data.AsSpan(80));
        spool.Flush();
        Assert.True(spool.IsOnDisk);
        Assert.Single(Directory.GetFiles(dir));
        using (var a = spool.OpenRead())
        using (var b = spool.OpenRead())
        {
            var ma = new MemoryStream(); a.CopyTo(ma);
            var mb = new MemoryStream(); b.CopyTo(mb);
            Assert.Equal(data, ma.ToArray());
            Assert.Equal(data, mb.ToArray());
        }
        Assert.Throws<InvalidOperationException>(() => spool.Write(new byte[1]));
        spool.Dispose();
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void Content_with_a_body_offset_reads_prefix_then_the_rest()
    {
        using var spool = new MessageSpool(1000, Path.GetTempPath());
        spool.Write("Old: header\r\n\r\nbody\r\n"u8);
        spool.Flush();
        var content = new MessageContent("New: header\r\n\r\n"u8.ToArray(), spool, bodyOffset: 15);
        using var s = content.OpenRead();
        Assert.Equal("New: header\r\n\r\nbody\r\n", new StreamReader(s).ReadToEnd());
        Assert.Equal(21, content.Length);
    }
}
