// EnvelopeEditor: applies milter envelope edits — ADDRCPT, ADDRCPT_PAR (NOTIFY, ORCPT honoured, as
// Postfix >= 3.0), DELRCPT (brackets optional, case-insensitive), CHGFROM (RET and ENVID honoured, other
// parameters ignored, as Postfix >= 3.3). Addresses and parameters are parsed with the SMTP command parser,
// so a milter gets exactly the syntax rules a client gets. Reference filter-protocols.md 1.8.
using System.Text;
using Mta.Delivery;
using Mta.Milter;
using Mta.Smtp.Protocol;

namespace Mta.Milters;

/// <summary>Envelope edits from milters.</summary>
public static class EnvelopeEditor
{
    /// <summary>Returns the envelope after <paramref name="edits"/>; unparsable edits are skipped and reported through <paramref name="warn"/>.</summary>
    public static MessageEnvelope Apply(MessageEnvelope envelope, IReadOnlyList<MilterModification> edits, Action<string> warn)
    {
        var recipients = envelope.Recipients.ToList();
        var sender = envelope.Sender;
        var mail = envelope.MailParameters;
        var options = new SmtpParserOptions { SmtpUtf8Enabled = true };
        foreach (var edit in edits)
        {
            switch (edit)
            {
                case MilterModification.AddRecipient a:
                    if (ParseRcpt(a.Address, "", options) is { } r1) recipients.Add(r1); else warn($"ignoring ADDRCPT with bad address <{a.Address}>");
                    break;
                case MilterModification.AddRecipientWithArgs a:
                    if (ParseRcpt(a.Address, a.Arguments, options) is { } r2) recipients.Add(r2); else warn($"ignoring ADDRCPT_PAR <{a.Address}> {a.Arguments}");
                    break;
                case MilterModification.DeleteRecipient d:
                    var target = Strip(d.Address);
                    int removed = recipients.RemoveAll(r => string.Equals(r.Address.Address, target, StringComparison.OrdinalIgnoreCase));
                    if (removed == 0) warn($"DELRCPT <{target}>: no such recipient");
                    break;
                case MilterModification.ChangeSender c:
                    var parsed = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes($"MAIL FROM:<{Strip(c.Address)}> {c.Arguments}".TrimEnd()), options);
                    if (parsed.Command is { Path: { } path, MailParameters: { } p })
                    {
                        sender = path;
                        mail = mail with { Ret = p.Ret != default ? p.Ret : mail.Ret, EnvId = p.EnvId ?? mail.EnvId };
                    }
                    else warn($"ignoring CHGFROM <{c.Address}> {c.Arguments}: {parsed.Error}");
                    break;
            }
        }
        return envelope with { Sender = sender, MailParameters = mail, Recipients = recipients };
    }

    private static EnvelopeRecipient? ParseRcpt(string address, string args, SmtpParserOptions options)
    {
        var parsed = SmtpCommandParser.Parse(Encoding.UTF8.GetBytes($"RCPT TO:<{Strip(address)}> {args}".TrimEnd()), options);
        return parsed.Command is { Path: { } path } cmd ? new EnvelopeRecipient(path, cmd.RecipientParameters ?? Smtp.Envelope.RecipientParameters.Empty) : null;
    }

    private static string Strip(string address)
    {
        var a = address.Trim();
        return a.StartsWith('<') && a.EndsWith('>') ? a[1..^1] : a;
    }
}
