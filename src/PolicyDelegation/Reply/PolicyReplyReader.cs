// PolicyReplyReader: incremental parser for one policy server reply ("action=..." lines, empty line).
// Follows Postfix util/attr_scan_plain.c as called by smtpd_check.c check_policy_service
// (ATTR_FLAG_MISSING, one wanted attribute "action"): LF-only framing, first "action" wins, other
// attributes are skipped, the reply ends at the first empty line after "action".
using System.Text;

namespace Mta.PolicyDelegation;

/// <summary>State of a <see cref="PolicyReplyReader"/> after a call to <see cref="PolicyReplyReader.Feed"/>.</summary>
public enum PolicyReplyStatus
{
    /// <summary>The reply is not complete; feed more bytes.</summary>
    NeedMoreData,
    /// <summary>A reply with an <c>action</c> attribute ended with an empty line; see <see cref="PolicyReplyReader.Action"/>.</summary>
    Complete,
    /// <summary>The reply is unusable (no action, action without '=', size limit, end of input); see <see cref="PolicyReplyReader.Failure"/>.</summary>
    Failed,
}

/// <summary>
/// Parses one policy reply fed as bytes in any chunking (one byte at a time works).
/// <para>Framing is exactly Postfix's: lines end at LF only. A CR is ordinary data, so <c>action=DUNNO\r\n\r\n</c>
/// never ends the reply (the line <c>\r</c> is not empty) and the caller's timeout applies, as with Postfix.</para>
/// <para>Attributes before <c>action</c> are skipped, whatever they look like; a line whose name is
/// <c>action</c> but has no '=' fails the reply; after the first <c>action</c> every line up to the empty line
/// is skipped (a second <c>action</c> is ignored). An empty line before any <c>action</c> fails the reply
/// ("missing attribute action"), which the client counts as a failed attempt.</para>
/// <para>Size guard (not in Postfix, whose limit is compiled out): more than <see cref="MaxReplyBytes"/> bytes
/// without completing fails the reply.</para>
/// </summary>
public sealed class PolicyReplyReader
{
    /// <summary>Default for <see cref="MaxReplyBytes"/>: 65536 bytes.</summary>
    public const int DefaultMaxReplyBytes = 65536;

    private static readonly byte[] ActionName = "action"u8.ToArray();

    private readonly List<byte> _line = new(128);
    private byte[]? _action;
    private int _total;
    private bool _lineHasEquals;
    private int _equalsIndex;

    /// <summary>Creates a reader.</summary>
    /// <param name="maxReplyBytes">Largest accepted reply in bytes, including line ends; at least 2.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxReplyBytes"/> is below 2.</exception>
    public PolicyReplyReader(int maxReplyBytes = DefaultMaxReplyBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReplyBytes, 2);
        MaxReplyBytes = maxReplyBytes;
    }

    /// <summary>Largest reply accepted, in bytes.</summary>
    public int MaxReplyBytes { get; }

    /// <summary>Current status.</summary>
    public PolicyReplyStatus Status { get; private set; }

    /// <summary>The <c>action</c> value decoded as UTF-8 (invalid sequences become U+FFFD) once <see cref="Status"/> is Complete.</summary>
    public string? Action { get; private set; }

    /// <summary>
    /// False when the raw action bytes are not valid UTF-8. Postfix (with smtputf8_enable=yes, its default)
    /// then uses the default action without retrying.
    /// </summary>
    public bool ActionIsValidUtf8 { get; private set; } = true;

    /// <summary>Why the reply failed, in Postfix's log wording, once <see cref="Status"/> is Failed.</summary>
    public string? Failure { get; private set; }

    /// <summary>Starts over for the next reply.</summary>
    public void Reset()
    {
        _line.Clear();
        _action = null;
        _total = 0;
        _lineHasEquals = false;
        Status = PolicyReplyStatus.NeedMoreData;
        Action = null;
        ActionIsValidUtf8 = true;
        Failure = null;
    }

    /// <summary>
    /// Consumes bytes until the reply completes or fails. Bytes after the terminating empty line are not
    /// consumed: <paramref name="consumed"/> tells how many were used.
    /// </summary>
    /// <returns>The new <see cref="Status"/>. Feeding after Complete or Failed consumes nothing.</returns>
    public PolicyReplyStatus Feed(ReadOnlySpan<byte> data, out int consumed)
    {
        consumed = 0;
        if (Status != PolicyReplyStatus.NeedMoreData) return Status;
        for (int i = 0; i < data.Length; i++)
        {
            byte b = data[i];
            consumed = i + 1;
            if (++_total > MaxReplyBytes)
                return Fail($"policy reply exceeds {MaxReplyBytes} bytes");
            if (b != (byte)'\n')
            {
                if (b == (byte)'=' && !_lineHasEquals)
                {
                    _lineHasEquals = true;
                    _equalsIndex = _line.Count;
                }
                _line.Add(b);
                continue;
            }
            var status = EndOfLine();
            _line.Clear();
            _lineHasEquals = false;
            if (status != PolicyReplyStatus.NeedMoreData) return status;
        }
        return Status;
    }

    /// <summary>Signals end of input (EOF) from the server: fails the reply unless it already completed.</summary>
    public PolicyReplyStatus EndOfInput()
    {
        if (Status == PolicyReplyStatus.NeedMoreData)
            Fail("premature end-of-input while reading " + (_action is null ? "input attribute name" : "policy reply"));
        return Status;
    }

    private PolicyReplyStatus EndOfLine()
    {
        if (_line.Count == 0)
        {
            if (_action is null) return Fail("missing attribute action in input");
            Status = PolicyReplyStatus.Complete;
            var bytes = _action;
            try
            {
                Action = new UTF8Encoding(false, true).GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                ActionIsValidUtf8 = false;
                Action = Encoding.UTF8.GetString(bytes);
            }
            return Status;
        }
        if (_action is not null) return PolicyReplyStatus.NeedMoreData; // skip up to the empty line
        int nameLength = _lineHasEquals ? _equalsIndex : _line.Count;
        if (nameLength == ActionName.Length && NameIsAction())
        {
            if (!_lineHasEquals) return Fail("missing value for string attribute action");
            _action = _line.GetRange(_equalsIndex + 1, _line.Count - _equalsIndex - 1).ToArray();
        }
        return PolicyReplyStatus.NeedMoreData;
    }

    private bool NameIsAction()
    {
        for (int i = 0; i < ActionName.Length; i++)
            if (_line[i] != ActionName[i]) return false;
        return true;
    }

    private PolicyReplyStatus Fail(string reason)
    {
        Status = PolicyReplyStatus.Failed;
        Failure = reason;
        return Status;
    }
}
