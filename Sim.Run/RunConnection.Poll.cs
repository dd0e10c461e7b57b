// poll of simulated descriptors for one connection: the model's poll, and the wait with the gate released.
using System.Buffers.Binary;
using Stopwatch = System.Diagnostics.Stopwatch;
using Sim.Core.Kernel;

namespace Sim.Run;

internal sealed partial class RunConnection
{
    // poll: without waiting first; then, while nothing is ready, the caller sleeps with the gate released, so the
    // program's other threads and processes run (and may signal what it waits for). When every connection of the
    // program is asleep inside the simulator, nothing outside can wake it: simulated time jumps instead (a lone
    // descriptor waits in the models' poll, whose clock goes to the next timer or the timeout).
    private long Poll(Process p, byte[] payload, long timeoutMs, out byte[]? revents)
    {
        if (payload.Length % 8 != 0)
        {
            throw new ProtocolException($"poll payload of {payload.Length} bytes");
        }
        int n = payload.Length / 8;
        revents = new byte[n * 4];
        long deadline = timeoutMs < 0 ? long.MaxValue : Stopwatch.GetTimestamp() + timeoutMs * Stopwatch.Frequency / 1000;
        while (true)
        {
            int ready = PollOnce(p, payload, revents, 0);
            if (ready > 0 || timeoutMs == 0)
            {
                return ready;
            }
            if (host.EveryoneAsleepButOne())
            {
                return n == 1 ? PollOnce(p, payload, revents, timeoutMs) : 0;
            }
            long left = deadline == long.MaxValue ? -1 : (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            if (deadline != long.MaxValue && left <= 0)
            {
                return 0;
            }
            host.Asleep++;
            try
            {
                Monitor.Wait(host.Gate, left < 0 ? Timeout.Infinite : (int)Math.Min(left, int.MaxValue));
            }
            finally
            {
                host.Asleep--;
            }
            if (p.Exited)
            {
                return 0;
            }
        }
    }

    private int PollOnce(Process p, byte[] payload, byte[] revents, long timeoutMs)
    {
        int ready = 0;
        for (int k = 0; k < payload.Length / 8; k++)
        {
            int fd = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(8 * k));
            uint events = BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8 * k + 4));
            var (r, rev) = host.Sys.Poll(p, fd, events, timeoutMs);
            ready += r;
            BinaryPrimitives.WriteUInt32LittleEndian(revents.AsSpan(4 * k), rev);
        }
        return ready;
    }
}
