// MilterProtocolException: "the protocol broke" (I/O error, EOF, timeout, malformed or unexpected packet).
// A refusal by the milter is a MilterResponse value, never this exception (MailKit-style split, style.md).
// Kinds follow Postfix milter8.c: milter8_comm_error vs milter8_conf_error.
namespace Mta.Milter;

/// <summary>Why a milter conversation failed; the host maps it to <c>milter_default_action</c>.</summary>
public enum MilterFailureKind
{
    /// <summary>Read/write/format error, EOF, timeout, malformed packet or unexpected reply
    /// (Postfix <c>milter8_comm_error</c>: the configured default action applies).</summary>
    Communication,
    /// <summary>A timeout while connecting, sending or waiting for a reply (a communication error).</summary>
    Timeout,
    /// <summary>Well-framed but semantically invalid request: malformed SMFIR_REPLYCODE text, a bad header
    /// name or index, body replacement mixed with other edits (Postfix <c>milter8_conf_error</c>:
    /// "451 4.3.5 Server configuration problem" unless the default action is accept/shutdown/quarantine).</summary>
    Configuration,
}

/// <summary>
/// The milter conversation is broken and the connection has been closed; the host applies
/// <c>milter_default_action</c> and must not use this <see cref="MilterClient"/> for further events.
/// </summary>
public sealed class MilterProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    public MilterProtocolException(string message, MilterFailureKind kind = MilterFailureKind.Communication, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    /// <summary>What kind of failure this was.</summary>
    public MilterFailureKind Kind { get; }
}
