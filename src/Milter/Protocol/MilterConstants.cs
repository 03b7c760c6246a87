// MilterConstants: every command, reply, action, protocol-step and macro-stage value of the Sendmail
// milter protocol (version 2..6), plus the size limits the MTA side must respect.
// Values follow sendmail include/libmilter/mfdef.h and Postfix src/milter/milter8.c
// (see /work/shared/reference/filter-protocols.md 1.2-1.4).
namespace Mta.Milter.Protocol;

/// <summary>Command bytes the MTA sends to the milter (<c>SMFIC_*</c>).</summary>
public static class MilterCommand
{
    /// <summary><c>A</c>: abort the current message; no reply.</summary>
    public const byte Abort = (byte)'A';
    /// <summary><c>B</c>: a body chunk of at most 65535 bytes.</summary>
    public const byte Body = (byte)'B';
    /// <summary><c>C</c>: connection information.</summary>
    public const byte Connect = (byte)'C';
    /// <summary><c>D</c>: macro definitions for the command named by the first payload byte; no reply.</summary>
    public const byte Macro = (byte)'D';
    /// <summary><c>E</c>: end of body; the milter answers with modifications and a final action.</summary>
    public const byte BodyEnd = (byte)'E';
    /// <summary><c>H</c>: HELO/EHLO argument.</summary>
    public const byte Helo = (byte)'H';
    /// <summary><c>L</c>: one header (name, value).</summary>
    public const byte Header = (byte)'L';
    /// <summary><c>M</c>: MAIL FROM argv.</summary>
    public const byte Mail = (byte)'M';
    /// <summary><c>N</c>: end of headers.</summary>
    public const byte EndOfHeaders = (byte)'N';
    /// <summary><c>O</c>: option negotiation.</summary>
    public const byte OptionNegotiation = (byte)'O';
    /// <summary><c>Q</c>: quit; no reply, the connection is closed.</summary>
    public const byte Quit = (byte)'Q';
    /// <summary><c>R</c>: RCPT TO argv.</summary>
    public const byte Rcpt = (byte)'R';
    /// <summary><c>T</c>: DATA command (protocol version 4 and later).</summary>
    public const byte Data = (byte)'T';
    /// <summary><c>U</c>: an unknown SMTP command line (protocol version 3 and later).</summary>
    public const byte Unknown = (byte)'U';
    /// <summary><c>K</c>: quit but keep the connection for a new session (version 6). Postfix never sends it.</summary>
    public const byte QuitNewConnection = (byte)'K';

    /// <summary>The <c>SMFIC_</c> name of a command byte, as Postfix logs it, or <c>(unknown MTA event)</c>.</summary>
    public static string Name(byte command) => command switch
    {
        Abort => "SMFIC_ABORT",
        Body => "SMFIC_BODY",
        Connect => "SMFIC_CONNECT",
        Macro => "SMFIC_MACRO",
        BodyEnd => "SMFIC_BODYEOB",
        Helo => "SMFIC_HELO",
        Header => "SMFIC_HEADER",
        Mail => "SMFIC_MAIL",
        EndOfHeaders => "SMFIC_EOH",
        OptionNegotiation => "SMFIC_OPTNEG",
        Quit => "SMFIC_QUIT",
        Rcpt => "SMFIC_RCPT",
        Data => "SMFIC_DATA",
        Unknown => "SMFIC_UNKNOWN",
        QuitNewConnection => "SMFIC_QUIT_NC",
        _ => "(unknown MTA event)",
    };
}

/// <summary>Reply bytes the milter sends to the MTA (<c>SMFIR_*</c>).</summary>
public static class MilterReplyCode
{
    /// <summary><c>+</c>: add recipient (modification, end of message only).</summary>
    public const byte AddRcpt = (byte)'+';
    /// <summary><c>-</c>: delete recipient (modification).</summary>
    public const byte DelRcpt = (byte)'-';
    /// <summary><c>2</c>: add recipient with ESMTP arguments (modification).</summary>
    public const byte AddRcptPar = (byte)'2';
    /// <summary><c>4</c>: 421 and disconnect.</summary>
    public const byte Shutdown = (byte)'4';
    /// <summary><c>a</c>: accept.</summary>
    public const byte Accept = (byte)'a';
    /// <summary><c>b</c>: replace body (one chunk; repeatable).</summary>
    public const byte ReplBody = (byte)'b';
    /// <summary><c>c</c>: continue.</summary>
    public const byte Continue = (byte)'c';
    /// <summary><c>d</c>: discard the message.</summary>
    public const byte Discard = (byte)'d';
    /// <summary><c>e</c>: change the envelope sender (modification).</summary>
    public const byte ChgFrom = (byte)'e';
    /// <summary><c>f</c>: cause a connection failure. Postfix does not handle it (unexpected response).</summary>
    public const byte ConnFail = (byte)'f';
    /// <summary><c>h</c>: append a header (modification).</summary>
    public const byte AddHeader = (byte)'h';
    /// <summary><c>i</c>: insert a header at an index (modification).</summary>
    public const byte InsHeader = (byte)'i';
    /// <summary><c>l</c>: set the macro list (only ever inside the OPTNEG reply).</summary>
    public const byte SetSymList = (byte)'l';
    /// <summary><c>m</c>: change or delete a header (modification).</summary>
    public const byte ChgHeader = (byte)'m';
    /// <summary><c>p</c>: progress; keep waiting.</summary>
    public const byte Progress = (byte)'p';
    /// <summary><c>q</c>: quarantine with a reason; not a final reply.</summary>
    public const byte Quarantine = (byte)'q';
    /// <summary><c>r</c>: reject (5xx).</summary>
    public const byte Reject = (byte)'r';
    /// <summary><c>s</c>: skip further events of this type (version 6).</summary>
    public const byte Skip = (byte)'s';
    /// <summary><c>t</c>: temporary failure (4xx).</summary>
    public const byte TempFail = (byte)'t';
    /// <summary><c>y</c>: a custom SMTP reply text.</summary>
    public const byte ReplyCode = (byte)'y';
    /// <summary><c>O</c>: the option-negotiation reply.</summary>
    public const byte OptionNegotiation = (byte)'O';

    /// <summary>The <c>SMFIR_</c> name of a reply byte, as Postfix logs it, or <c>(unknown filter reply)</c>.</summary>
    public static string Name(byte reply) => reply switch
    {
        AddRcpt => "SMFIR_ADDRCPT",
        DelRcpt => "SMFIR_DELRCPT",
        AddRcptPar => "SMFIR_ADDRCPT_PAR",
        Shutdown => "SMFIR_SHUTDOWN",
        Accept => "SMFIR_ACCEPT",
        ReplBody => "SMFIR_REPLBODY",
        Continue => "SMFIR_CONTINUE",
        Discard => "SMFIR_DISCARD",
        ChgFrom => "SMFIR_CHGFROM",
        ConnFail => "SMFIR_CONN_FAIL",
        AddHeader => "SMFIR_ADDHEADER",
        InsHeader => "SMFIR_INSHEADER",
        SetSymList => "SMFIR_SETSYMLIST",
        ChgHeader => "SMFIR_CHGHEADER",
        Progress => "SMFIR_PROGRESS",
        Quarantine => "SMFIR_QUARANTINE",
        Reject => "SMFIR_REJECT",
        Skip => "SMFIR_SKIP",
        TempFail => "SMFIR_TEMPFAIL",
        ReplyCode => "SMFIR_REPLYCODE",
        OptionNegotiation => "SMFIC_OPTNEG",
        _ => "(unknown filter reply)",
    };
}

/// <summary>Modification actions a milter may request (<c>SMFIF_*</c>), negotiated in OPTNEG.</summary>
[Flags]
public enum MilterActions : uint
{
    /// <summary>No actions.</summary>
    None = 0,
    /// <summary>0x01: add headers (also covers insert).</summary>
    AddHeaders = 0x01,
    /// <summary>0x02: replace the body.</summary>
    ChangeBody = 0x02,
    /// <summary>0x04: add recipients.</summary>
    AddRcpt = 0x04,
    /// <summary>0x08: delete recipients.</summary>
    DelRcpt = 0x08,
    /// <summary>0x10: change or delete headers.</summary>
    ChangeHeaders = 0x10,
    /// <summary>0x20: quarantine.</summary>
    Quarantine = 0x20,
    /// <summary>0x40: change the envelope sender.</summary>
    ChangeFrom = 0x40,
    /// <summary>0x80: add recipients with ESMTP arguments.</summary>
    AddRcptPar = 0x80,
    /// <summary>0x100: send per-stage macro lists in the OPTNEG reply.</summary>
    SetSymList = 0x100,
    /// <summary>0x1FF: everything Postfix offers.</summary>
    All = 0x1FF,
}

/// <summary>Protocol-step flags (<c>SMFIP_*</c>): events the milter does not want, replies it will not send, features.</summary>
[Flags]
public enum MilterProtocolFlags : uint
{
    /// <summary>No flags.</summary>
    None = 0,
    /// <summary>0x1: do not send CONNECT.</summary>
    NoConnect = 0x1,
    /// <summary>0x2: do not send HELO.</summary>
    NoHelo = 0x2,
    /// <summary>0x4: do not send MAIL.</summary>
    NoMail = 0x4,
    /// <summary>0x8: do not send RCPT.</summary>
    NoRcpt = 0x8,
    /// <summary>0x10: do not send body chunks.</summary>
    NoBody = 0x10,
    /// <summary>0x20: do not send headers.</summary>
    NoHeaders = 0x20,
    /// <summary>0x40: do not send end-of-headers.</summary>
    NoEndOfHeaders = 0x40,
    /// <summary>0x80: no reply per header (<c>SMFIP_NOHREPL</c> = <c>SMFIP_NR_HDR</c>).</summary>
    NoReplyHeader = 0x80,
    /// <summary>0x100: do not send unknown commands.</summary>
    NoUnknown = 0x100,
    /// <summary>0x200: do not send DATA.</summary>
    NoData = 0x200,
    /// <summary>0x400: the MTA understands <c>SMFIR_SKIP</c>.</summary>
    Skip = 0x400,
    /// <summary>0x800: also send rejected recipients.</summary>
    RcptRejected = 0x800,
    /// <summary>0x1000: no reply to CONNECT.</summary>
    NoReplyConnect = 0x1000,
    /// <summary>0x2000: no reply to HELO.</summary>
    NoReplyHelo = 0x2000,
    /// <summary>0x4000: no reply to MAIL.</summary>
    NoReplyMail = 0x4000,
    /// <summary>0x8000: no reply to RCPT.</summary>
    NoReplyRcpt = 0x8000,
    /// <summary>0x10000: no reply to DATA.</summary>
    NoReplyData = 0x10000,
    /// <summary>0x20000: no reply to UNKNOWN.</summary>
    NoReplyUnknown = 0x20000,
    /// <summary>0x40000: no reply to end-of-headers.</summary>
    NoReplyEndOfHeaders = 0x40000,
    /// <summary>0x80000: no reply to body chunks.</summary>
    NoReplyBody = 0x80000,
    /// <summary>0x100000: header values are passed with their leading space; the MTA adds none.</summary>
    HeaderLeadingSpace = 0x100000,
    /// <summary>0x10000000: 256 KiB packets allowed (Postfix never offers it).</summary>
    MaxDataSize256K = 0x10000000,
    /// <summary>0x20000000: 1 MiB packets allowed (Postfix never offers it).</summary>
    MaxDataSize1M = 0x20000000,

    /// <summary>Every "do not send" flag (Postfix <c>SMFIP_NOSEND_MASK</c>).</summary>
    NoSendMask = NoConnect | NoHelo | NoMail | NoRcpt | NoBody | NoHeaders | NoEndOfHeaders | NoUnknown | NoData,
    /// <summary>Every "no reply" flag (Postfix <c>SMFIP_NOREPLY_MASK</c>); rspamd answers with exactly these (0x0FF080).</summary>
    NoReplyMask = NoReplyConnect | NoReplyHelo | NoReplyMail | NoReplyRcpt | NoReplyData | NoReplyUnknown
        | NoReplyHeader | NoReplyEndOfHeaders | NoReplyBody,
}

/// <summary>Macro stages (<c>SMFIM_*</c>) used in the macro lists of the OPTNEG reply. Note EOM (5) &lt; EOH (6).</summary>
public enum MilterMacroStage : uint
{
    /// <summary>0: CONNECT.</summary>
    Connect = 0,
    /// <summary>1: HELO.</summary>
    Helo = 1,
    /// <summary>2: MAIL (envelope from).</summary>
    EnvelopeFrom = 2,
    /// <summary>3: RCPT (envelope recipient).</summary>
    EnvelopeRcpt = 3,
    /// <summary>4: DATA.</summary>
    Data = 4,
    /// <summary>5: end of message (used for BODY and EOB).</summary>
    EndOfMessage = 5,
    /// <summary>6: end of headers (used for HEADER and EOH).</summary>
    EndOfHeaders = 6,
}

/// <summary>Address family byte of the CONNECT packet (<c>SMFIA_*</c>).</summary>
public enum MilterAddressFamily : byte
{
    /// <summary><c>U</c>: unknown; port and address are omitted.</summary>
    Unknown = (byte)'U',
    /// <summary><c>L</c>: a local (unix-domain) socket; port is 0.</summary>
    Unix = (byte)'L',
    /// <summary><c>4</c>: IPv4 (also used for IPv4-mapped IPv6 peers).</summary>
    Inet = (byte)'4',
    /// <summary><c>6</c>: IPv6.</summary>
    Inet6 = (byte)'6',
}

/// <summary>Size limits of the protocol.</summary>
public static class MilterLimits
{
    /// <summary>Largest payload (bytes, excluding length and command byte) libmilter accepts from the MTA
    /// without MDS negotiation; also Postfix's body chunk size (<c>MILTER_CHUNK_SIZE</c>).</summary>
    public const int MaxOutboundPayload = 65535;
    /// <summary>Default cap (bytes) on one inbound packet's length field; rspamd sends a whole body in one REPLBODY.</summary>
    public const int DefaultMaxInboundPacket = 64 * 1024 * 1024;
    /// <summary>Postfix truncates a quarantine reason to this many characters.</summary>
    public const int MaxQuarantineReason = 100;
}
