// HostIdentity: computes the pseudo-parameters default_myhostname and default_mydomain that the
// defaults of myhostname and mydomain refer to (postconf(5) myhostname, mydomain).
using System.Net;
using System.Net.Sockets;

namespace Mta.Configuration;

/// <summary>Machine identity used by the computed defaults of myhostname and mydomain.</summary>
public static class HostIdentity
{
    /// <summary>
    /// The machine's fully qualified name: the canonical name System.Net.Dns reports for the host
    /// name, falling back to the host name itself; a trailing dot is removed and <c>.localdomain</c> is
    /// appended when the result has no dot. May block for a DNS lookup; never throws.
    /// </summary>
    public static string DetectFqdn()
    {
        string host;
        try
        {
            host = Dns.GetHostName();
        }
        catch (SocketException)
        {
            host = Environment.MachineName;
        }
        try
        {
            string canonical = Dns.GetHostEntry(host).HostName;
            if (canonical.Contains('.')) host = canonical;
        }
        catch (Exception ex) when (ex is SocketException or ArgumentException)
        {
            // no resolver answer: keep the plain host name
        }
        return QualifyHostName(host);
    }

    /// <summary>Removes a trailing dot and appends <c>.localdomain</c> when <paramref name="host"/> has no dot.</summary>
    public static string QualifyHostName(string host)
    {
        host = host.Trim().TrimEnd('.');
        if (host.Length == 0) host = "localhost";
        return host.Contains('.') ? host : host + ".localdomain";
    }

    /// <summary><paramref name="hostName"/> minus its first label; <c>localdomain</c> when it has only one label.</summary>
    public static string DomainOf(string hostName)
    {
        int dot = hostName.IndexOf('.');
        return dot < 0 || dot == hostName.Length - 1 ? "localdomain" : hostName[(dot + 1)..];
    }
}
