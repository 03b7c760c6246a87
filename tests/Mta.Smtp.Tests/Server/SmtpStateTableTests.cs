// The command/state table as a matrix: every verb in every state, allowed or the exact refusal code.
using Mta.Smtp.Protocol;
using Mta.Smtp.Server;

namespace Mta.Smtp.Tests.Server;

public class SmtpStateTableTests
{
    [Theory]
    // state, verb, expected code (0 = allowed)
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Ehlo, 0)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Mail, 503)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Rcpt, 503)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Data, 503)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Bdat, 503)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.StartTls, 0)]
    [InlineData(SmtpSessionState.Ready, SmtpVerb.Mail, 0)]
    [InlineData(SmtpSessionState.Ready, SmtpVerb.Rcpt, 503)]
    [InlineData(SmtpSessionState.Ready, SmtpVerb.Data, 503)]
    [InlineData(SmtpSessionState.Mail, SmtpVerb.Mail, 503)]
    [InlineData(SmtpSessionState.Mail, SmtpVerb.Rcpt, 0)]
    [InlineData(SmtpSessionState.Mail, SmtpVerb.Data, 554)]
    [InlineData(SmtpSessionState.Mail, SmtpVerb.StartTls, 503)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Rcpt, 0)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Data, 0)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Bdat, 0)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Ehlo, 0)]
    [InlineData(SmtpSessionState.Chunking, SmtpVerb.Bdat, 0)]
    [InlineData(SmtpSessionState.Chunking, SmtpVerb.Data, 503)]
    [InlineData(SmtpSessionState.Chunking, SmtpVerb.Mail, 503)]
    [InlineData(SmtpSessionState.Chunking, SmtpVerb.Rset, 0)]
    [InlineData(SmtpSessionState.Chunking, SmtpVerb.Quit, 0)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Noop, 0)]
    public void Check(SmtpSessionState state, SmtpVerb verb, int expected)
    {
        var reply = SmtpStateTable.Check(state, verb);
        Assert.Equal(expected, reply?.Code ?? 0);
        if (reply != null) Assert.StartsWith("5.5.1", reply.EnhancedStatus);
    }

    [Theory]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Rset, SmtpSessionState.Ready)]
    [InlineData(SmtpSessionState.Connected, SmtpVerb.Rset, SmtpSessionState.Connected)]
    [InlineData(SmtpSessionState.Ready, SmtpVerb.StartTls, SmtpSessionState.Connected)]
    [InlineData(SmtpSessionState.Rcpt, SmtpVerb.Ehlo, SmtpSessionState.Ready)]
    [InlineData(SmtpSessionState.Mail, SmtpVerb.Rcpt, SmtpSessionState.Rcpt)]
    public void Next(SmtpSessionState state, SmtpVerb verb, SmtpSessionState next) =>
        Assert.Equal(next, SmtpStateTable.Next(state, verb));
}
