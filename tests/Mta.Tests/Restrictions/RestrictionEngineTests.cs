// Restriction engine against a scripted policy server: each list at its stage, smtpd_delay_reject on/off,
// DEFER_IF_PERMIT / DEFER_IF_REJECT (Postfix smtpd_check.c), the request attributes per stage, the delegated
// actions (PREPEND order, HOLD, DISCARD, REDIRECT, BCC), the default action when the server fails, spawn:.
using System.Net;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Pipeline;
using Mta.PolicyDelegation;
using Mta.Restrictions;
using Mta.Smtp.Envelope;
using Mta.Smtp.Server;

namespace Mta.Tests.Restrictions;

public sealed class RestrictionEngineTests
{
    private static readonly SmtpPath Sender = new("alice", "sender.test");
    private static readonly SmtpPath Rcpt = new("bob", "mx.test");
    private static readonly SmtpPath Rcpt2 = new("carol", "mx.test");

    private static IReadOnlyList<string> L(string text) => AccessActionParser.SplitList(text);

    private static RestrictionEngine Engine(Action<RestrictionOptions>? configure = null, string recipient = "",
        string relay = "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination")
    {
        var identity = new IdentityOptions { MyDestination = ["mx.test"] };
        var smtpd = new SmtpdOptions
        {
            MyNetworks = ["127.0.0.0/8"],
            RelayRestrictions = L(relay),
            RecipientRestrictions = L(recipient),
            SmtpUtf8Enable = true,
        };
        var options = new RestrictionOptions { PolicyServiceRetryDelay = TimeSpan.FromMilliseconds(10), PolicyServiceTimeout = TimeSpan.FromSeconds(5) };
        configure?.Invoke(options);
        return new RestrictionEngine(smtpd, options, new LocalDomains(identity, smtpd));
    }

    private static SmtpSessionContext Session(string client = "192.0.2.7") =>
        new(new IPEndPoint(IPAddress.Parse(client), 40001), new IPEndPoint(IPAddress.Parse("192.0.2.25"), 25)) { ClientName = "unknown" };

    private static async Task<RestrictionSession> InTransaction(RestrictionEngine engine, SmtpSessionContext s, long? size = null)
    {
        var checks = engine.NewSession();
        Assert.Null(await checks.ConnectAsync(s, default));
        Assert.Null(await checks.HeloAsync(s, "client.example", false, default));
        Assert.Null(await checks.MailAsync(s, Sender, new MailParameters { Size = size }, "QID1", default));
        return checks;
    }

    [Fact]
    public async Task Client_restrictions_run_at_RCPT_with_delay_reject_and_keep_their_wording()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "REJECT go away");
        var engine = Engine(o => o.ClientRestrictions = L($"check_policy_service {server.Service}"));
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Empty(server.Requests); // nothing at CONNECT, HELO, MAIL
        var reply = await checks.RcptAsync(s, Rcpt, default);
        Assert.Equal("554 5.7.1 <unknown[192.0.2.7]>: Client host rejected: go away", reply?.ToString());
        Assert.Equal("RCPT", server.Last["protocol_state"]);
        Assert.Equal("bob@mx.test", server.Last["recipient"]);
    }

    [Fact]
    public async Task Without_delay_reject_each_list_runs_at_its_own_command()
    {
        await using var server = ScriptedPolicyServer.Actions(r => r["protocol_state"] == "MAIL" ? "REJECT no senders" : "DUNNO");
        var engine = Engine(o =>
        {
            o.DelayReject = false;
            o.ClientRestrictions = L($"check_policy_service {server.Service}");
            o.HeloRestrictions = L($"check_policy_service {server.Service}");
            o.SenderRestrictions = L($"check_policy_service {server.Service}");
        });
        var s = Session();
        var checks = engine.NewSession();
        Assert.Null(await checks.ConnectAsync(s, default));
        Assert.Equal("CONNECT", server.Last["protocol_state"]);
        Assert.Equal("", server.Last["instance"]);
        Assert.Null(await checks.HeloAsync(s, "client.example", false, default));
        Assert.Equal("HELO", server.Last["protocol_state"]);
        Assert.Equal("client.example", server.Last["helo_name"]);
        var reply = await checks.MailAsync(s, Sender, MailParameters.Empty, "QID1", default);
        Assert.Equal("554 5.7.1 <alice@sender.test>: Sender address rejected: no senders", reply?.ToString());
        Assert.Equal("alice@sender.test", server.Last["sender"]);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task Client_reject_at_connect_without_delay_reject()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "521 closed for you");
        var engine = Engine(o => { o.DelayReject = false; o.ClientRestrictions = L($"check_policy_service {server.Service}"); });
        var reply = await engine.NewSession().ConnectAsync(Session(), default);
        Assert.Equal(521, reply?.Code);
        Assert.Equal("5.7.1", reply?.EnhancedStatus);
        Assert.Equal("<unknown[192.0.2.7]>: Client host rejected: closed for you", reply?.Text);
    }

    [Fact]
    public async Task Data_and_end_of_data_lists_see_their_state_count_and_size()
    {
        await using var server = ScriptedPolicyServer.Actions(r => r["protocol_state"] == "END-OF-MESSAGE" ? "REJECT too big" : "DUNNO");
        var engine = Engine(o =>
        {
            o.DataRestrictions = L($"check_policy_service {server.Service}");
            o.EndOfDataRestrictions = L($"check_policy_service {server.Service}");
        });
        var s = Session();
        var checks = await InTransaction(engine, s, size: 1234);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Null(await checks.RcptAsync(s, Rcpt2, default));
        Assert.Null(await checks.DataAsync(s, 2, null, default));
        var data = server.Last;
        Assert.Equal("DATA", data["protocol_state"]);
        Assert.Equal("2", data["recipient_count"]);
        Assert.Equal("", data["recipient"]);
        Assert.Equal("1234", data["size"]);
        Assert.Equal("QID1", data["queue_id"]);
        var reply = await checks.EndOfDataAsync(s, 2, null, 5678, default);
        Assert.Equal("554 5.7.1 <END-OF-MESSAGE>: End-of-data rejected: too big", reply?.ToString());
        Assert.Equal("5678", server.Last["size"]);
        Assert.Equal(data["instance"], server.Last["instance"]);
    }

    [Fact]
    public async Task Request_has_the_full_attribute_set_in_order_and_one_instance_per_transaction()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DUNNO");
        var engine = Engine(recipient: $"check_policy_service {server.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s, size: 42);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Null(await checks.RcptAsync(s, Rcpt2, default));
        var first = server.Requests.First();
        Assert.Equal(PolicyRequestEncoder.AttributeNames, first.Select(a => a.Key));
        var r = first.ToDictionary(k => k.Key, k => k.Value);
        Assert.Equal("smtpd_access_policy", r["request"]);
        Assert.Equal("SMTP", r["protocol_name"]);
        Assert.Equal("192.0.2.7", r["client_address"]);
        Assert.Equal("40001", r["client_port"]);
        Assert.Equal("unknown", r["client_name"]);
        Assert.Equal("192.0.2.25", r["server_address"]);
        Assert.Equal("25", r["server_port"]);
        Assert.Equal("client.example", r["helo_name"]);
        Assert.Equal("alice@sender.test", r["sender"]);
        Assert.Equal("bob@mx.test", r["recipient"]);
        Assert.Equal("0", r["recipient_count"]);
        Assert.Equal("", r["queue_id"]); // Postfix opens its queue file after the first accepted recipient
        Assert.Equal("42", r["size"]);
        Assert.Equal("", r["etrn_domain"]);
        Assert.Equal("0", r["encryption_keysize"]);
        Assert.Matches("^[0-9a-f]+\\.[0-9a-f]+\\.[0-9a-f]+\\.[0-9a-f]+$", r["instance"]);
        Assert.Equal("QID1", server.Last["queue_id"]);
        Assert.Equal(r["instance"], server.Last["instance"]);

        Assert.Null(await checks.MailAsync(s, Sender, MailParameters.Empty, "QID2", default));
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.NotEqual(r["instance"], server.Last["instance"]);
    }

    [Fact]
    public async Task Defer_if_permit_turns_a_later_permit_into_450()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DEFER_IF_PERMIT 4.2.0 Greylisted, see http://x/");
        var engine = Engine(recipient: $"check_policy_service {server.Service}, permit");
        var s = Session();
        var checks = await InTransaction(engine, s);
        var reply = await checks.RcptAsync(s, Rcpt, default);
        Assert.Equal("450 4.2.0 <bob@mx.test>: Recipient address rejected: Greylisted, see http://x/", reply?.ToString());
    }

    [Fact]
    public async Task Defer_if_permit_gives_way_to_a_later_reject()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DEFER_IF_PERMIT maybe");
        var engine = Engine(recipient: $"check_policy_service {server.Service}, reject");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal(554, (await checks.RcptAsync(s, Rcpt, default))?.Code);
    }

    [Fact]
    public async Task Defer_if_permit_from_client_list_applies_at_RCPT_even_when_recipient_list_permits()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DEFER_IF_PERMIT later");
        var engine = Engine(o => o.ClientRestrictions = L($"check_policy_service {server.Service}"), recipient: "permit");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal("450 4.7.1 <unknown[192.0.2.7]>: Client host rejected: later", (await checks.RcptAsync(s, Rcpt, default))?.ToString());
    }

    [Fact]
    public async Task Defer_if_reject_turns_a_later_5xx_into_its_450_and_is_harmless_otherwise()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DEFER_IF_REJECT dns trouble");
        var engine = Engine(recipient: $"check_policy_service {server.Service}, reject");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal("450 4.7.1 <bob@mx.test>: Recipient address rejected: dns trouble", (await checks.RcptAsync(s, Rcpt, default))?.ToString());

        var lenient = Engine(recipient: $"check_policy_service {server.Service}, permit");
        var s2 = Session();
        var c2 = await InTransaction(lenient, s2);
        Assert.Null(await c2.RcptAsync(s2, Rcpt, default));
    }

    [Fact]
    public async Task Defer_if_permit_is_forgotten_at_DATA()
    {
        await using var server = ScriptedPolicyServer.Actions(r => r["recipient"] == "carol@mx.test" ? "DEFER_IF_PERMIT no" : "DUNNO");
        var engine = Engine(recipient: $"check_policy_service {server.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Equal(450, (await checks.RcptAsync(s, Rcpt2, default))?.Code);
        Assert.Null(await checks.DataAsync(s, 1, Rcpt, default));
    }

    [Fact]
    public async Task Prepend_headers_keep_their_order_and_go_above_Received()
    {
        await using var a = ScriptedPolicyServer.Actions(_ => "PREPEND X-First: 1");
        await using var b = ScriptedPolicyServer.Actions(_ => "prepend X-Second: 2");
        var engine = Engine(recipient: $"check_policy_service {a.Service}, check_policy_service {b.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Equal(["X-First: 1", "X-Second: 2"], checks.Effects.Prepend);
        var prefix = RestrictionEffects.Prefix(checks.Effects, "Received: from x\r\n"u8);
        Assert.Equal("X-First: 1\r\nX-Second: 2\r\nReceived: from x\r\n", System.Text.Encoding.UTF8.GetString(prefix));
    }

    [Fact]
    public void Prepended_headers_are_shown_to_milters_and_our_Received_stays_hidden()
    {
        var effects = new TransactionEffects();
        effects.Prepend.Add("X-First: 1");
        effects.Prepend.Add("X-Second: 2");
        using var spool = new Mta.Smtp.Content.MessageSpool(1 << 16, Path.GetTempPath());
        spool.Write("Subject: hi\r\n\r\nbody\r\n"u8);
        spool.Flush();
        var content = new Mta.Smtp.Content.MessageContent(RestrictionEffects.Prefix(effects, "Received: from x\r\n"u8), spool);
        var block = RestrictionEffects.ShowPrependedToMilters(Mta.Milters.HeaderBlock.Read(content), effects);
        Assert.Equal(["X-First", "X-Second", "Received", "Subject"], block.Headers.Select(h => h.Name));
        Assert.Equal([false, false, true, false], block.Headers.Select(h => h.HiddenFromMilters));
        Assert.Equal("X-First: 1\r\nX-Second: 2\r\nReceived: from x\r\nSubject: hi\r\n\r\n", System.Text.Encoding.UTF8.GetString(block.Write(block.Headers)));
    }

    [Fact]
    public async Task Prepend_at_end_of_data_is_ignored_as_in_Postfix()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "PREPEND X-Late: 1");
        var engine = Engine(o => o.EndOfDataRestrictions = L($"check_policy_service {server.Service}"));
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Null(await checks.EndOfDataAsync(s, 1, Rcpt, 10, default));
        Assert.Empty(checks.Effects.Prepend);
    }

    [Fact]
    public async Task Hold_discard_redirect_and_bcc_are_recorded_and_applied()
    {
        var actions = new Queue<string>(["HOLD", "REDIRECT boss@mx.test", "BCC audit@mx.test", "BCC archive@mx.test", "DISCARD"]);
        await using var server = ScriptedPolicyServer.Actions(_ => actions.Dequeue());
        var engine = Engine(recipient: $"check_policy_service {server.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        for (int i = 0; i < 4; i++) Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        var e = checks.Effects;
        Assert.Equal("<bob@mx.test>: Recipient address triggers HOLD action", e.Hold);
        Assert.Equal("boss@mx.test", e.Redirect);
        Assert.Equal(["audit@mx.test", "archive@mx.test"], e.Bcc);
        Assert.Null(e.Discard);
        var env = new MessageEnvelope { QueueId = "Q", Sender = Sender, Recipients = [new EnvelopeRecipient(Rcpt), new EnvelopeRecipient(Rcpt2)] };
        var applied = RestrictionEffects.ApplyRecipients(env, e);
        Assert.Equal(["boss@mx.test", "audit@mx.test", "archive@mx.test"], applied.Recipients.Select(r => r.Address.Address));
        Assert.Null(await checks.RcptAsync(s, Rcpt2, default)); // DISCARD permits
        Assert.Equal("<carol@mx.test>: Recipient address triggers DISCARD action", checks.Effects.Discard);

        checks.ResetTransaction();
        Assert.Null(checks.Effects.Hold);
        Assert.Empty(checks.Effects.Bcc);
    }

    [Fact]
    public async Task Discard_ends_the_list_with_a_permit()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "DISCARD spam");
        var engine = Engine(recipient: $"check_policy_service {server.Service}, reject");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Equal("<bob@mx.test>: Recipient address spam", checks.Effects.Discard);
    }

    [Fact]
    public async Task Filter_warn_and_info_continue_the_list()
    {
        var actions = new Queue<string>(["FILTER smtp:[127.0.0.1]:10025", "WARN look", "INFO fyi"]);
        await using var server = ScriptedPolicyServer.Actions(_ => actions.Dequeue());
        var engine = Engine(recipient: $"check_policy_service {server.Service}, check_policy_service {server.Service}, check_policy_service {server.Service}, reject");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal(554, (await checks.RcptAsync(s, Rcpt, default))?.Code);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task A_policy_reply_naming_restrictions_is_evaluated_in_place()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "reject_unauth_destination");
        var engine = Engine(recipient: $"check_policy_service {server.Service}", relay: "permit_mynetworks");
        var s = Session("127.0.0.1");
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, Rcpt, default));
        Assert.Equal("554 5.7.1 <x@far.test>: Relay access denied", (await checks.RcptAsync(s, new SmtpPath("x", "far.test"), default))?.ToString());
    }

    [Fact]
    public async Task A_reply_naming_an_unknown_restriction_is_a_server_error()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "nonsense_here");
        var engine = Engine(recipient: $"check_policy_service {server.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal("451 4.3.5 Server configuration error", (await checks.RcptAsync(s, Rcpt, default))?.ToString());
    }

    [Theory]
    [InlineData("crlf")]
    [InlineData("junk")]
    [InlineData("close")]
    [InlineData("hang")]
    [InlineData("down")]
    public async Task A_failing_server_gives_the_default_action(string failure)
    {
        await using var server = new ScriptedPolicyServer(_ => failure switch
        {
            "crlf" => "action=REJECT x\r\n\r\n",
            "junk" => "this is not a policy reply\n\n",
            _ => null,
        });
        string service = failure == "down" ? $"inet:127.0.0.1:{FreePort()}" : server.Service;
        var engine = Engine(o => { o.PolicyServiceTimeout = TimeSpan.FromSeconds(1); o.PolicyServiceTryLimit = 2; },
            recipient: $"check_policy_service {service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        var reply = await checks.RcptAsync(s, Rcpt, default);
        Assert.Equal("451 4.3.5 <bob@mx.test>: Recipient address rejected: Server configuration problem", reply?.ToString());

        var lenient = Engine(o => { o.PolicyServiceTimeout = TimeSpan.FromSeconds(1); o.PolicyServiceDefaultAction = "DUNNO"; },
            recipient: $"check_policy_service {service}");
        var s2 = Session();
        var c2 = await InTransaction(lenient, s2);
        Assert.Null(await c2.RcptAsync(s2, Rcpt, default));
    }

    [Fact]
    public async Task Per_service_overrides_apply_to_that_service_only()
    {
        int port = FreePort();
        var engine = Engine(recipient: $"check_policy_service {{ inet:127.0.0.1:{port}, default_action=DUNNO, try_limit=1 }}, check_policy_service inet:127.0.0.1:{port}");
        Assert.Equal("DUNNO", engine.Recipient[0].Client!.Settings.DefaultAction);
        Assert.Equal(1, engine.Recipient[0].Client!.Settings.TryLimit);
        Assert.Equal("451 4.3.5 Server configuration problem", engine.Recipient[1].Client!.Settings.DefaultAction);
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal(451, (await checks.RcptAsync(s, Rcpt, default))?.Code);
    }

    [Fact]
    public void One_client_per_distinct_service_text()
    {
        var engine = Engine(o => o.ClientRestrictions = L("check_policy_service inet:127.0.0.1:9"), recipient: "check_policy_service inet:127.0.0.1:9, check_policy_service inet:127.0.0.1:10");
        Assert.Same(engine.Client[0].Client, engine.Recipient[0].Client);
        Assert.NotSame(engine.Recipient[0].Client, engine.Recipient[1].Client);
        Assert.Equal(2, engine.Services.Count);
    }

    [Fact]
    public void Spawn_endpoint_takes_arguments_inside_braces()
    {
        var spec = PolicyServiceRegistry.ParseService("{ spawn:/usr/sbin/ip netns exec t1 /usr/bin/policyd-spf, timeout=10s }");
        Assert.Equal(PolicyEndpointKind.Spawn, spec.Endpoint.Kind);
        Assert.Equal("/usr/sbin/ip", spec.Endpoint.Address);
        Assert.Equal(["netns", "exec", "t1", "/usr/bin/policyd-spf"], spec.Endpoint.Arguments);
        Assert.Equal(TimeSpan.FromSeconds(10), spec.Settings.Timeout);
        Assert.Empty(PolicyServiceRegistry.ParseService("spawn:/usr/bin/policyd-spf").Endpoint.Arguments);
    }

    [Fact]
    public async Task Spawned_program_answers_on_stdout()
    {
        var dir = Directory.CreateTempSubdirectory("mta-spawn-");
        try
        {
            var script = Path.Combine(dir.FullName, "policy.sh");
            File.WriteAllText(script, "#!/bin/sh\nwhile read -r line; do if [ -z \"$line\" ]; then printf 'action=REJECT spawned %s\\n\\n' \"$1\"; fi; done\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var engine = Engine(recipient: $"check_policy_service {{ spawn:{script} arg1, timeout=5s }}");
            var s = Session();
            var checks = await InTransaction(engine, s);
            Assert.Equal("554 5.7.1 <bob@mx.test>: Recipient address rejected: spawned arg1", (await checks.RcptAsync(s, Rcpt, default))?.ToString());
            await engine.Services.DisposeAsync();
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public async Task Reply_421_is_passed_on_so_the_session_closes()
    {
        await using var server = ScriptedPolicyServer.Actions(_ => "421 bye");
        var engine = Engine(recipient: $"check_policy_service {server.Service}");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Equal("421 4.7.1 <bob@mx.test>: Recipient address rejected: bye", (await checks.RcptAsync(s, Rcpt, default))?.ToString());
    }

    [Fact]
    public void Unknown_restriction_and_missing_service_are_start_errors()
    {
        Assert.Contains("reject_bogus", Assert.Throws<FormatException>(() => Engine(o => o.SenderRestrictions = L("reject_bogus"))).Message);
        Assert.Contains("smtpd_data_restrictions", Assert.Throws<FormatException>(() => Engine(o => o.DataRestrictions = L("check_policy_service"))).Message);
        Assert.Contains("check_policy_service", Assert.Throws<FormatException>(() => Engine(recipient: "check_policy_service tcp:x:1")).Message);
    }

    [Fact]
    public async Task Bare_postmaster_is_always_accepted()
    {
        var engine = Engine(recipient: "reject");
        var s = Session();
        var checks = await InTransaction(engine, s);
        Assert.Null(await checks.RcptAsync(s, new SmtpPath("Postmaster", ""), default));
    }

    private static int FreePort()
    {
        var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
