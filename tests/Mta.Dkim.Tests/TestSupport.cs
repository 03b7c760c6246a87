// Test helpers: a key locator serving records from a dictionary (the "fake DNS" of the RFC vectors),
// test data paths, CRLF normalisation, and keys generated once per test run.
using System.Collections.Concurrent;
using System.Text;

namespace Mta.Dkim.Tests;

internal sealed class FakeKeyLocator : IDkimKeyLocator
{
    private readonly ConcurrentDictionary<string, DkimKeyLookup> _records = new(StringComparer.OrdinalIgnoreCase);

    public int Lookups;

    public FakeKeyLocator Add(string ownerName, string text)
    {
        _records[ownerName.TrimEnd('.')] = DkimKeyLookup.Found(text);
        return this;
    }

    public FakeKeyLocator Set(string ownerName, DkimKeyLookup lookup)
    {
        _records[ownerName.TrimEnd('.')] = lookup;
        return this;
    }

    public FakeKeyLocator Add(DkimSigningIdentity id) => Add($"{id.Selector}._domainkey.{id.Domain}", id.Key.KeyRecordText);

    public static FakeKeyLocator FromFile(string path)
    {
        var locator = new FakeKeyLocator();
        foreach (var line in File.ReadAllLines(path).Where(l => l.Length > 0))
        {
            var space = line.IndexOf(' ');
            locator.Add(line[..space], line[(space + 1)..]);
        }
        return locator;
    }

    public ValueTask<DkimKeyLookup> LookupAsync(string domain, string selector, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref Lookups);
        return ValueTask.FromResult(_records.TryGetValue($"{selector}._domainkey.{domain}", out var r)
            ? r
            : DkimKeyLookup.NotFound("NXDOMAIN"));
    }
}

internal static class TestData
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "TestData");

    public static string PathOf(string name) => Path.Combine(Dir, name);

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    /// <summary>Converts bare LF line ends to CRLF (corpus files are stored with LF).</summary>
    public static byte[] Crlf(byte[] data)
    {
        var output = new List<byte>(data.Length + data.Length / 40);
        for (int i = 0; i < data.Length; i++)
        {
            if (data[i] == (byte)'\n' && (i == 0 || data[i - 1] != (byte)'\r'))
                output.Add((byte)'\r');
            output.Add(data[i]);
        }
        return output.ToArray();
    }

    public static byte[] Crlf(string text) => Crlf(Encoding.ASCII.GetBytes(text));

    public static IEnumerable<string> CorpusFiles() =>
        Directory.GetFiles(Path.Combine(Dir, "corpus"), "*.eml").Order(StringComparer.Ordinal);

    public static byte[] Concat(ReadOnlyMemory<byte> a, byte[] b) => [.. a.ToArray(), .. b];
}

internal static class Keys
{
    private static readonly Lazy<DkimKey> LazyRsa = new(() => DkimKeyGenerator.Generate(DkimKeyAlgorithm.Rsa));
    private static readonly Lazy<DkimKey> LazyEd = new(() => DkimKeyGenerator.Generate(DkimKeyAlgorithm.Ed25519));

    public static DkimKey Rsa => LazyRsa.Value;

    public static DkimKey Ed25519 => LazyEd.Value;

    public static DkimSigningIdentity RsaId(string domain = "example.org", string selector = "rsa1") => new(domain, selector, Rsa);

    public static DkimSigningIdentity EdId(string domain = "example.org", string selector = "ed1") => new(domain, selector, Ed25519);
}
