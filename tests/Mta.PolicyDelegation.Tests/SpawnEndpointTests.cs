// Spawned-program endpoint (Postfix spawn(8) style, as used for policyd-spf): one process per connection,
// requests on stdin, replies on stdout, reuse across requests, process exit handled as a failed attempt.
namespace Mta.PolicyDelegation.Tests;

public class SpawnEndpointTests
{
    private const string Dunno = "while IFS= read -r line; do if [ -z \"$line\" ]; then printf 'action=DUNNO\\n\\n'; fi; done";

    private static readonly PolicyServiceSettings Fast = PolicyServiceSettings.Default with
    {
        Timeout = TimeSpan.FromSeconds(5),
        RetryDelay = TimeSpan.FromMilliseconds(20),
    };

    private static readonly PolicyRequest Request = new() { ProtocolState = PolicyProtocolState.Rcpt, Recipient = "b@example.net" };

    [Fact]
    public async Task ShellLoop_AnswersDunno_OneProcessReused()
    {
        string pidFile = Path.GetTempFileName();
        try
        {
            var endpoint = PolicyEndpoint.Spawn("/bin/sh", "-c", $"echo $$ >> {pidFile}; {Dunno}");
            await using var client = new PolicyClient(endpoint, Fast);
            for (int i = 0; i < 3; i++)
            {
                var r = await client.QueryAsync(Request);
                Assert.False(r.UsedDefaultAction);
                Assert.Equal(AccessActionKind.Dunno, r.Action.Kind);
                Assert.Equal(1, r.Attempts);
            }
            Assert.Single(File.ReadAllLines(pidFile));
            Assert.Equal(1, client.OpenConnections);
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task ProgramThatExits_GivesDefaultAction_OneProcessPerAttempt()
    {
        string pidFile = Path.GetTempFileName();
        try
        {
            var endpoint = PolicyEndpoint.Spawn("/bin/sh", "-c", $"echo $$ >> {pidFile}; exit 0");
            await using var client = new PolicyClient(endpoint, Fast);
            var r = await client.QueryAsync(Request);
            Assert.True(r.UsedDefaultAction);
            Assert.Equal(2, r.Attempts);
            Assert.Equal(2, File.ReadAllLines(pidFile).Length);
        }
        finally
        {
            File.Delete(pidFile);
        }
    }

    [Fact]
    public async Task MissingProgram_GivesDefaultAction()
    {
        await using var client = new PolicyClient(PolicyEndpoint.Spawn("/nonexistent/policy-program"), Fast);
        var r = await client.QueryAsync(Request);
        Assert.True(r.UsedDefaultAction);
        Assert.All(r.Problems, p => Assert.StartsWith("connect to spawn:/nonexistent/policy-program", p));
    }

    [Fact]
    public async Task ProcessGetsEofOnDispose()
    {
        string marker = Path.GetTempFileName();
        File.Delete(marker);
        try
        {
            var endpoint = PolicyEndpoint.Spawn("/bin/sh", "-c", $"{Dunno}; touch {marker}");
            var client = new PolicyClient(endpoint, Fast);
            await client.QueryAsync(Request);
            await client.DisposeAsync();
            for (int i = 0; i < 100 && !File.Exists(marker); i++) await Task.Delay(20);
            Assert.True(File.Exists(marker));
        }
        finally
        {
            File.Delete(marker);
        }
    }
}
