using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Core.Time;

namespace Sim.Core;

/// <summary>DI registration of the Sim.Core models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// <c>AddSimCore</c>: the machine's options, clock, WARN log and live-object accounting, physical memory
    /// (<see cref="PhysicalMemory"/> over a sparse <see cref="IPhysicalPageStore"/>), the memmap
    /// (<see cref="PageMap"/>), the buddy allocator (<see cref="PageAlloc"/>), the swiotlb pool
    /// (<see cref="Swiotlb"/>), dma-direct and the DMA mapping API (<see cref="DmaMapping"/>), and the replay
    /// handlers of the scatterlist/DMA ops. Every service is a singleton of this machine's container.
    /// </summary>
    public static IServiceCollection AddSimCore(this IServiceCollection services, MachineOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(_ => new Ktime(options.Hz));
        services.AddSingleton<Warnings>();
        services.AddSingleton<UnmodelledCalls>();
        services.AddSingleton<LeakCheck>();
        services.AddSingleton<LiveObjects>();
        services.AddSingleton<FaultInject>();
        services.AddSingleton<IPhysicalPageStore, DictionaryPageStore>();
        services.AddSingleton(sp => new PhysicalMemory(options, sp.GetRequiredService<IPhysicalPageStore>()));
        services.AddSingleton<PageMap>();
        services.AddSingleton(sp => new PageAlloc(sp.GetRequiredService<PhysicalMemory>(), sp.GetRequiredService<PageMap>(), options));
        services.AddSingleton(sp => new Swiotlb(options, sp.GetRequiredService<PhysicalMemory>()));
        services.AddSingleton(sp => new DmaDirect(sp.GetRequiredService<PhysicalMemory>(), sp.GetRequiredService<PageAlloc>(), sp.GetRequiredService<Warnings>()));
        services.AddSingleton(sp => new DmaMapping(options, sp.GetRequiredService<DmaDirect>(), sp.GetRequiredService<Swiotlb>(), sp.GetRequiredService<Warnings>()));
        services.AddSingleton<IReplayOpProvider, SgDmaReplayOps>();
        // Processes and files (fs/, mm/mmap.c): CPU accesses through mappings reach physical memory.
        services.AddSingleton<IPageDataAccess>(sp => sp.GetRequiredService<PhysicalMemory>());
        services.AddSingleton<CharDevices>();
        // The VFS with sysfs mounted at /sys (fs/sysfs), and the device model's sysfs side (drivers/base/core.c).
        services.AddSingleton(sp =>
        {
            var vfs = ActivatorUtilities.CreateInstance<Vfs>(sp);
            vfs.Sysfs = new Sysfs();
            return vfs;
        });
        services.AddSingleton(sp => sp.GetRequiredService<Vfs>().Sysfs!);
        services.AddSingleton<Base.DeviceCore>();
        services.TryAddSingleton<Mm.Shmem>();
        services.AddSingleton<Mm.Hugetlb>();
        services.AddSingleton<Mm.Memfd>();
        services.AddSingleton<IMemfd>(sp => sp.GetRequiredService<Mm.Memfd>());
        // The syscall layer (Kernel/Syscalls/): every user-visible entry, taking the caller's process.
        services.AddSingleton(sp => new Syscalls(sp.GetRequiredService<Vfs>(), sp.GetRequiredService<Ktime>(), options,
            sp.GetRequiredService<CurrentTask>(), () => sp.GetRequiredService<ModuleLoader>(), sp.GetServices<SeqFile>(),
            () => sp.GetService<IMemfd>(), () => sp.GetRequiredService<ProcessTable>(), sp.GetRequiredService<LeakCheck>()));
        services.AddSingleton<ProcessTable>();
        // The seq_files of /proc this project models (fs/proc/devices.c chrdev_show, kernel/module/procfs.c m_show).
        services.AddSingleton(sp => new SeqFile("/proc/devices", () =>
            "Character devices:\n" + string.Concat(sp.GetRequiredService<CharDevices>().ProcDevicesLines().Select(l => l + "\n"))));
        services.AddSingleton(sp => new SeqFile("/proc/modules", () =>
            string.Concat(sp.GetRequiredService<ModuleList>().Modules.Select(m => ModuleLoader.ProcModulesLine(m) + "\n"))));
        // fs/proc/meminfo.c: the model's counters in Linux's lines (ProcMeminfo).
        services.AddSingleton(sp => new SeqFile("/proc/meminfo", () =>
        {
            var vm = sp.GetRequiredService<Mm.Vmalloc>();
            var cma = sp.GetService<Dma.DmaContiguous>()?.DefaultArea;
            var huge = sp.GetService<Mm.Hugetlb>(); // the pool first: its pages are out of MemFree
            var m = Mm.Meminfo.Read(sp.GetRequiredService<Mm.IPageFrames>(), cma);
            return Fs.ProcMeminfo.Show(m, vm.VmallocTotalKb, vm.UsedPages, options.Is32Bit, huge);
        }));
        // Kernel log, taint, modules, WARN reports (kernel/printk, kernel/panic.c, kernel/module), warn_alloc.
        services.AddSingleton<Printk>();
        services.AddSingleton<Taint>();
        services.AddSingleton<CurrentTask>();
        services.AddSingleton<ModuleList>();
        services.AddSingleton<ModuleLoader>();
        services.AddSingleton<Bug>();
        services.AddSingleton<WarnAlloc>();
        services.AddSingleton<Base.Devtmpfs>();
        services.AddSingleton<BootState>();
        services.AddSingleton<Userspace.Busybox>();

        // CMA, the DMA contiguous allocator, ARM dma_alloc_wc, vmalloc, the kernel trace sink.
        services.AddSingleton<KernelTrace>();
        services.TryAddSingleton<Mm.IPageFrames, Mm.BuddyPageFrames>(); // vmalloc and zeroing over the buddy allocator
        if (Dma.DmaContiguous.TryReserve(options, out _, out _) == 0)
        {
            services.AddSingleton(sp =>
            {
                var dc = new Dma.DmaContiguous(options, sp.GetRequiredService<KernelTrace>());
                if (dc.DefaultArea is { } area)
                {
                    // cma_alloc's pr_err ("cma: cma_alloc: ...") goes to the machine's kernel log.
                    var printk = sp.GetRequiredService<Printk>();
                    area.Printk = (level, text) => printk.Print(level, text + "\n");
                }
                return dc;
            });
            services.AddSingleton(sp => sp.GetRequiredService<Dma.DmaContiguous>().DefaultArea!);
            if (options.Is32Bit)
            {
                services.AddSingleton<Dma.ArmDmaMapping>();
            }
        }
        services.AddSingleton(sp =>
        {
            // The machine's vmalloc reports through the machine's WARN (Bug) and its one warn_alloc (nopage_rs,
            // "comm: " prefix, dump_stack, Mem-Info); Printk is the plain-text fallback with the comm added.
            var vm = ActivatorUtilities.CreateInstance<Mm.Vmalloc>(sp);
            var printk = sp.GetRequiredService<Printk>();
            var current = sp.GetRequiredService<CurrentTask>();
            vm.Printk = (level, text) => printk.Print(level, $"{current.Comm}: {text}\n");
            return vm;
        });
        services.AddSingleton<Replay.IReplayOpProvider, Mm.CmaReplayOps>();
        services.AddSingleton<Replay.IReplayOpProvider, Replay.KernelSideReplayOps>();
        services.AddSingleton<Replay.IReplayOpProvider, Replay.ProcessTreeReplayOps>();
        return services;
    }
}
