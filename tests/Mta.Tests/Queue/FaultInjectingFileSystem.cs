// A file-system seam for crash tests: forwards to the real file system until a chosen operation,
// which fails; from then on every operation fails, as if the process had died at that point.
using Mta.Queue;

namespace Mta.Tests.Queue;

internal sealed class FaultInjectingFileSystem(Func<string, string, bool> failWhen) : IQueueFileSystem
{
    private readonly IQueueFileSystem _real = PhysicalQueueFileSystem.Instance;
    private readonly Dictionary<Stream, string> _paths = [];
    public bool Crashed { get; private set; }
    public List<string> Operations { get; } = [];

    private void Step(string op, string path)
    {
        if (Crashed) throw new IOException("simulated crash: process is gone");
        Operations.Add(op + " " + path);
        if (failWhen(op, path)) { Crashed = true; throw new IOException($"simulated crash at {op} {path}"); }
    }

    public Stream CreateNew(string path) { Step("create", path); var s = _real.CreateNew(path); _paths[s] = path; return s; }
    public void Fsync(Stream stream) { Step("fsync", _paths.GetValueOrDefault(stream, "?")); _real.Fsync(stream); }
    public void Rename(string source, string destination) { Step("rename", destination); _real.Rename(source, destination); }
    public void FsyncDirectory(string directory) { Step("fsyncdir", directory); _real.FsyncDirectory(directory); }
    public void Delete(string path) { Step("delete", path); _real.Delete(path); }
    public bool FileExists(string path) { Step("exists", path); return _real.FileExists(path); }
    public Stream OpenRead(string path) { Step("open", path); return _real.OpenRead(path); }
    public IEnumerable<string> EnumerateFiles(string directory) { Step("list", directory); return _real.EnumerateFiles(directory); }
    public void CreateDirectory(string directory) { Step("mkdir", directory); _real.CreateDirectory(directory); }
}
