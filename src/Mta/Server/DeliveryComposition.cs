// DeliveryComposition: builds the delivery dispatcher with one agent per transport (smtp and lmtp share
// the SMTP client agent; local is the Maildir agent; discard and error as in Postfix's transports).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Mta.Configuration;
using Mta.Delivery;
using Mta.Routing;

namespace Mta.Server;

internal static class DeliveryComposition
{
    public static DeliveryDispatcher CreateDispatcher(IServiceProvider sp, IdentityOptions identity, DeliveryOptions delivery)
    {
        var dns = new DnsClientLookup(DnsClientLookup.CreateLookupClient(delivery.DnsResolver));
        var smtp = new SmtpDeliveryAgent(delivery, identity, dns, sp.GetRequiredService<ILogger<SmtpDeliveryAgent>>(), timeProvider: sp.GetRequiredService<TimeProvider>());
        // Idle cached connections get QUIT when the host stops.
        sp.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopped.Register(() => smtp.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5)));
        var agents = new Dictionary<TransportKind, IDeliveryAgent>
        {
            [TransportKind.Smtp] = smtp,
            [TransportKind.Lmtp] = smtp,
            [TransportKind.Local] = new MaildirDeliveryAgent(delivery, identity, sp.GetRequiredService<ILogger<MaildirDeliveryAgent>>(), sp.GetRequiredService<TimeProvider>()),
            [TransportKind.Discard] = new DiscardDeliveryAgent(),
            [TransportKind.Error] = new ErrorDeliveryAgent(),
        };
        return new DeliveryDispatcher(sp.GetRequiredService<Router>(), agents, sp.GetRequiredService<ILogger<DeliveryDispatcher>>(), sp.GetRequiredService<TimeProvider>());
    }
}
