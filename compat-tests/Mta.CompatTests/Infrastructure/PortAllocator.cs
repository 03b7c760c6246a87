// PortAllocator: owns the choice of free TCP ports on 127.0.0.1 for every peer a test starts.
// A port is found by binding 127.0.0.1:0 and reading what the kernel chose; a port handed out once
// is never handed out again in the same test run, so two peers of one test never collide even if
// the first has not bound its port yet. Nothing here ever binds a non-loopback address.
using System.Net;
using System.Net.Sockets;

namespace Mta.CompatTests.Infrastructure;

/// <summary>Hands out free TCP ports on the loopback address 127.0.0.1.</summary>
public static class PortAllocator
{
    private static readonly HashSet<int> Issued = [];
    private static readonly Lock Gate = new();

    /// <summary>Returns a port on 127.0.0.1 that was free a moment ago and was not issued before in this run.</summary>
    public static int Next()
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Issued.Add(port))
                {
                    return port;
                }
            }
            throw new InvalidOperationException("PortAllocator: no fresh loopback port after 50 attempts");
        }
    }
}
