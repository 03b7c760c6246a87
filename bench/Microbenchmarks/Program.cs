// Microbenchmarks: BenchmarkDotNet runs of the hot paths of a session, per issue 6.
//   dotnet run -c Release -- [--quick] [BenchmarkDotNet arguments, e.g. --filter '*Parser*']
// --quick: one short in-process job (3 warm-ups, 3 iterations), so bench/run --quick stays short.
// Not here yet, because the code does not exist yet: the milter codec and DKIM signing.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

bool quick = args.Contains("--quick");
var rest = args.Where(a => a != "--quick").ToArray();
var job = quick
    ? Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithId("ShortInProcess")
    : Job.Default;
var config = ManualConfig.CreateEmpty()
    .AddJob(job)
    .AddColumnProvider(DefaultConfig.Instance.GetColumnProviders().ToArray())
    .AddLogger(DefaultConfig.Instance.GetLoggers().ToArray())
    .AddExporter(MarkdownExporter.GitHub)
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.JoinSummary);
BenchmarkSwitcher.FromAssembly(typeof(Mta.Microbenchmarks.CommandParserBenchmarks).Assembly)
    .Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
