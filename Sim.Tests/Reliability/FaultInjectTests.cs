using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Reliability;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary>
/// The fault injector (lib/fault-inject.c): fail-nth counts every allocation site asked and fails the n-th once;
/// a named site fails; the sites register themselves and are all listed.
/// </summary>
public class FaultInjectTests
{
    [Fact]
    public void Every_model_assembly_site_is_registered_by_name()
    {
        var names = FaultSite.Discover(FailureSweep.ModelAssemblies).Select(s => s.Name).ToHashSet();
        // The sites the kernel's fail-nth reaches on these paths (mm/page_alloc.c, lib/scatterlist.c, lib/idr.c,
        // fs/file.c, drivers/dma-buf/dma-buf.c, dma-resv.c, sync_file.c, drivers/iommu/iova.c, mm/cma.c).
        foreach (var n in new[]
        {
            "alloc_pages:fail_page_alloc", "sg_kmalloc", "get_next_sg:sg_kmalloc", "idr_alloc:radix_tree_node_alloc",
            "alloc_fdtable:kmalloc", "dma_buf_export:kzalloc", "dma_buf_dynamic_attach:kzalloc", "dma_resv_list_alloc:kmalloc",
            "sync_file_alloc:kzalloc", "alloc_iova:alloc_iova_mem", "cma_alloc:alloc_contig_range",
            "dma_buf_getfile:alloc_anon_inode", "dma_buf_getfile:alloc_file_pseudo",
        })
        {
            Assert.Contains(n, names);
        }
    }

    [Fact]
    public void Fail_nth_fails_exactly_the_nth_call_once()
    {
        var inj = new FaultInject();
        var a = FaultSite.Register("test:a");
        var b = FaultSite.Register("test:b");
        using (inj.Activate())
        {
            inj.FailNth(3);
            Assert.False(a.ShouldFail());
            Assert.False(b.ShouldFail());
            Assert.True(a.ShouldFail());   // the third call
            Assert.False(a.ShouldFail());  // fail-nth is consumed (reset to 0 in the task)
            inj.FailSite("test:b", 2);
            Assert.False(a.ShouldFail());
            Assert.True(b.ShouldFail());
            Assert.True(b.ShouldFail());
            Assert.False(b.ShouldFail());
        }
        Assert.False(a.ShouldFail());      // not active on this thread any more
        Assert.Equal(8, inj.Calls);        // 4 calls before FailSite, 4 after
        Assert.Equal(["test:a", "test:b", "test:b"], inj.Injected.Select(i => i.Site.Name));
    }

    [Theory]
    [InlineData(1, 0)]   // busybox insmod falls back from finit_module to init_module: the second load works
    [InlineData(2, 19)]  // both loads fail: kvmfr_module_init turns the -ENOMEM into -ENODEV, insmod exits 19
    public void Kvmfr_static_device_vmalloc_failure(int failures, int expectedStatus)
    {
        using var m = Composition.BuildMachine(new MachineOptions());
        var inj = m.GetRequiredService<FaultInject>();
        var pages = m.GetRequiredService<Sim.Core.Mm.PageAlloc>();
        // Boot the services insmod reaches first (their construction takes boot-time memory), then count.
        _ = m.GetRequiredService<Sim.Core.Userspace.Busybox>();
        _ = m.GetRequiredService<Sim.Core.Mm.Vmalloc>();
        _ = m.GetRequiredService<Sim.DmaBufs.Kvmfr.KvmfrModuleImage>();
        ulong free = pages.Meminfo().MemFree;
        var err = new StringWriter();
        int status;
        using (inj.Activate())
        {
            inj.CaptureStacks = true;
            inj.FailSite("alloc_pages:fail_page_alloc", failures);
            status = KvmfrTest.Run(m, "2", TextWriter.Null, err);
        }
        Assert.Equal(failures, inj.Injected.Count);
        Assert.Equal(expectedStatus, status);
        if (status != 0)
        {
            Assert.Equal("insmod: can't insert '/mods/kvmfr.ko': No such device\n", err.ToString());
            Assert.True(free == pages.Meminfo().MemFree, string.Join("\n", LeakReport.Describe(m.GetRequiredService<LiveObjects>(), null, skipModules: false)) + "\n" + string.Join("\n", inj.InjectedStacks.Select(x => SweepCase.Frames(x, 8)))); // the module's pages went back with the failed init
        }
    }
}
