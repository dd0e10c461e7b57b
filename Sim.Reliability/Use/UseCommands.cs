using Sim.Reliability.Use.Commands;

namespace Sim.Reliability.Use;

/// <summary>The operations of random use, chosen by a number 0-99 with stress's weights.</summary>
public static class UseCommands
{
    /// <summary>
    /// The command for <paramref name="op"/> (0-99: open 8, close 6, dup 3, MODE_CREATE_DUMB 15, DESTROY_DUMB or
    /// GEM_CLOSE 8, FLINK 5, GEM_OPEN 5, HANDLE_TO_FD 8, FD_TO_HANDLE 6, MAP_DUMB+mmap 6, mmap 4, munmap 5, SYNC 6,
    /// lseek/fstat 3, vgem fences 5, DMA_HEAP_IOCTL_ALLOC 2, kvmfr 2 (random ioctls without kvmfr), random ioctl 1, exit 2) made by
    /// process <paramref name="proc"/>. DESTROY_DUMB or GEM_CLOSE is drawn from <paramref name="rng"/>.
    /// </summary>
    public static UseCommand ForNumber(int op, int proc, bool kvmfr, Random rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        return op switch
        {
            < 8 => new OpenCommand { Proc = proc },
            < 14 => new CloseCommand { Proc = proc },
            < 17 => new DupCommand { Proc = proc },
            < 32 => new CreateDumbCommand { Proc = proc },
            < 40 => new HandleCloseCommand(destroy: rng.Next(2) == 0) { Proc = proc },
            < 45 => new FlinkCommand { Proc = proc },
            < 50 => new GemOpenCommand { Proc = proc },
            < 58 => new PrimeHandleToFdCommand { Proc = proc },
            < 64 => new PrimeFdToHandleCommand { Proc = proc },
            < 70 => new MapDumbMmapCommand { Proc = proc },
            < 74 => new MmapDmaBufCommand { Proc = proc },
            < 79 => new MunmapCommand { Proc = proc },
            < 85 => new DmaBufSyncCommand { Proc = proc },
            < 88 => new LseekFstatCommand { Proc = proc },
            < 93 => new VgemFenceCommand { Proc = proc },
            < 95 => new DmaHeapAllocCommand { Proc = proc },
            < 97 when kvmfr => new KvmfrCommand { Proc = proc },
            < 98 => new RandomIoctlCommand { Proc = proc },
            _ => new ExitCommand { Proc = proc },
        };
    }
}
