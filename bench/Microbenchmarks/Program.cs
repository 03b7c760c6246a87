// Microbenchmarks: BenchmarkDotNet runs of the hot paths of a session, per issue 6.
//   dotnet run -c Release -- [--quick] [BenchmarkDotNet arguments, e.g. --filter '*Parser*']
// --quick: one short in-process job (3 warm-ups, 3 iterations), so bench/run --quick stays short.
// Benchmarks: SmtpCommandParser, DotDataDecoder, the milter codec, DKIM signing (RSA-2048, Ed25519).
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
    // One group per benchmark class (its [BenchmarkCategory]) in the joined table, so each class's
    // Ratio column refers to its own baseline.
    .AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)
    .WithOptions(ConfigOptions.JoinSummary);
BenchmarkSwitcher.FromAssembly(typeof(Mta.Microbenchmarks.CommandParserBenchmarks).Assembly)
    .Run(rest.Length == 0 ? ["--filter", "*"] : rest, config);
