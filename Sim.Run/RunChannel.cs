// The shared memory area of one connection (tools/dmabufsim-run/dmabufsim_run_proto.h): the program's packets
// arrive in region 0 and the host's go out in region 1, so a call costs no socket call while both sides are awake.
// Each side spins on the other's sequence word for a short while and then sleeps in a read of the socket, which
// the writer wakes with one byte when it sees the reader asleep; the socket's end is the end of the session.
using System.Net.Sockets;
using Stopwatch = System.Diagnostics.Stopwatch;

namespace Sim.Run;

/// <summary>The host's side of a connection's shared area (the program's memfd, mapped through /proc).</summary>
internal sealed unsafe class RunChannel : IDisposable
{
    /// <summary><c>RUN_CHAN_REGION</c>: bytes of one region.</summary>
    public const int Region = (int)RunRequest.MaxPayload + 8192;

    /// <summary><c>RUN_CHAN_DATA</c>: offset of the packet in a region.</summary>
    public const int Data = 128;

    /// <summary><c>RUN_CHAN_CAP</c>: the largest packet.</summary>
    public const int Capacity = Region - Data;

    private const int SeqOffset = 0;
    private const int LenOffset = 4;
    private const int SleepingOffset = 64;

    // How long the host spins on the program's next packet before it sleeps, adapting as the program's side does
    // (CHAN_SPIN_MAX_NS, CHAN_SPIN_MIN_NS): longer after a spin that ended the wait, half after one that slept.
    private static readonly long s_spinMax = Stopwatch.Frequency / 20_000;
    private static readonly long s_spinMin = Stopwatch.Frequency / 1_000_000;
    private long _spin = s_spinMax;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly byte* _map;
    private uint _seqIn;
    private uint _seqOut;
    private byte[] _in = new byte[4096];
    private bool _disposed;

    private RunChannel(Socket socket, int fd, byte* map)
    {
        _socket = socket;
        _fd = fd;
        _map = map;
    }

    /// <summary>
    /// Maps the area that <c>RUN_ATTACH</c> names (descriptor <paramref name="fd"/> of real process
    /// <paramref name="pid"/>, regions of <paramref name="region"/> bytes): null with a reason when it is not the
    /// preload's sealed memfd of the expected size.
    /// </summary>
    public static RunChannel? Open(Socket socket, int pid, long fd, long region, out string error)
    {
        if (region != Region)
        {
            error = $"a channel of {region}-byte regions (expected {Region})";
            return null;
        }
        if (pid <= 0 || fd < 0 || fd > int.MaxValue)
        {
            error = $"channel descriptor {fd} of pid {pid}";
            return null;
        }
        string path = $"/proc/{pid}/fd/{fd}";
        string? target;
        try
        {
            target = new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            target = null;
        }
        if (target is null || !target.StartsWith("/memfd:dmabufsim-chan", StringComparison.Ordinal))
        {
            error = $"channel descriptor {fd} is {target ?? "not open"}";
            return null;
        }
        int h = LibC.Open(path, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_NOCTTY | LibC.O_NONBLOCK);
        if (h < 0)
        {
            error = $"channel descriptor {fd}: open errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}";
            return null;
        }
        // Sealed against shrinking (a shrunk area would fault in the host) and exactly two regions long.
        long size = LibC.Lseek(h, 0, LibC.SEEK_END);
        int seals = LibC.Fcntl(h, LibC.F_GET_SEALS);
        if (size != 2L * Region || seals < 0 || (seals & LibC.F_SEAL_SHRINK) == 0)
        {
            LibC.Close(h);
            error = $"channel of {size} bytes, seals {seals}";
            return null;
        }
        nint m = LibC.Mmap(0, 2 * Region, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED, h, 0);
        if (m == -1)
        {
            LibC.Close(h);
            error = "channel mmap failed";
            return null;
        }
        error = "";
        return new RunChannel(socket, h, (byte*)m);
    }

    /// <summary>
    /// Waits for the program's next packet and copies it out of the shared area (the program may change the area
    /// at any time: nothing is read there twice). False when the program's side is gone.
    /// </summary>
    public bool Receive(out ReadOnlySpan<byte> packet)
    {
        packet = default;
        if (!Wait())
        {
            return false;
        }
        uint len = Volatile.Read(ref *(uint*)(_map + LenOffset));
        if (len > Capacity)
        {
            throw new ProtocolException($"a packet of {len} bytes (limit {Capacity})");
        }
        if (_in.Length < len)
        {
            _in = new byte[Math.Max(len, 2L * _in.Length)];
        }
        new ReadOnlySpan<byte>(_map + Data, (int)len).CopyTo(_in);
        packet = _in.AsSpan(0, (int)len);
        return true;
    }

    /// <summary>Where the host writes its next packet (then <see cref="Post"/>).</summary>
    public Span<byte> Reply => new(_map + Region + Data, Capacity);

    /// <summary>Publishes the <paramref name="length"/> bytes written at <see cref="Reply"/>; wakes the program when it sleeps.</summary>
    public void Post(int length)
    {
        if ((uint)length > Capacity)
        {
            throw new ProtocolException($"a reply of {length} bytes (limit {Capacity})");
        }
        byte* r = _map + Region;
        Volatile.Write(ref *(uint*)(r + LenOffset), (uint)length);
        // A full fence: the packet before the sequence word, the sequence word before the look at the sleeper.
        Interlocked.Exchange(ref *(uint*)(r + SeqOffset), ++_seqOut);
        if (Volatile.Read(ref *(uint*)(r + SleepingOffset)) != 0)
        {
            byte b = 0;
            // Never blocks: a full socket already holds a wake-up the program has not read.
            LibC.Send((int)_socket.Handle, &b, 1, LibC.MSG_DONTWAIT | LibC.MSG_NOSIGNAL);
        }
    }

    private bool Wait()
    {
        uint* seq = (uint*)(_map + SeqOffset);
        uint* sleeping = (uint*)(_map + SleepingOffset);
        long start = Stopwatch.GetTimestamp();
        long budget = Math.Max(_spin, s_spinMin);
        for (int k = 1; ; k++)
        {
            uint s = Volatile.Read(ref *seq);
            if (s != _seqIn)
            {
                _seqIn = s;
                _spin = Math.Min(s_spinMax, _spin + s_spinMax / 8);
                return true;
            }
            if ((k & 63) == 0 && Stopwatch.GetTimestamp() - start > budget)
            {
                break;
            }
            Thread.SpinWait(1);
        }
        _spin /= 2;
        Span<byte> sink = stackalloc byte[64];
        while (true)
        {
            Interlocked.Exchange(ref *sleeping, 1);
            uint s = Volatile.Read(ref *seq);
            if (s != _seqIn)
            {
                Volatile.Write(ref *sleeping, 0);
                _seqIn = s;
                return true;
            }
            int n;
            try
            {
                n = _socket.Receive(sink);
            }
            catch (SocketException)
            {
                return false;
            }
            Volatile.Write(ref *sleeping, 0);
            if (n == 0)
            {
                return false;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        LibC.Munmap((nint)_map, 2 * Region);
        LibC.Close(_fd);
    }
}
