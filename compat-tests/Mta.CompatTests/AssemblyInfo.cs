// AssemblyInfo: runs the compat tests one at a time. Each test starts real daemons (Postfix, Dovecot,
// smtp-sink, our MTA) on a 2-core machine; running them in parallel would make the timing assertions
// (end-of-data reply only after the downstream answered) and the startup waits flaky.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The peers are Debian programs; these tests run on Linux only (POSIX modes, signals, /proc).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
