// SmtpServerSession.Xclient: XFORWARD and XCLIENT from authorized clients (Postfix XFORWARD_README,
// XCLIENT_README). XFORWARD records the original client's facts for the next transaction (a before-queue
// filter re-injecting mail); XCLIENT replaces the client's facts for the rest of the session and restarts it
// with a new 220 greeting. Both only from hosts the handler authorizes; values are xtext (RFC 3461 4).
using System.Net;
using Mta.Smtp.Envelope;
using Mta.Smtp.Protocol;

namespace Mta.Smtp.Server;

public sealed partial class SmtpServerSession
{
    private static readonly string[] XforwardNames = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"];
    private static readonly string[] XclientNames = ["NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "DESTADDR", "DESTPORT"];
    private static readonly SmtpReply NotAuthorized = new(550, "5.7.0", "Error: insufficient authorization");

    /// <summary>EHLO keywords for an authorized client.</summary>
    private IEnumerable<string> XKeywords()
    {
        if (_handler.IsAuthorized(_context, SmtpVerb.Xclient)) yield return "XCLIENT " + string.Join(' ', XclientNames);
        if (_handler.IsAuthorized(_context, SmtpVerb.Xforward)) yield return "XFORWARD " + string.Join(' ', XforwardNames);
    }

    private SmtpReply Xforward(SmtpCommand cmd)
    {
        if (!_handler.IsAuthorized(_context, SmtpVerb.Xforward)) return NotAuthorized;
        if (_context.Transaction != null) return new SmtpReply(503, "5.5.1", "Error: MAIL transaction in progress");
        if (ParseAttributes(cmd.Argument, XforwardNames, "XFORWARD") is not { } attrs) return BadAttributes("XFORWARD");
        foreach (var (k, v) in attrs) _context.Xforward[k] = v;
        return Ok;
    }

    private SmtpReply Xclient(SmtpCommand cmd)
    {
        if (!_handler.IsAuthorized(_context, SmtpVerb.Xclient)) return NotAuthorized;
        if (_context.Transaction != null) return new SmtpReply(503, "5.5.1", "Error: MAIL transaction in progress");
        if (ParseAttributes(cmd.Argument, XclientNames, "XCLIENT") is not { } attrs) return BadAttributes("XCLIENT");
        foreach (var (k, v) in attrs)
        {
            bool unavailable = v.StartsWith('[') && v.EndsWith(']') && !v.Contains(':') && !v.Contains('.');
            switch (k)
            {
                case "ADDR":
                    var a = v.StartsWith("IPV6:", StringComparison.OrdinalIgnoreCase) ? v[5..] : v;
                    if (unavailable) _context.XclientAddress = null;
                    else if (IPAddress.TryParse(a, out var ip)) _context.XclientAddress = ip;
                    else return new SmtpReply(501, "5.5.4", $"Bad XCLIENT ADDR syntax: {v}");
                    break;
                case "NAME":
                    _context.ClientName = unavailable ? "unknown" : v;
                    break;
            }
        }
        // XCLIENT_README: the server answers with a new greeting; the client starts over with EHLO.
        AbortTransaction();
        _context.HeloName = attrs.TryGetValue("HELO", out var helo) ? helo : null;
        _context.IsExtended = false;
        _context.Xforward.Clear();
        _state = SmtpSessionState.Connected;
        return new SmtpReply(220, null, _options.Banner);
    }

    private static SmtpReply BadAttributes(string verb) => new(501, "5.5.4", $"Syntax: {verb} attribute=value...");

    /// <summary>Parses <c>NAME=xtext ...</c>; null when empty, malformed, or an attribute is not allowed.</summary>
    private static Dictionary<string, string>? ParseAttributes(string argument, string[] allowed, string verb)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in argument.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) return null;
            var name = item[..eq].ToUpperInvariant();
            if (!allowed.Contains(name)) return null;
            if (!Xtext.TryDecode(item[(eq + 1)..], out var value)) return null;
            result[name] = value;
        }
        return result.Count == 0 ? null : result;
    }
}
