using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Replay;
using Sim.DmaBufs.Replay;

namespace Sim.DmaBufs;

/// <summary>DI registration of the Sim.DmaBuf models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Sim.DmaBuf models (and their replay ops) in a machine's container: the fence context
    /// allocator, the <c>dma_fence</c> tracepoints, the fence core (stub fence, <c>reservation_ww_class</c>) and
    /// the dma_fence/dma_resv replay handlers; the dma-buf core's <c>db_list</c> with its inode counter, and the
    /// dma-buf replay handlers.
    /// </summary>
    public static IServiceCollection AddDmaBuf(this IServiceCollection services)
    {
        services.AddSingleton<DmaFenceContextAllocator>();
        services.AddSingleton<DmaFenceTrace>();
        services.AddSingleton<DmaFenceCore>();
        services.AddSingleton<IReplayOpProvider, DmaResvReplayOps>();

        // dma-buf core (drivers/dma-buf/dma-buf.c): db_list + the dma-buf inode counter, and its replay ops.
        services.AddSingleton<DmaBufList>();
        // debugfs: dma_buf/bufinfo (dma_buf_debug_show), read through the syscall layer.
        services.AddSingleton(sp => new Sim.Core.Kernel.SeqFile(DmaBufList.BufinfoPath, () => sp.GetRequiredService<DmaBufList>().DebugShow()));
        services.AddSingleton<IReplayOpProvider, DmaBufReplayOps>();

        // sw_sync's debugfs file (machine option sw_sync): resolving SwSync creates it; sync_debug.c's timeline list
        // and debugfs sync/info (sync_info_debugfs_show), there with the same option.
        services.AddSingleton<SyncDebug>();
        services.AddSingleton<SwSync>();
        services.AddSingleton(sp => new Sim.Core.Kernel.SeqFile(SyncDebug.InfoPath, () => sp.GetRequiredService<SyncDebug>().Show())
        {
            Exists = () => sp.GetRequiredService<SyncDebug>().Exists,
        });
        // /dev/udmabuf (machine option udmabuf): resolving Udmabuf registers the misc device.
        services.AddSingleton<Udmabuf>();

        // DMA-BUF heaps (machine options dma_heap, kernel=6.12): the framework (dma_heap_init) and its two heaps,
        // registered at boot (Composition.Boot resolves them).
        services.AddSingleton<DmaHeapCore>();
        services.AddSingleton<Heaps.SystemHeap>();
        services.AddSingleton<Heaps.CmaHeap>();
        // their ioctls in traces (realkernel agent and tracer): DMA_HEAP_IOCTL_ALLOC, UDMABUF_CREATE(_LIST).
        services.AddSingleton<IReplayOpProvider, DmaHeapReplayOps>();

        // kvmfr (Looking Glass module): its .ko image for the module loader, and its replay ops.
        services.AddSingleton<Kvmfr.KvmfrModuleImage>();
        services.AddSingleton<Sim.Core.Kernel.IModuleImage>(sp => sp.GetRequiredService<Kvmfr.KvmfrModuleImage>());
        services.AddSingleton<Sim.Core.Replay.IReplayOpProvider, Kvmfr.KvmfrReplayOps>();
        return services;
    }
}
