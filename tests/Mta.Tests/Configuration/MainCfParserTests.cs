// Tests of MainCfParser: main.cf syntax per postconf(5) — continuations, comments, duplicates, errors with FILE:LINE.
using Mta.Configuration;

namespace Mta.Tests.Configuration;

public class MainCfParserTests
{
    private static MainCfEntry Single(string text) => Assert.Single(MainCfParser.Parse(text, "main.cf"));

    [Fact]
    public void NameEqualsValue_TrimsAroundNameAndValue()
    {
        var e = Single("myhostname   =   mail.example.com   \n");
        Assert.Equal(("myhostname", "mail.example.com", "main.cf", 1), (e.Name, e.Value, e.File, e.Line));
    }

    [Fact]
    public void NoSpacesAroundEquals_AndEmptyValue()
    {
        var entries = MainCfParser.Parse("a=b\nrelayhost =\n", "main.cf");
        Assert.Equal(["a=b", "relayhost="], entries.Select(e => $"{e.Name}={e.Value}"));
    }

    [Fact]
    public void ContinuationLines_AreJoinedWithOneSpace_AndKeepFirstLine()
    {
        var entries = MainCfParser.Parse("x = 1\nmynetworks = 127.0.0.0/8,\n\t10.0.0.0/8\n    192.168.0.0/16\ny = 2\n", "main.cf");
        var e = entries[1];
        Assert.Equal("mynetworks", e.Name);
        Assert.Equal("127.0.0.0/8, 10.0.0.0/8 192.168.0.0/16", e.Value);
        Assert.Equal(2, e.Line);
        Assert.Equal("y", entries[2].Name);
    }

    [Fact]
    public void CommentAndBlankLines_AreIgnored_EvenInsideAContinuation()
    {
        var e = Single("# comment\n   # indented comment\n\n  \nname = a\n# between\n\n  b\n");
        Assert.Equal("a b", e.Value);
        Assert.Equal(5, e.Line);
    }

    [Fact]
    public void HashInsideValue_IsNotAComment()
    {
        Assert.Equal("a # b", Single("name = a # b").Value);
    }

    [Fact]
    public void CrLfLineEnds_AreAccepted()
    {
        var entries = MainCfParser.Parse("a = 1\r\n  2\r\nb = 3\r\n", "main.cf");
        Assert.Equal(["a=1 2", "b=3"], entries.Select(e => $"{e.Name}={e.Value}"));
    }

    [Fact]
    public void LaterDuplicate_Overrides_AndRecordsItsLine()
    {
        var entries = MainCfParser.Parse("a = 1\nb = 2\na = 3\n", "main.cf");
        Assert.Equal(["b=2@2", "a=3@3"], entries.Select(e => $"{e.Name}={e.Value}@{e.Line}"));
    }

    [Theory]
    [InlineData("a = 1\nno equals sign\n", "main.cf:2: missing '='")]
    [InlineData("\n\nbad-name = 1\n", "main.cf:3: bad parameter name \"bad-name\"")]
    [InlineData("my name = 1\n", "main.cf:1: bad parameter name \"my name\"")]
    [InlineData(" = 1\n", "main.cf:1: continuation line without a preceding parameter")]
    [InlineData("# c\n  leading = 1\n", "main.cf:2: continuation line without a preceding parameter")]
    [InlineData("= 1\n", "main.cf:1: bad parameter name \"\"")]
    public void MalformedLines_FailWithFileAndLine(string text, string expectedPrefix)
    {
        var ex = TestConfig.Fails(() => MainCfParser.Parse(text, "main.cf"));
        Assert.StartsWith(expectedPrefix, ex.Message);
    }

    [Fact]
    public void NameStartingWithDigit_IsValid()
    {
        Assert.Equal("2bounce_notice_recipient", Single("2bounce_notice_recipient = postmaster").Name);
    }

    [Fact]
    public void ParseFile_MissingFile_NamesTheFile()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mta-missing-{Guid.NewGuid():N}.cf");
        var ex = TestConfig.Fails(() => MainCfParser.ParseFile(path));
        Assert.StartsWith($"{path}: cannot read:", ex.Message);
    }

    [Fact]
    public void ParseFile_ReadsTheFile_AndUsesItsPathInSources()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mta-{Guid.NewGuid():N}.cf");
        File.WriteAllText(path, "# x\nmyhostname = h.example\n");
        try
        {
            Assert.Equal($"{path}:2", Assert.Single(MainCfParser.ParseFile(path)).Source);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
