// NetworkList: a list of CIDR networks (mynetworks syntax: 127.0.0.0/8, [::1]/128, bare addresses).
// Postfix postconf(5) mynetworks.
using System.Net;

namespace Mta.Server;

/// <summary>Matches client addresses against networks. IPv4-mapped IPv6 addresses match their IPv4 form.</summary>
public sealed class NetworkList
{
    private readonly IPNetwork[] _networks;

    private NetworkList(IPNetwork[] networks) => _networks = networks;

    /// <summary>Parses entries such as <c>127.0.0.0/8</c>, <c>[::1]/128</c>, <c>10.1.2.3</c>.</summary>
    /// <exception cref="FormatException">an entry is not a network or address.</exception>
    public static NetworkList Parse(IEnumerable<string> entries)
    {
        var list = new List<IPNetwork>();
        foreach (var raw in entries)
        {
            var e = raw.Trim();
            if (e.Length == 0) continue;
            string addr = e, prefix = "";
            int slash = e.LastIndexOf('/');
            if (slash >= 0) { addr = e[..slash]; prefix = e[slash..]; }
            addr = addr.Trim('[', ']');
            if (!IPAddress.TryParse(addr, out var ip)) throw new FormatException($"mynetworks: \"{raw}\" is not a network address");
            if (prefix.Length == 0) prefix = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "/32" : "/128";
            if (!IPNetwork.TryParse(addr + prefix, out var net)) throw new FormatException($"mynetworks: \"{raw}\" is not a valid network (host bits set?)");
            list.Add(net);
        }
        return new NetworkList([.. list]);
    }

    /// <summary>True when <paramref name="address"/> lies in one of the networks.</summary>
    public bool Contains(IPAddress? address)
    {
        if (address is null) return false;
        var mapped = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var n in _networks)
            if (n.Contains(mapped) || n.Contains(address)) return true;
        return false;
    }
}
