// HeaderEditor index semantics (Postfix cleanup_milter.c / milter8.c): INSHEADER absolute incl. our hidden
// Received:, CHGHEADER per name 1-based excluding it, append on missing occurrence, empty value deletes.
using Mta.Milter.Headers;

namespace Mta.Milter.Tests.Headers;

public class HeaderEditorTests
{
    // The message as delivered: our own Received: on top (hidden from milters), then the client's headers.
    private static HeaderEditor Editor() => new(
    [
        new MessageHeader("Received", " from us", HiddenFromMilters: true),
        new MessageHeader("Received", " from upstream"),
        new MessageHeader("From", " a@example.org"),
        new MessageHeader("To", " b@example.net"),
        new MessageHeader("X-Spam", " old1"),
        new MessageHeader("Subject", " hi"),
        new MessageHeader("x-spam", " old2"),
    ]);

    private static string Dump(HeaderEditor e) => string.Join("|", e.Headers.Select(h => h.ToWireString()));

    [Fact]
    public void Insert_0_goes_above_our_received()
    {
        var e = Editor();
        e.Insert(0, "X-Top", "t", leadingSpace: false);
        Assert.Equal("X-Top: t", e.Headers[0].ToWireString());
        Assert.True(e.Headers[1].HiddenFromMilters);
    }

    [Fact]
    public void Insert_1_goes_directly_below_our_received()
    {
        var e = Editor();
        e.Insert(1, "DKIM-Signature", "v=1", leadingSpace: false);
        Assert.Equal("Received: from us|DKIM-Signature: v=1|Received: from upstream", string.Join("|", e.Headers.Take(3).Select(h => h.ToWireString())));
    }

    [Fact]
    public void Repeated_inserts_at_1_and_2_keep_milter_order()
    {
        // rspamd inserts several DKIM-Signature/ARC headers at 1, 2, ... ; OpenDKIM always at 1.
        var e = Editor();
        e.Insert(1, "A", "1", false);
        e.Insert(2, "B", "2", false);
        Assert.Equal(["Received", "A", "B", "Received"], e.Headers.Take(4).Select(h => h.Name));
        var o = Editor();
        o.Insert(1, "A", "1", false);
        o.Insert(1, "B", "2", false);
        Assert.Equal(["Received", "B", "A", "Received"], o.Headers.Take(4).Select(h => h.Name));
    }

    [Fact]
    public void Insert_index_counts_every_header_of_any_name()
    {
        var e = Editor();
        e.Insert(3, "X-New", "n", false);
        Assert.Equal(3, e.Headers.ToList().FindIndex(h => h.Name == "X-New"));
        Assert.Equal("To", e.Headers[4].Name);
    }

    [Theory]
    [InlineData(7u)]
    [InlineData(100u)]
    [InlineData(uint.MaxValue)]
    public void Insert_past_the_end_appends(uint index)
    {
        var e = Editor();
        e.Insert(index, "X-End", "e", false);
        Assert.Equal("X-End", e.Headers[^1].Name);
        Assert.Equal(8, e.Headers.Count);
    }

    [Fact]
    public void Insert_without_own_received_is_plain_position()
    {
        var e = new HeaderEditor([new MessageHeader("From", " a"), new MessageHeader("To", " b")]);
        e.Insert(1, "X", "x", false);
        Assert.Equal("From: a|X: x|To: b", Dump(e));
    }

    [Fact]
    public void Change_received_1_is_the_first_one_after_ours()
    {
        var e = Editor();
        Assert.True(e.Change(1, "Received", "changed", false));
        Assert.Equal(" from us", e.Headers[0].Value);
        Assert.Equal(" changed", e.Headers[1].Value);
    }

    [Fact]
    public void Change_index_0_is_treated_as_1()
    {
        var e = Editor();
        e.Change(0, "X-Spam", "new", false);
        Assert.Equal("X-Spam: new", e.Headers[4].ToWireString());
    }

    [Fact]
    public void Change_counts_per_name_case_insensitively_in_place_with_milter_spelling()
    {
        var e = Editor();
        e.Change(2, "X-SPAM", "second", false);
        Assert.Equal("X-SPAM: second", e.Headers[6].ToWireString());
        Assert.Equal("X-Spam: old1", e.Headers[4].ToWireString());
        Assert.Equal(7, e.Headers.Count);
    }

    [Fact]
    public void Empty_value_deletes_that_occurrence()
    {
        var e = Editor();
        Assert.True(e.Change(1, "x-spam", "", false));
        Assert.Equal(["Received", "Received", "From", "To", "Subject", "x-spam"], e.Headers.Select(h => h.Name));
    }

    [Fact]
    public void Change_of_missing_occurrence_appends()
    {
        var e = Editor();
        Assert.False(e.Change(3, "X-Spam", "third", false));
        Assert.Equal("X-Spam: third", e.Headers[^1].ToWireString());
        Assert.Equal(8, e.Headers.Count);
        Assert.False(e.Change(1, "X-Absent", "v", false));
        Assert.Equal("X-Absent: v", e.Headers[^1].ToWireString());
    }

    [Fact]
    public void Delete_of_missing_occurrence_does_nothing()
    {
        var e = Editor();
        var before = Dump(e);
        Assert.False(e.Change(3, "X-Spam", "", false));
        Assert.False(e.Change(1, "X-Absent", "", false));
        Assert.Equal(before, Dump(e));
    }

    [Fact]
    public void Our_received_can_never_be_changed_or_deleted()
    {
        var e = Editor();
        e.Change(1, "Received", "", false);
        e.Change(1, "Received", "", false);
        Assert.Equal("Received: from us", e.Headers[0].ToWireString());
        Assert.Single(e.Headers, h => h.Name == "Received");
        e.Change(1, "Received", "new", false); // no visible Received left: appended
        Assert.Equal("Received: new", e.Headers[^1].ToWireString());
    }

    [Fact]
    public void Rspamd_add_header_sequence()
    {
        // rspamd: delete every X-Spam highest index first, then CHGHEADER X-Spam 1 "Yes" (appends: none left).
        var e = Editor();
        e.ApplyAll(
        [
            new MilterModification.ChangeHeader(2, "X-Spam", ""),
            new MilterModification.ChangeHeader(1, "X-Spam", ""),
            new MilterModification.ChangeHeader(1, "X-Spam", "Yes"),
            new MilterModification.InsertHeader(1, "DKIM-Signature", "v=1; a=rsa-sha256;\n\tb=abc"),
            new MilterModification.AddRecipient("<ignored@x>"),
        ], leadingSpace: false);
        Assert.Equal(
            "Received: from us|DKIM-Signature: v=1; a=rsa-sha256;\r\n\tb=abc|Received: from upstream|From: a@example.org|To: b@example.net|Subject: hi|X-Spam: Yes",
            Dump(e));
    }

    [Fact]
    public void Later_edits_see_earlier_ones()
    {
        var e = Editor();
        e.Add("X-Added", "1", false);
        e.Add("X-Added", "2", false);
        e.Change(2, "X-Added", "two", false);
        Assert.Equal("X-Added: two", e.Headers[^1].ToWireString());
        e.Insert(0, "Received", "fake", false);
        e.Change(1, "Received", "first visible", false); // the inserted one is visible to milters
        Assert.Equal("Received: first visible", e.Headers[0].ToWireString());
    }

    [Theory]
    [InlineData("v", false, " v")]
    [InlineData("v", true, "v")]
    [InlineData(" v", true, " v")]
    [InlineData("a\n\tb", false, " a\r\n\tb")]
    [InlineData("a\r\n b", false, " a\r\n b")]
    [InlineData("a\r\tb", false, " a\r\n\tb")]
    [InlineData("a\nb", false, " a\r\n\tb")]
    [InlineData("a\n\nb", false, " a\r\n\t\r\n\tb")]
    [InlineData("a\r\n", false, " a")]
    [InlineData("", false, " ")]
    public void Milter_values_are_normalised(string value, bool leadspc, string stored)
    {
        Assert.Equal(stored, HeaderEditor.FormatValue(value, leadspc));
    }

    [Fact]
    public void Apply_reports_non_header_modifications()
    {
        var e = Editor();
        Assert.False(e.Apply(new MilterModification.DeleteRecipient("<a@b>"), false));
        Assert.True(e.Apply(new MilterModification.AddHeader("X", "y"), false));
    }
}
