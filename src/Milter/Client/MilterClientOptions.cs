// MilterClientOptions: per-milter settings with Postfix names and defaults (mail_params.h):
// milter_protocol 6, milter_connect_timeout 30s, milter_command_timeout 30s, milter_content_timeout 300s,
// milter_*_macros lists. Reference 1.10.
namespace Mta.Milter;

/// <summary>Macro name lists per stage (space or comma separated; single letters without braces, others with).</summary>
public sealed record MilterMacroLists
{
    /// <summary><c>milter_connect_macros</c>.</summary>
    public string Connect { get; init; } = "j {daemon_name} {daemon_addr} v _";
    /// <summary><c>milter_helo_macros</c>.</summary>
    public string Helo { get; init; } = "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}";
    /// <summary><c>milter_mail_macros</c>.</summary>
    public string Mail { get; init; } = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}";
    /// <summary><c>milter_rcpt_macros</c>.</summary>
    public string Rcpt { get; init; } = "i {rcpt_addr} {rcpt_host} {rcpt_mailer}";
    /// <summary><c>milter_data_macros</c> (sent only to version 4+ milters).</summary>
    public string Data { get; init; } = "i";
    /// <summary><c>milter_end_of_header_macros</c> (sent before each header and before EOH).</summary>
    public string EndOfHeaders { get; init; } = "i";
    /// <summary><c>milter_end_of_data_macros</c> (sent before each body chunk and before EOB).</summary>
    public string EndOfMessage { get; init; } = "i";
    /// <summary><c>milter_unknown_command_macros</c>.</summary>
    public string Unknown { get; init; } = "";

    /// <summary>Postfix's defaults.</summary>
    public static MilterMacroLists PostfixDefaults { get; } = new();
}

/// <summary>Settings of one milter client.</summary>
public sealed record MilterClientOptions
{
    /// <summary><c>milter_protocol</c>: 2, 3, 4 or 6 (default 6). Validated by <see cref="Validate"/>.</summary>
    public int ProtocolVersion { get; init; } = 6;
    /// <summary>The <c>no_header_reply</c> extension of <c>milter_protocol</c>: also offer SMFIP_NOHREPL.</summary>
    public bool NoHeaderReply { get; init; }
    /// <summary><c>milter_connect_timeout</c>: socket connect (default 30 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary><c>milter_command_timeout</c>: each read/write for OPTNEG, CONNECT, HELO, MAIL, RCPT, DATA, UNKNOWN,
    /// ABORT and QUIT (default 30 s).</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary><c>milter_content_timeout</c>: each read/write for HEADER, EOH, BODY and EOB including every packet of
    /// the modification stream; each read restarts it (default 300 s).</summary>
    public TimeSpan ContentTimeout { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>Largest accepted inbound length field, bytes (default 64 MiB; rspamd sends a whole body in one packet).</summary>
    public int MaxInboundPacketLength { get; init; } = Protocol.MilterLimits.DefaultMaxInboundPacket;
    /// <summary>The MTA's macro lists; the milter may override individual stages during negotiation.</summary>
    public MilterMacroLists Macros { get; init; } = MilterMacroLists.PostfixDefaults;
    /// <summary>Clock for all timeouts (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">Bad version, non-positive timeout or packet limit.</exception>
    public void Validate()
    {
        if (ProtocolVersion is not (2 or 3 or 4 or 6))
            throw new ArgumentException($"milter protocol version {ProtocolVersion} is not one of 2, 3, 4, 6");
        if (ConnectTimeout <= TimeSpan.Zero || CommandTimeout <= TimeSpan.Zero || ContentTimeout <= TimeSpan.Zero)
            throw new ArgumentException("milter timeouts must be positive");
        if (MaxInboundPacketLength < 1)
            throw new ArgumentException("MaxInboundPacketLength must be positive");
    }
}
