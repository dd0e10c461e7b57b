// Models fs/select.c (Linux 6.1): poll on one descriptor (do_sys_poll, do_pollfd).
using Sim.Core.Fs;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>poll</c> on one descriptor: blocks on the simulated clock until a requested event is ready or
    /// <paramref name="timeoutMs"/> passes (negative = forever). Returns (ret, revents): ret 1 when ready,
    /// 0 on timeout; a bad fd reports POLLNVAL.
    /// </summary>
    [Kernel("do_sys_poll", "fs/select.c")]
    public (int Ret, uint Revents) Poll(Process caller, int fd, uint events, long timeoutMs)
    {
        using var syscall = Enter(caller);
        if (fd < 0)
        {
            // do_pollfd: a negative fd is ignored (revents 0, not counted); the call still sleeps its timeout.
            if (timeoutMs > 0)
            {
                _clock.WaitUntil(() => false, timeoutMs * 1_000_000L);
            }
            return (0, 0);
        }
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return (1, Poll_h.POLLNVAL);
        }
        uint want = events | Poll_h.POLLERR | Poll_h.POLLHUP;
        uint Ready() => f.Ops.Poll(f, want) & want;
        uint mask = Ready();
        if (mask != 0 || timeoutMs == 0)
        {
            return (mask != 0 ? 1 : 0, mask);
        }
        long timeoutNs = timeoutMs < 0 ? long.MaxValue : timeoutMs * 1_000_000L;
        _clock.WaitUntil(() => Ready() != 0, timeoutNs);
        mask = Ready();
        return (mask != 0 ? 1 : 0, mask);
    }
}
