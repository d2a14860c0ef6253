using System.Net.Sockets;

namespace SmartHub.Hosting.Orchestration;

/// <summary>Loopback ports for the resources: free ones, and a check that a fixed one is free.</summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> Handed = [];

    /// <summary>A free loopback port, never handed out twice by this process.</summary>
    public static int GetFreePort()
    {
        lock (Handed)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
                var port = ((System.Net.IPEndPoint)socket.LocalEndPoint!).Port;
                if (Handed.Add(port))
                {
                    return port;
                }
            }

            throw new DistributedApplicationException("No free loopback port could be found.");
        }
    }

    public static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
