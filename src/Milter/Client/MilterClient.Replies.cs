// MilterClient.Replies: the reply loop after an event, as Postfix milter8.c milter8_event reads it:
// PROGRESS and QUARANTINE are not final (keep reading); CONTINUE/ACCEPT/DISCARD/REJECT/TEMPFAIL/
// REPLYCODE/SHUTDOWN/SKIP end the loop; modification codes only after SMFIC_BODYEOB; anything else, or
// a fixed-format reply with payload, is a communication error. Decisions at CONNECT/HELO are session-wide.
using System.Buffers;
using System.Text;
using Mta.Milter.Protocol;

namespace Mta.Milter;

public sealed partial class MilterClient
{
    private byte _skipEvent;

    /// <summary>Reads replies to <paramref name="evt"/> until a final one. Modifications (EOB only) go to <paramref name="mods"/>.</summary>
    private async ValueTask<MilterResponse> ReadReplyAsync(byte evt, TimeSpan timeout, List<MilterModification>? mods, CancellationToken ct)
    {
        string? quarantine = null;
        ArrayBufferWriter<byte>? body = null;
        bool bodyLockout = false;
        bool connectLevel = evt is MilterCommand.Connect or MilterCommand.Helo;

        while (true)
        {
            var p = await ReadPacketAsync(evt, timeout, ct).ConfigureAwait(false);

            // A body replacement ends at the first packet that is not REPLBODY (Postfix body_edit_lockout).
            if (body is not null && p.Code != MilterReplyCode.ReplBody)
            {
                mods!.Add(new MilterModification.ReplaceBody(body.WrittenMemory.ToArray()));
                body = null;
                bodyLockout = true;
            }

            switch (p.Code)
            {
                case MilterReplyCode.Progress:
                    ExpectEmpty(p, evt);
                    continue;

                case MilterReplyCode.Continue:
                    ExpectEmpty(p, evt);
                    return MilterResponse.Continue.WithQuarantine(quarantine);

                case MilterReplyCode.Accept:
                    ExpectEmpty(p, evt);
                    if (connectLevel)
                    {
                        // libmilter closes after a connection-level decision; so does Postfix.
                        CloseTransport();
                        _state = MilterSessionState.AcceptedConnection;
                    }
                    else
                    {
                        _state = MilterSessionState.AcceptedMessage;
                    }
                    return MilterResponse.Accept.WithQuarantine(quarantine);

                case MilterReplyCode.Discard:
                    ExpectEmpty(p, evt);
                    // Postfix: "DISCARD action is not allowed for connect or helo" -> warning, no effect.
                    if (connectLevel) return MilterResponse.Continue.WithQuarantine(quarantine);
                    _state = MilterSessionState.AcceptedMessage;
                    return MilterResponse.Discard.WithQuarantine(quarantine);

                case MilterReplyCode.Reject:
                    ExpectEmpty(p, evt);
                    return Decide(MilterResponse.Reject.WithQuarantine(quarantine), connectLevel);

                case MilterReplyCode.TempFail:
                    ExpectEmpty(p, evt);
                    return Decide(MilterResponse.TempFail.WithQuarantine(quarantine), connectLevel);

                case MilterReplyCode.Shutdown:
                    ExpectEmpty(p, evt);
                    return Decide(MilterResponse.Shutdown.WithQuarantine(quarantine), connectLevel: true);

                case MilterReplyCode.ReplyCode:
                    if (!MilterReplyText.TryNormalize(p.Payload.Span, out var text))
                        throw Fail($"malformed reply: {Encoding.UTF8.GetString(p.Payload.Span).TrimEnd('\0')}", MilterFailureKind.Configuration);
                    return Decide(MilterResponse.Reply(text).WithQuarantine(quarantine), connectLevel);

                case MilterReplyCode.Quarantine:
                    quarantine = QuarantineReason(p.Payload.Span);
                    continue;

                case MilterReplyCode.Skip when _negotiation!.SkipOffered:
                    ExpectEmpty(p, evt);
                    _skipEvent = evt;
                    return MilterResponse.Skip.WithQuarantine(quarantine);

                default:
                    if (evt == MilterCommand.BodyEnd && mods is not null && TryModification(p, mods, ref body, bodyLockout))
                        continue;
                    throw Fail($"unexpected filter response {MilterReplyCode.Name(p.Code)} after event {MilterCommand.Name(evt)}");
            }
        }
    }

    // Connection-level decisions stick for the rest of the session and end the milter connection.
    private MilterResponse Decide(MilterResponse response, bool connectLevel)
    {
        if (!connectLevel) return response;
        CloseTransport();
        _state = MilterSessionState.RejectedConnection;
        _sticky = response;
        return response;
    }

    private void ExpectEmpty(MilterPacket p, byte evt)
    {
        if (!p.Payload.IsEmpty)
            throw Fail($"reply {MilterReplyCode.Name(p.Code)} after event {MilterCommand.Name(evt)} was followed by {p.Payload.Length} data bytes");
    }

    // Postfix keeps the reason up to its NUL, at most 100 bytes.
    private static string QuarantineReason(ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul >= 0) payload = payload[..nul];
        if (payload.Length > MilterLimits.MaxQuarantineReason) payload = payload[..MilterLimits.MaxQuarantineReason];
        return Encoding.UTF8.GetString(payload);
    }

    private bool TryModification(MilterPacket p, List<MilterModification> mods, ref ArrayBufferWriter<byte>? body, bool bodyLockout)
    {
        var r = new MilterPayloadReader(p.Payload.Span);
        try
        {
            switch (p.Code)
            {
                case MilterReplyCode.ChgHeader:
                {
                    uint index = r.ReadUInt32();
                    string name = r.ReadString(), value = r.ReadString();
                    r.EnsureEnd();
                    if (name.Length == 0) throw Fail("null change header name", MilterFailureKind.Configuration);
                    mods.Add(new MilterModification.ChangeHeader(index, name, value));
                    return true;
                }
                case MilterReplyCode.AddHeader:
                {
                    string name = r.ReadString(), value = r.ReadString();
                    r.EnsureEnd();
                    mods.Add(new MilterModification.AddHeader(name, value));
                    return true;
                }
                case MilterReplyCode.InsHeader:
                {
                    uint index = r.ReadUInt32();
                    string name = r.ReadString(), value = r.ReadString();
                    r.EnsureEnd();
                    mods.Add(new MilterModification.InsertHeader(index, name, value));
                    return true;
                }
                case MilterReplyCode.ChgFrom:
                {
                    string address = r.ReadString();
                    string args = r.Remaining > 0 ? r.ReadString() : "";
                    r.EnsureEnd();
                    mods.Add(new MilterModification.ChangeSender(address, args));
                    return true;
                }
                case MilterReplyCode.AddRcpt:
                {
                    string address = r.ReadString();
                    r.EnsureEnd();
                    mods.Add(new MilterModification.AddRecipient(address));
                    return true;
                }
                case MilterReplyCode.AddRcptPar:
                {
                    string address = r.ReadString();
                    string args = r.Remaining > 0 ? r.ReadString() : "";
                    r.EnsureEnd();
                    mods.Add(new MilterModification.AddRecipientWithArgs(address, args));
                    return true;
                }
                case MilterReplyCode.DelRcpt:
                {
                    string address = r.ReadString();
                    r.EnsureEnd();
                    mods.Add(new MilterModification.DeleteRecipient(address));
                    return true;
                }
                case MilterReplyCode.ReplBody:
                    if (bodyLockout)
                        throw Fail("body replacement requests can't currently be mixed with other requests", MilterFailureKind.Configuration);
                    body ??= new ArrayBufferWriter<byte>(Math.Max(p.Payload.Length, 256));
                    body.Write(p.Payload.Span);
                    return true;
                default:
                    return false;
            }
        }
        catch (MilterProtocolException e) when (_state != MilterSessionState.Error)
        {
            throw Fail($"{MilterReplyCode.Name(p.Code)}: {e.Message}");
        }
    }
}
