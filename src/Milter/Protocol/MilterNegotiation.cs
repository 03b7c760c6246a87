// MilterNegotiation: what the MTA offers in SMFIC_OPTNEG and what the milter's reply means.
// Follows Postfix milter8.c milter8_connect: offered version = milter_protocol (2, 3, 4 or 6; there is
// no 5), actions 0x1FF, protocol mask per version (0x7F, 0x17F, 0x37F, 0x1FFFFF) plus NOHREPL for
// "no_header_reply"; reply checks (version > offered, actions not a subset), protocol bits taken as
// given, downgrade for older milters, per-stage macro lists after the 12 fixed bytes. Reference 1.4.
namespace Mta.Milter.Protocol;

/// <summary>The result of option negotiation with one milter.</summary>
public sealed class MilterNegotiation
{
    /// <summary>Protocol mask Postfix offers for version 2.</summary>
    public const MilterProtocolFlags V2Mask = MilterProtocolFlags.NoConnect | MilterProtocolFlags.NoHelo | MilterProtocolFlags.NoMail
        | MilterProtocolFlags.NoRcpt | MilterProtocolFlags.NoBody | MilterProtocolFlags.NoHeaders | MilterProtocolFlags.NoEndOfHeaders;
    /// <summary>Protocol mask for version 3 (adds UNKNOWN).</summary>
    public const MilterProtocolFlags V3Mask = V2Mask | MilterProtocolFlags.NoUnknown;
    /// <summary>Protocol mask for version 4 (adds DATA).</summary>
    public const MilterProtocolFlags V4Mask = V3Mask | MilterProtocolFlags.NoData;
    /// <summary>Protocol mask for version 6 (adds SKIP, RCPT_REJ, all NR_* and HDR_LEADSPC) = 0x1FFFFF.</summary>
    public const MilterProtocolFlags V6Mask = V4Mask | MilterProtocolFlags.Skip | MilterProtocolFlags.RcptRejected
        | MilterProtocolFlags.NoReplyMask | MilterProtocolFlags.HeaderLeadingSpace;

    /// <summary>Actions the MTA offers (always 0x1FF, as Postfix).</summary>
    public const MilterActions OfferedActions = MilterActions.All;

    private MilterNegotiation(uint offeredVersion, MilterProtocolFlags offeredProtocol, uint version, MilterActions actions,
        MilterProtocolFlags protocol, MilterProtocolFlags nonProtocolEvents, IReadOnlyDictionary<MilterMacroStage, string> macroLists)
    {
        OfferedVersion = offeredVersion;
        OfferedProtocol = offeredProtocol;
        Version = version;
        Actions = actions;
        Protocol = protocol;
        NonProtocolEvents = nonProtocolEvents;
        MacroLists = macroLists;
    }

    /// <summary>The version the MTA offered.</summary>
    public uint OfferedVersion { get; }
    /// <summary>The protocol mask the MTA offered.</summary>
    public MilterProtocolFlags OfferedProtocol { get; }
    /// <summary>The version the milter answered (&lt;= offered).</summary>
    public uint Version { get; }
    /// <summary>The actions the milter requested (a subset of 0x1FF).</summary>
    public MilterActions Actions { get; }
    /// <summary>The protocol flags the milter answered, taken as given (rspamd: 0x0FF080 regardless of the offer).</summary>
    public MilterProtocolFlags Protocol { get; }
    /// <summary>"Do not send" flags for events that do not exist in the offered or the milter's version
    /// (Postfix <c>np_mask</c>): such events are not sent at all, not even their macros.</summary>
    public MilterProtocolFlags NonProtocolEvents { get; }
    /// <summary>Macro lists the milter asked for, per stage (space-separated names as sent). Stages the milter did
    /// not name, or named with an empty list, fall back to the MTA's lists (Postfix MILTER_MACRO_EVAL).</summary>
    public IReadOnlyDictionary<MilterMacroStage, string> MacroLists { get; }

    /// <summary>True when the MTA offered SMFIP_SKIP (version 6), so an <c>s</c> reply is legal.</summary>
    public bool SkipOffered => (OfferedProtocol & MilterProtocolFlags.Skip) != 0;

    /// <summary>True when header values are passed and accepted without the MTA's space (HDR_LEADSPC).</summary>
    public bool HeaderLeadingSpace => (Protocol & MilterProtocolFlags.HeaderLeadingSpace) != 0;

    /// <summary>True when the milter wants rejected recipients too (SMFIP_RCPT_REJ).</summary>
    public bool WantsRejectedRecipients => (Protocol & MilterProtocolFlags.RcptRejected) != 0;

    /// <summary>The protocol mask Postfix offers for <paramref name="version"/>.</summary>
    /// <param name="version">2, 3, 4 or 6.</param>
    /// <param name="noHeaderReply">Postfix <c>milter_protocol</c> extension <c>no_header_reply</c>: also offer NOHREPL.</param>
    /// <exception cref="ArgumentOutOfRangeException">Any other version (Postfix rejects "5" too).</exception>
    public static MilterProtocolFlags OfferedMask(int version, bool noHeaderReply = false) => version switch
    {
        2 => V2Mask,
        3 => V3Mask,
        4 => V4Mask,
        6 => V6Mask,
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "milter protocol version must be 2, 3, 4 or 6"),
    } | (noHeaderReply ? MilterProtocolFlags.NoReplyHeader : 0);

    /// <summary>Parses the milter's <c>O</c> reply payload and checks it against the offer.</summary>
    /// <param name="payload">12 fixed bytes (version, actions, protocol) then optional {u32 stage, names\0} pairs.</param>
    /// <param name="offeredVersion">The version sent.</param>
    /// <param name="offeredProtocol">The protocol mask sent.</param>
    /// <exception cref="MilterProtocolException">Too short; a truncated macro list; version above the offer;
    /// requested actions outside 0x1FF ("request mask conflict").</exception>
    public static MilterNegotiation Parse(ReadOnlySpan<byte> payload, uint offeredVersion, MilterProtocolFlags offeredProtocol)
    {
        var r = new MilterPayloadReader(payload);
        uint version = r.ReadUInt32();
        uint actions = r.ReadUInt32();
        uint protocol = r.ReadUInt32();
        if (version > offeredVersion)
            throw new MilterProtocolException($"protocol version {version} conflict with MTA protocol version {offeredVersion}");
        if ((actions & (uint)OfferedActions) != actions)
            throw new MilterProtocolException($"request mask 0x{actions:x} conflict with MTA request mask 0x{(uint)OfferedActions:x}");

        var np = MilterProtocolFlags.NoSendMask & ~offeredProtocol;
        if (version < offeredVersion)
        {
            // Use the mask of the highest known version not above the milter's; none for version < 2 (Postfix warns).
            foreach (int v in (ReadOnlySpan<int>)[6, 4, 3, 2])
            {
                if (v <= version)
                {
                    np |= MilterProtocolFlags.NoSendMask & ~OfferedMask(v);
                    break;
                }
            }
        }

        var lists = new Dictionary<MilterMacroStage, string>();
        while (r.Remaining > 0)
        {
            uint stage = r.ReadUInt32();
            string names = r.ReadString();
            if (stage <= (uint)MilterMacroStage.EndOfHeaders) lists[(MilterMacroStage)stage] = names;
            // Unknown stage numbers are ignored, as Postfix does.
        }

        return new MilterNegotiation(offeredVersion, offeredProtocol, version, (MilterActions)actions,
            (MilterProtocolFlags)protocol, np, lists);
    }
}
