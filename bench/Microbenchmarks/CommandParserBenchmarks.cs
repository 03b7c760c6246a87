// SmtpCommandParser.Parse on the command lines of a typical relayed message (the line without CRLF,
// as SmtpServerSession hands it over).
using System.Text;
using BenchmarkDotNet.Attributes;
using Mta.Smtp.Protocol;

namespace Mta.Microbenchmarks;

[MemoryDiagnoser]
[BenchmarkCategory("command parser")]
public class CommandParserBenchmarks
{
    private static readonly SmtpParserOptions Options = SmtpParserOptions.Default;
    private readonly byte[] _ehlo = Encoding.ASCII.GetBytes("EHLO client.bench.test");
    private readonly byte[] _mail = Encoding.ASCII.GetBytes("MAIL FROM:<sender@bench.test> SIZE=4096 BODY=8BITMIME");
    private readonly byte[] _rcpt = Encoding.ASCII.GetBytes("RCPT TO:<recipient.name@destination.bench.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;recipient.name@destination.bench.test");
    private readonly byte[] _data = Encoding.ASCII.GetBytes("DATA");

    [Benchmark] public SmtpParseResult Ehlo() => SmtpCommandParser.Parse(_ehlo, Options);
    [Benchmark] public SmtpParseResult MailFromWithParameters() => SmtpCommandParser.Parse(_mail, Options);
    [Benchmark] public SmtpParseResult RcptToWithDsn() => SmtpCommandParser.Parse(_rcpt, Options);
    [Benchmark] public SmtpParseResult Data() => SmtpCommandParser.Parse(_data, Options);
}
