// IPeer: the contract every fixture that runs a process (smtp-sink, Postfix, Dovecot, our MTA)
// fulfils, so that a Scenario can stop all of them and print all of their logs when a test fails.
namespace Mta.CompatTests.Infrastructure;

/// <summary>A running peer owned by a Scenario.</summary>
public interface IPeer : IAsyncDisposable
{
    /// <summary>Short name used in log headings ("smtp-sink 127.0.0.1:40001").</summary>
    string Name { get; }

    /// <summary>Everything the peer logged: captured stdout/stderr and its log files.</summary>
    string DescribeLogs();
}
