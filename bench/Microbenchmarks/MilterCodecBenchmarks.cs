// The milter codec (src/Milter/Protocol) on one 4 KiB message as the MTA passes it to a milter:
// encoding the MTA -> milter packets (one header, one 4 KiB body chunk, and the whole per-message stream
// MAIL .. end-of-message with its macros) and decoding the milter's replies (framing with
// MilterPacketReader as MilterClient reads them, fields of modification requests with MilterPayloadReader,
// and the text of a custom reply). The reply stream is what a content filter such as rspamd answers:
// continue to every event, then at end-of-message a header change, an added header and accept.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using Mta.Milter.Protocol;

namespace Mta.Microbenchmarks;

[MemoryDiagnoser]
[BenchmarkCategory("milter codec")]
public class MilterCodecBenchmarks
{
    private static readonly (string Name, string RawValue)[] Headers =
    [
        ("Received", " from source.bench.test (localhost [127.0.0.1])\r\n\tby mta.bench.test with ESMTP id 4bXy2Q0m8Hz1xqP\r\n\tfor <recipient@bench.test>; Sat, 29 Nov 2026 23:50:00 +0000"),
        ("From", " Sender Name <sender@bench.test>"),
        ("To", " Recipient Name <recipient@bench.test>"),
        ("Subject", " Quarterly figures for the bench team, second draft"),
        ("Date", " Sat, 29 Nov 2026 23:50:00 +0000"),
        ("Message-ID", " <20261129235000.4bXy2Q0m8Hz1xqP@source.bench.test>"),
        ("MIME-Version", " 1.0"),
        ("Content-Type", " text/plain; charset=utf-8"),
    ];

    private static readonly KeyValuePair<string, string>[] MailMacros =
        [new("i", "4bXy2Q0m8Hz1xqP"), new("{mail_addr}", "sender@bench.test"), new("{mail_host}", "bench.test"), new("{mail_mailer}", "smtp")];
    private static readonly KeyValuePair<string, string>[] RcptMacros =
        [new("i", "4bXy2Q0m8Hz1xqP"), new("{rcpt_addr}", "recipient@bench.test"), new("{rcpt_host}", "bench.test"), new("{rcpt_mailer}", "smtp")];
    private static readonly KeyValuePair<string, string>[] QueueIdMacro = [new("i", "4bXy2Q0m8Hz1xqP")];

    private readonly ArrayBufferWriter<byte> _out = new(16 * 1024);
    private byte[] _body = [];
    private (string Name, string Value)[] _wireHeaders = [];
    private ReadOnlySequence<byte> _replies;
    private byte[] _replyCode = [];

    [GlobalSetup]
    public void Setup()
    {
        var sb = new StringBuilder();
        while (sb.Length < 4096 - 78)
            sb.Append(new string('x', 76)).Append("\r\n");
        _body = Encoding.ASCII.GetBytes(sb.ToString());
        _wireHeaders = Headers.Select(h => (MilterHeaderFormat.Name(h.Name), MilterHeaderFormat.Value(h.RawValue, leadingSpace: false))).ToArray();

        // Replies to one message: M, R, T, every L, N and B answered with continue; E answered with a
        // header change, an added header and accept.
        var w = new ArrayBufferWriter<byte>();
        for (int i = 0; i < 3 + Headers.Length + 2; i++)
            Reply(w, MilterReplyCode.Continue, []);
        Reply(w, MilterReplyCode.ChgHeader, [.. U32(1), .. Z("X-Spam"), .. Z("")]);
        Reply(w, MilterReplyCode.AddHeader, [.. Z("X-Spamd-Result"), .. Z("default: False [0.40 / 15.00];\n\tMIME_GOOD(-0.10)[text/plain];\n\tARC_NA(0.00)[]")]);
        Reply(w, MilterReplyCode.Accept, []);
        _replies = new ReadOnlySequence<byte>(w.WrittenMemory.ToArray());
        _replyCode = Z("554 5.7.1 Spam message rejected");
        if (DecodeReplies() != 3 + Headers.Length + 2 + 3)
            throw new InvalidOperationException("reply stream not decoded as expected");
    }

    /// <summary>One <c>L</c> packet (Subject).</summary>
    [Benchmark]
    public int EncodeHeader()
    {
        _out.ResetWrittenCount();
        MilterPacketWriter.WriteHeader(_out, _wireHeaders[3].Name, _wireHeaders[3].Value);
        return _out.WrittenCount;
    }

    /// <summary>One <c>B</c> packet of the whole 4 KiB body.</summary>
    [Benchmark]
    public int EncodeBody4KiB()
    {
        _out.ResetWrittenCount();
        MilterPacketWriter.WriteBody(_out, _body);
        return _out.WrittenCount;
    }

    /// <summary>Everything sent for one message: D M, D R, T, D L per header (formatted as the client does), D N, D B, D E.</summary>
    [Benchmark]
    public int EncodeMessage()
    {
        _out.ResetWrittenCount();
        MilterPacketWriter.WriteMacros(_out, MilterCommand.Mail, MailMacros);
        MilterPacketWriter.WriteMail(_out, ["<sender@bench.test>", "SIZE=4096", "BODY=8BITMIME"]);
        MilterPacketWriter.WriteMacros(_out, MilterCommand.Rcpt, RcptMacros);
        MilterPacketWriter.WriteRcpt(_out, ["<recipient@bench.test>"]);
        MilterPacketWriter.WriteEmpty(_out, MilterCommand.Data);
        foreach (var (name, raw) in Headers)
        {
            MilterPacketWriter.WriteMacros(_out, MilterCommand.Header, QueueIdMacro);
            MilterPacketWriter.WriteHeader(_out, MilterHeaderFormat.Name(name), MilterHeaderFormat.Value(raw, leadingSpace: false));
        }
        MilterPacketWriter.WriteMacros(_out, MilterCommand.EndOfHeaders, QueueIdMacro);
        MilterPacketWriter.WriteEmpty(_out, MilterCommand.EndOfHeaders);
        MilterPacketWriter.WriteMacros(_out, MilterCommand.Body, QueueIdMacro);
        MilterPacketWriter.WriteBody(_out, _body);
        MilterPacketWriter.WriteMacros(_out, MilterCommand.BodyEnd, QueueIdMacro);
        MilterPacketWriter.WriteEmpty(_out, MilterCommand.BodyEnd);
        return _out.WrittenCount;
    }

    /// <summary>Frames every reply of one message (copying each payload, as MilterClient does) and decodes the modification requests.</summary>
    [Benchmark]
    public int DecodeReplies()
    {
        var buffer = _replies;
        int n = 0;
        while (MilterPacketReader.TryRead(ref buffer, MilterLimits.DefaultMaxInboundPacket, out MilterPacket p))
        {
            n++;
            var r = new MilterPayloadReader(p.Payload.Span);
            switch (p.Code)
            {
                case MilterReplyCode.ChgHeader:
                    r.ReadUInt32();
                    if (r.ReadString().Length == 0) throw new InvalidOperationException();
                    r.ReadString();
                    r.EnsureEnd();
                    break;
                case MilterReplyCode.AddHeader:
                    r.ReadString();
                    r.ReadString();
                    r.EnsureEnd();
                    break;
                default:
                    r.EnsureEnd();
                    break;
            }
        }
        return n;
    }

    /// <summary>Validates and normalises the text of a <c>y</c> (custom reply) packet.</summary>
    [Benchmark]
    public int DecodeReplyCode() =>
        MilterReplyText.TryNormalize(_replyCode, out var text) ? text.Length : throw new InvalidOperationException("reply text refused");

    private static void Reply(ArrayBufferWriter<byte> w, byte code, byte[] payload)
    {
        var span = w.GetSpan(5 + payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)(payload.Length + 1));
        span[4] = code;
        payload.CopyTo(span[5..]);
        w.Advance(5 + payload.Length);
    }

    private static byte[] U32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, v);
        return b;
    }

    private static byte[] Z(string s) => [.. Encoding.UTF8.GetBytes(s), 0];
}
