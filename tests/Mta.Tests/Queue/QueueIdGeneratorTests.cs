// QueueIdGenerator: shape, alphabet, time order, uniqueness under concurrency.
using Microsoft.Extensions.Time.Testing;
using Mta.Queue;

namespace Mta.Tests.Queue;

public sealed class QueueIdGeneratorTests
{
    [Fact]
    public void Ids_have_the_documented_shape_and_decode_to_their_time()
    {
        var time = new FakeTimeProvider(QueueTestData.T0);
        var id = new QueueIdGenerator(time).Next();
        Assert.Equal(QueueIdGenerator.Length, id.Length);
        Assert.All(id, c => Assert.Contains(c, QueueIdGenerator.Alphabet));
        Assert.Equal(QueueTestData.T0, QueueIdGenerator.TimeOf(id));
        Assert.True(QueueIdGenerator.IsValid(id));
    }

    [Fact]
    public void Ids_sort_by_time_even_when_the_clock_stands_still_or_goes_back()
    {
        var time = new SettableClock { Now = QueueTestData.T0 };
        var gen = new QueueIdGenerator(time);
        var ids = new List<string>();
        for (int i = 0; i < 50; i++) ids.Add(gen.Next());   // same microsecond
        time.Now = QueueTestData.T0.AddSeconds(1);
        ids.Add(gen.Next());
        time.Now = QueueTestData.T0.AddHours(-1);       // clock stepped back
        ids.Add(gen.Next());
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Concurrent_callers_get_distinct_ids()
    {
        var gen = new QueueIdGenerator();
        var all = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 8, _ => { for (int i = 0; i < 5000; i++) all.Add(gen.Next()); });
        Assert.Equal(40000, all.Distinct().Count());
    }
}

internal sealed class SettableClock : TimeProvider
{
    public DateTimeOffset Now { get; set; }
    public override DateTimeOffset GetUtcNow() => Now;
}
