// MilterClient over real sockets: inet loopback, unix socket, refused connection.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Mta.Milter.Protocol;

namespace Mta.Milter.Tests.Client;

public class SocketTests
{
    // A minimal real milter: answers OPTNEG (v6, all actions, given protocol) then 'c' to every event
    // that is not D/A/Q, and records the command bytes it saw.
    private static async Task<List<char>> ServeAsync(Socket s, uint protocol)
    {
        var seen = new List<char>();
        using var stream = new NetworkStream(s, ownsSocket: true);
        var header = new byte[4];
        while (true)
        {
            if (!await ReadExactly(stream, header)) return seen;
            int len = (int)BinaryPrimitives.ReadUInt32BigEndian(header);
            var body = new byte[len];
            if (!await ReadExactly(stream, body)) return seen;
            char code = (char)body[0];
            seen.Add(code);
            byte[] reply = code switch
            {
                'O' => [0, 0, 0, 13, (byte)'O', 0, 0, 0, 6, 0, 0, 1, 0xFF, .. BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(protocol))],
                'D' or 'A' => [],
                'Q' => [],
                _ => [0, 0, 0, 1, (byte)'c'],
            };
            if (reply.Length > 0) await stream.WriteAsync(reply);
            if (code == 'Q') return seen;
        }
    }

    private static async Task<bool> ReadExactly(Stream s, byte[] buf)
    {
        try
        {
            await s.ReadExactlyAsync(buf);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    [Fact]
    public async Task Inet_loopback_session()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () => await ServeAsync(await listener.AcceptSocketAsync(), 0));
        var client = new MilterClient();
        await client.ConnectAsync($"inet:127.0.0.1:{port}");
        Assert.Equal(6u, client.Negotiation.Version);
        Assert.Equal(MilterResponse.Continue, await client.ConnectEventAsync("h", MilterAddressFamily.Inet, 1, "192.0.2.1"));
        Assert.Equal(MilterResponse.Continue, await client.HeloAsync("x"));
        await client.QuitAsync();
        var seen = await server.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("ODCDHQ", new string([.. seen]));
    }

    [Fact]
    public async Task Unix_socket_session()
    {
        string path = Path.Combine(Path.GetTempPath(), $"milter-{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen();
        try
        {
            var server = Task.Run(async () => await ServeAsync(await listener.AcceptAsync(), 0));
            await using var client = new MilterClient();
            await client.ConnectAsync("unix:" + path);
            Assert.Equal(MilterResponse.Continue, await client.ConnectEventAsync("localhost", MilterAddressFamily.Unix, 0, path));
            await client.QuitAsync();
            Assert.Equal("ODCQ", new string([.. await server.WaitAsync(TimeSpan.FromSeconds(10))]));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Refused_connection_is_a_communication_error()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var client = new MilterClient();
        var ex = await Assert.ThrowsAsync<MilterProtocolException>(() => client.ConnectAsync($"inet:127.0.0.1:{port}"));
        Assert.Equal(MilterFailureKind.Communication, ex.Kind);
        Assert.StartsWith($"connect to Milter service inet:127.0.0.1:{port}", ex.Message);
    }

    [Fact]
    public async Task One_client_per_connection()
    {
        var client = new MilterClient();
        await Assert.ThrowsAsync<MilterProtocolException>(() => client.ConnectAsync("unix:/nonexistent/milter.sock"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.ConnectAsync("unix:/nonexistent/milter.sock"));
    }
}
