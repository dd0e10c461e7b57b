using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Heaps;
using Sim.DmaBufs.Uapi;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// The DMA-BUF heaps (drivers/dma-buf/dma-heap.c, heaps/system_heap.c, heaps/cma_heap.c of 6.1.192 and 6.12.118):
/// the device nodes and their major, DMA_HEAP_IOCTL_ALLOC's checks in the kernel's order, the system heap's
/// block orders and sg table, the CMA heap's range, and both heaps' dma_buf_ops. Expected values are argued from
/// the source in the comments.
/// </summary>
public sealed class DmaHeapTests
{
    private const ulong KiB = 1024;
    private const ulong MiB = 1024 * 1024;

    private sealed class Machine : IDisposable
    {
        private readonly ServiceProvider _sp;

        public Machine(string options, string heap = "system")
        {
            _sp = Composition.BuildBootedMachine(Composition.ParseMachine(options));
            P = _sp.GetRequiredService<ProcessTable>().Spawn("heap");
            Heap = heap.Length == 0 ? -1 : P.Openat(DmaHeapUapi.DevDir + "/" + heap, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
        }

        public Process P { get; }

        public int Heap { get; }

        public T Get<T>() where T : notnull => _sp.GetRequiredService<T>();

        public long Alloc(ulong len, uint fdFlags = OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC, ulong heapFlags = 0, uint fd = 0) =>
            AllocArg(new UserArg(0x1000, DmaHeapUapi.Alloc(len, fdFlags, heapFlags, fd)));

        public long AllocArg(UserArg arg, uint cmd = DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC) => P.Ioctl(Heap, cmd, arg);

        /// <summary>Allocates and returns the new fd (the struct's fd field).</summary>
        public int AllocFd(ulong len, uint fdFlags = OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC)
        {
            var b = DmaHeapUapi.Alloc(len, fdFlags);
            Assert.Equal(0, AllocArg(new UserArg(0x1000, b)));
            return (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        }

        public DmaBuf Buf(int fd) => (DmaBuf)P.Fget(fd)!.PrivateData!;

        public void Dispose() => _sp.Dispose();
    }

    [Fact]
    public void Kernel612HasTheSystemHeapAtMajor251AndNoCmaHeap()
    {
        // Measured on Debian 6.12.118 under QEMU pc: /proc/devices "251 dma_heap" (after 254 gpiochip, 253 tpm,
        // 252 dax; before 250 cxl .. 246 bsg), /dev/dma_heap/system is crw------- 251, 0. The CMA heap is not built
        // (# CONFIG_DMABUF_HEAPS_CMA), so a CMA area gives no second node.
        using var m = new Machine("kernel=6.12 cma=16M");
        var core = m.Get<DmaHeapCore>();
        Assert.Equal(251u, core.Major);
        var node = m.Get<Vfs>().Lookup("/dev/dma_heap/system")!;
        Assert.Equal((251u, 0u, 0x2180u), (node.Major, node.Minor, node.Mode));
        Assert.Contains("251 dma_heap", m.Get<CharDevices>().ProcDevicesLines());
        Assert.Null(m.Get<Vfs>().Lookup("/dev/dma_heap/reserved"));
        Assert.True(m.Heap >= 0);
        // The first module's register_chrdev(0) takes the next dynamic major: 245 (9 taken by the boot).
        Assert.Equal(245, m.Get<CharDevices>().RegisterChrdev(0, "kvmfr", null));
    }

    [Fact]
    public void Kernel61HasNoHeapsUnlessAsked()
    {
        // Debian's 6.1 amd64: # CONFIG_DMABUF_HEAPS is not set. No node, no major, kvmfr keeps 246.
        using (var m = new Machine("", heap: ""))
        {
            Assert.Equal(-(int)Errno.ENOENT, m.P.Openat("/dev/dma_heap/system", OpenFlags.O_RDONLY));
            Assert.DoesNotContain(m.Get<CharDevices>().ProcDevicesLines(), l => l.EndsWith("dma_heap", StringComparison.Ordinal));
            Assert.Equal(246, m.Get<CharDevices>().RegisterChrdev(0, "kvmfr", null));
        }
        // dma_heap (the upstream code): system at minor 0 then, with a CMA area, the CMA heap named after the
        // area (kernel/dma/contiguous.c declares the cma= area as "reserved") at minor 1 (Makefile link order).
        using (var m = new Machine("dma_heap cma=16M"))
        {
            Assert.True(m.Heap >= 0);
            var reserved = m.Get<Vfs>().Lookup("/dev/dma_heap/reserved")!;
            Assert.Equal((251u, 1u), (reserved.Major, reserved.Minor));
            Assert.Equal(["reserved", "system"], m.Get<DmaHeapCore>().Heaps.Select(h => h.Name));
            Assert.Equal([("system", 251u, 0u), ("reserved", 251u, 1u)], m.Get<Sim.Core.Base.Devtmpfs>().ClassDevices("dma_heap"));
        }
        // dma_heap=off on 6.12, dma_heap=cma without a CMA area: the class exists (cma) or not (off), no node.
        using (var m = new Machine("kernel=6.12 dma_heap=off", heap: ""))
        {
            Assert.False(m.Get<DmaHeapCore>().Initialised);
            Assert.Null(m.Get<Vfs>().Lookup("/dev/dma_heap/system"));
        }
        Assert.Throws<Sim.Core.Boot.MachineOptionException>(() => Composition.ParseMachine("dma_heap=ion"));
    }

    [Fact]
    public void IoctlChecksInTheKernelsOrder()
    {
        using var m = new Machine("kernel=6.12");
        var pages = m.Get<PageAlloc>();
        long free = pages.FreePages;
        // dma_heap_ioctl: _IOC_NR(ucmd) >= ARRAY_SIZE(dma_heap_ioctl_cmds) (1) is -EINVAL, whatever the type.
        Assert.Equal(-(long)Errno.EINVAL, m.AllocArg(new UserArg(0x1000, new byte[24]), 0xC0184801));
        Assert.Equal(-(long)Errno.EINVAL, m.AllocArg(new UserArg(0x1000, new byte[24]), 0x5401 /* TCGETS */));
        // copy_from_user of in_size = 24 bytes from an unmapped pointer: -EFAULT.
        Assert.Equal(-(long)Errno.EFAULT, m.AllocArg(new UserArg(0x1000)));
        // dma_heap_ioctl_allocate: fd != 0, fd_flags outside O_CLOEXEC|O_ACCMODE (O_NONBLOCK 0x800), heap_flags != 0,
        // PAGE_ALIGN(len) == 0 (len 0, and len 2^64-1 which wraps to 0): -EINVAL each, nothing allocated.
        Assert.Equal(-(long)Errno.EINVAL, m.Alloc(4096, fd: 3));
        Assert.Equal(-(long)Errno.EINVAL, m.Alloc(4096, fdFlags: OpenFlags.O_RDWR | 0x800));
        Assert.Equal(-(long)Errno.EINVAL, m.Alloc(4096, heapFlags: 1));
        Assert.Equal(-(long)Errno.EINVAL, m.Alloc(0));
        Assert.Equal(-(long)Errno.EINVAL, m.Alloc(ulong.MaxValue));
        Assert.Equal(free, pages.FreePages);
        // _IOR (no IOC_IN): nothing is copied in, the zeroed struct has len 0: -EINVAL.
        Assert.Equal(-(long)Errno.EINVAL, m.AllocArg(new UserArg(0x1000, DmaHeapUapi.Alloc(4096, OpenFlags.O_RDWR)), 0x80184800));
        // _IOW (no IOC_OUT): allocated and installed at the lowest free fd, but the fd is not copied back.
        var w = DmaHeapUapi.Alloc(4096, OpenFlags.O_RDWR);
        int expected = m.P.Files.NextFree();
        Assert.Equal(0, m.AllocArg(new UserArg(0x1000, w), 0x40184800));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(w.AsSpan(8)));
        Assert.True(DmaBuf.IsDmaBufFile(m.P.Fget(expected)!));
        // Any type with nr 0 is DMA_HEAP_IOCTL_ALLOC; a larger user struct (32 bytes) is read and written back whole.
        var big = new byte[32];
        DmaHeapUapi.Alloc(8192, OpenFlags.O_RDWR).CopyTo(big, 0);
        big[24] = 0xaa;
        Assert.Equal(0, m.AllocArg(new UserArg(0x1000, big), 0xC0205800));
        Assert.Equal((uint)expected + 1, BinaryPrimitives.ReadUInt32LittleEndian(big.AsSpan(8)));
        Assert.Equal(0xaa, big[24]); // in_size = 32: the user's extra bytes were copied in and go back out unchanged
        Assert.Equal(8192, m.P.Fget(expected + 1)!.Inode.Size);
    }

    [Fact]
    public void TheFdIsTheLowestFreeWithTheRequestedFlags()
    {
        using var m = new Machine("kernel=6.12");
        int a = m.AllocFd(4096);
        int b = m.AllocFd(4096, OpenFlags.O_RDONLY);
        Assert.Equal(a + 1, b);
        Assert.Equal(Process.FD_CLOEXEC, m.P.Fcntl(a, Process.F_GETFD));
        Assert.Equal(0, m.P.Fcntl(b, Process.F_GETFD));
        // exp_info.flags = fd_flags: the dma-buf file is read-only, a shared writable mapping is -EACCES.
        Assert.Equal(OpenFlags.O_RDONLY, m.P.Fcntl(b, Process.F_GETFL) & OpenFlags.O_ACCMODE);
        Assert.Equal(-(long)Errno.EACCES, m.P.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, b, 0));
        Assert.Equal("system", m.Buf(a).ExpName);
        Assert.Equal(0, m.P.Close(a));
        Assert.Equal(a, m.AllocFd(4096));
    }

    [Fact]
    public void WithTheFdTableFullTheBufferIsFreedAndEmfileReturned()
    {
        using var m = new Machine("kernel=6.12");
        var pages = m.Get<PageAlloc>();
        m.P.Files.Limit = m.P.Files.NextFree();
        long free = pages.FreePages;
        Assert.Equal(-(long)Errno.EMFILE, m.Alloc(64 * KiB));
        Assert.Equal(free, pages.FreePages);
        Assert.Empty(m.Get<DmaBufList>().Buffers);
    }

    [Fact]
    public void SystemHeapTakesTheLargestOrderThatFitsNeverGrowing()
    {
        using var m = new Machine("kernel=6.12");
        // 2 MiB + 76 KiB: order 8 twice (1 MiB each), then 76 KiB < 1 MiB so order 4 (64 KiB) and max_order = 4,
        // then 12 KiB < 64 KiB so order 0 three times: six entries, each page_size(page) long, offset 0.
        int fd = m.AllocFd(2 * MiB + 76 * KiB);
        var buffer = (SystemHeapBuffer)m.Buf(fd).Priv;
        var table = buffer.SgTable;
        var lengths = table.Sgs().Select(c => table.At(c).Length).ToArray();
        Assert.Equal([(uint)MiB, (uint)MiB, 64u * 1024, 4096u, 4096u, 4096u], lengths);
        foreach (var c in table.Sgs())
        {
            var sg = table.At(c);
            Assert.Equal(0u, sg.Offset);
            // Buddy blocks are aligned to their size.
            Assert.Equal(0UL, sg.Pfn % (sg.Length / 4096));
        }
        Assert.Equal(6, table.OrigNents);
        // A length that is not page aligned is aligned up by dma_heap_ioctl_allocate: 5000 bytes = 2 pages.
        int small = m.AllocFd(5000);
        Assert.Equal(8192, m.P.Fget(small)!.Inode.Size);
        Assert.Equal(2, ((SystemHeapBuffer)m.Buf(small).Priv).SgTable.OrigNents);
    }

    [Fact]
    public void SystemHeapFallsBackToTheNextOrderAndNeverGoesBackUp()
    {
        using var m = new Machine("kernel=6.12");
        var inject = new FaultInject();
        using var scope = inject.Activate();
        // The order-8 attempt fails: alloc_largest_available continues with order 4, and max_order stays 4 for
        // the rest of the buffer, so 1 MiB is sixteen 64 KiB blocks.
        inject.FailSite("alloc_pages:fail_page_alloc");
        int fd = m.AllocFd(MiB);
        var table = ((SystemHeapBuffer)m.Buf(fd).Priv).SgTable;
        Assert.Equal(16, table.OrigNents);
        Assert.All(table.Sgs(), c => Assert.Equal(64u * 1024, table.At(c).Length));
    }

    [Fact]
    public void OrderFlagsDifferBetween61And612()
    {
        // gfp_types.h bits: HIGHMEM 0x2, IO 0x40, FS 0x80, ZERO 0x100, RECLAIM 0xc00, NOWARN 0x2000, NORETRY 0x10000,
        // COMP 0x40000, HARDWALL 0x100000. GFP_HIGHUSER = 0x100cc2.
        // HIGH_ORDER_GFP = ((0x100cc2|0x100|0x2000|0x10000) & ~0xc00) | 0x40000 = 0x1521c2.
        // 6.1: MID_ORDER_GFP = 0x100cc2|0x100|0x40000|0x2000 = 0x142dc2, LOW_ORDER_GFP = 0x140dc2.
        // 6.12: order 4 uses HIGH_ORDER_GFP, LOW_ORDER_GFP = 0x100dc2 (no __GFP_COMP).
        using (var m = new Machine("dma_heap"))
        {
            Assert.Equal([0x1521c2u, 0x142dc2u, 0x140dc2u], m.Get<SystemHeap>().OrderFlags.Select(g => (uint)g));
        }
        using (var m = new Machine("kernel=6.12"))
        {
            Assert.Equal([0x1521c2u, 0x1521c2u, 0x100dc2u], m.Get<SystemHeap>().OrderFlags.Select(g => (uint)g));
        }
    }

    [Fact]
    public void AFatalSignalStopsTheAllocationWithEintr()
    {
        using var m = new Machine("kernel=6.12");
        var pages = m.Get<PageAlloc>();
        long free = pages.FreePages;
        m.P.FatalSignalPending = true;
        Assert.Equal(-(long)Errno.EINTR, m.Alloc(MiB));
        Assert.Equal(free, pages.FreePages);
    }

    [Theory]
    [InlineData("system_heap_allocate:kzalloc")]
    [InlineData("sg_kmalloc")]
    [InlineData("dma_buf_export:kzalloc")]
    [InlineData("dma_buf_getfile:alloc_anon_inode")]
    [InlineData("alloc_fdtable:kmalloc")]
    public void EveryAllocationFailureIsEnomemAndLeavesNothing(string site)
    {
        using var m = new Machine("kernel=6.12");
        var pages = m.Get<PageAlloc>();
        if (site == "alloc_fdtable:kmalloc")
        {
            // expand_files only allocates when the fd does not fit the first 64.
            while (m.P.Files.NextFree() < 64)
            {
                m.P.Openat("/dev/dma_heap/system", OpenFlags.O_RDONLY);
            }
        }
        long free = pages.FreePages;
        var inject = new FaultInject();
        using var scope = inject.Activate();
        inject.FailSite(site);
        Assert.Equal(-(long)Errno.ENOMEM, m.Alloc(MiB + 4096));
        Assert.Equal(free, pages.FreePages);
        Assert.Empty(m.Get<DmaBufList>().Buffers);
    }

    [Fact]
    public void AnIoctlStructLargerThan128BytesIsKmalloced()
    {
        using var m = new Machine("kernel=6.12");
        var inject = new FaultInject();
        using var scope = inject.Activate();
        inject.FailSite("dma_heap_ioctl:kmalloc");
        // _IOC_SIZE 200 > sizeof(stack_kdata): kmalloc(ksize) fails first.
        Assert.Equal(-(long)Errno.ENOMEM, m.AllocArg(new UserArg(0x1000, new byte[200]), 0xC0C84800));
        // 128 bytes fit on the stack: no allocation to fail, len 0 is -EINVAL.
        inject.FailSite("dma_heap_ioctl:kmalloc");
        Assert.Equal(-(long)Errno.EINVAL, m.AllocArg(new UserArg(0x1000, new byte[128]), 0xC0804800));
    }

    [Fact]
    public void EachAttachmentMapsItsOwnCopyOfTheTable()
    {
        using var m = new Machine("kernel=6.12 iommu=on");
        int fd = m.AllocFd(MiB + 64 * KiB);
        var buf = m.Buf(fd);
        var buffer = (SystemHeapBuffer)buf.Priv;
        var dma = m.Get<DmaMapping>();
        var (a1, e1) = buf.Attach(dma.CreateDevice("imp1"));
        var (a2, e2) = buf.Attach(dma.CreateDevice("imp2"));
        Assert.Equal((0, 0), (e1, e2));
        var h1 = (DmaHeapAttachment)a1!.Priv!;
        var h2 = (DmaHeapAttachment)a2!.Priv!;
        Assert.NotSame(h1.Table, h2.Table);
        Assert.NotSame(buffer.SgTable, h1.Table);
        Assert.Equal(buffer.SgTable.Sgs().Select(c => buffer.SgTable.At(c).Pfn), h1.Table.Sgs().Select(c => h1.Table.At(c).Pfn));
        // list_add: newest first.
        Assert.Same(h2, buffer.Attachments[0]);
        var (sgt, err) = DmaBuf.MapAttachmentUnlocked(a1, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0, err);
        Assert.Same(h1.Table, sgt);
        Assert.True(h1.Mapped);
        Assert.False(h2.Mapped);
        // Under iommu-dma the two blocks (1 MiB + 64 KiB) become one contiguous IOVA range.
        Assert.Equal(1, sgt!.Nents);
        Assert.Equal((uint)(MiB + 64 * KiB), sgt.At(sgt.Sgl).DmaLength);
        // The buffer's own table is never mapped.
        Assert.All(buffer.SgTable.Sgs(), c => Assert.Equal(0UL, buffer.SgTable.At(c).DmaAddress));
        DmaBuf.UnmapAttachmentUnlocked(a1, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.False(h1.Mapped);
        buf.Detach(a1);
        buf.Detach(a2);
        Assert.Empty(buffer.Attachments);
    }

    [Fact]
    public void BeginCpuAccessSyncsTheMappedAttachmentsBounceBuffers()
    {
        using var m = new Machine("kernel=6.12 swiotlb=force");
        var mem = m.Get<IPageDataAccess>();
        int fd = m.AllocFd(4096);
        var buf = m.Buf(fd);
        var (at, _) = buf.Attach(m.Get<DmaMapping>().CreateDevice("imp"));
        var (sgt, err) = DmaBuf.MapAttachmentUnlocked(at!, DmaDataDirection.DMA_FROM_DEVICE);
        Assert.Equal(0, err);
        // The device writes into its bounce slot; the CPU sees it only after DMA_BUF_SYNC_START (begin_cpu_access
        // -> dma_sync_sgtable_for_cpu -> swiotlb_sync_single_for_cpu).
        ulong bounce = sgt!.At(sgt.Sgl).DmaAddress;
        mem.Write(bounce >> 12, (int)(bounce & 4095), "device"u8);
        long addr = m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0);
        var seen = new byte[6];
        m.P.Load((ulong)addr, seen);
        Assert.Equal(new byte[6], seen);
        var sync = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_READ | DmaBufUapi.DMA_BUF_SYNC_START);
        Assert.Equal(0, m.P.Ioctl(fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync)));
        m.P.Load((ulong)addr, seen);
        Assert.Equal("device"u8.ToArray(), seen);
        DmaBuf.UnmapAttachmentUnlocked(at!, sgt, DmaDataDirection.DMA_FROM_DEVICE);
        buf.Detach(at!);
    }

    [Fact]
    public void MmapRemapsPagesFromThePageOffset()
    {
        using var m = new Machine("kernel=6.12");
        var mem = m.Get<IPageDataAccess>();
        int fd = m.AllocFd(3 * 4096);
        var table = ((SystemHeapBuffer)m.Buf(fd).Priv).SgTable;
        var pfns = SystemHeap.TablePages(table, 0).ToArray();
        mem.Write(pfns[1], 0, "page1"u8);
        // A shared mapping at offset 4096 starts with the buffer's second page; remap_pfn_range made it
        // VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP.
        long addr = m.P.Mmap(2 * 4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 4096);
        Assert.True(addr > 0);
        var b = new byte[5];
        m.P.Load((ulong)addr, b);
        Assert.Equal("page1"u8.ToArray(), b);
        var vma = m.P.Mm.Find((ulong)addr)!;
        const ulong Want = Vma.VM_IO | Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        Assert.Equal(Want, vma.Flags & Want);
        // Zeroed pages (__GFP_ZERO), written through the mapping, read in physical memory.
        m.P.Store((ulong)addr + 4096, "two"u8);
        var phys = new byte[3];
        mem.Read(pfns[2], 0, phys);
        Assert.Equal("two"u8.ToArray(), phys);
        // dma_buf_mmap_internal: pgoff + pages beyond the buffer is -EINVAL before the heap is asked.
        Assert.Equal(-(long)Errno.EINVAL, m.P.Mmap(2 * 4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 2 * 4096));
        // A private writable mapping is a COW mapping: remap_pfn_range of its first page alone (not the whole
        // vma) is -EINVAL; a one-page private mapping is remapped whole and works.
        Assert.Equal(-(long)Errno.EINVAL, m.P.Mmap(2 * 4096, Mman.PROT_READ, Mman.MAP_PRIVATE, fd, 0));
        Assert.True(m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_PRIVATE, fd, 0) > 0);
    }

    [Fact]
    public void VmapIsCountedAndTheLastVunmapUnmaps()
    {
        using var m = new Machine("dma_heap");
        var vmalloc = m.Get<Vmalloc>();
        int fd = m.AllocFd(64 * KiB);
        var buf = m.Buf(fd);
        var buffer = (SystemHeapBuffer)buf.Priv;
        ulong used = vmalloc.UsedPages;
        Assert.Equal(0, buf.Vmap(out var map1));
        Assert.Equal(0, buf.Vmap(out var map2));
        Assert.Equal(map1, map2);
        // dma_buf_vmap counts the second user itself; the heap's vmap_cnt only saw the first.
        Assert.Equal(1, buffer.VmapCnt);
        var area = vmalloc.FindVmArea(map1.Vaddr)!;
        Assert.Equal(SystemHeap.TablePages(buffer.SgTable, 0), area.Pages);
        Assert.Equal(Vmalloc.VM_MAP, area.Flags);
        // The temporary page array (vmalloc) is gone again and vmap's pages are not counted as vmalloc's.
        Assert.Equal(used, vmalloc.UsedPages);
        buf.Vunmap(map1);
        Assert.NotNull(vmalloc.FindVmArea(map1.Vaddr));
        buf.Vunmap(map2);
        Assert.Null(vmalloc.FindVmArea(map1.Vaddr));
        Assert.Equal(0, buffer.VmapCnt);
    }

    [Fact]
    public void ReleaseGivesEveryPageBack()
    {
        using var m = new Machine("kernel=6.12");
        var pages = m.Get<PageAlloc>();
        long free = pages.FreePages;
        int fd = m.AllocFd(3 * MiB + 4096);
        // 3 MiB in three order-8 blocks, then one page: 769 pages.
        Assert.Equal(free - 769, pages.FreePages);
        long addr = m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0);
        Assert.Equal(0, m.P.Close(fd));
        Assert.Equal(free - 769, pages.FreePages); // the mapping holds the file
        Assert.Equal(0, m.P.Munmap((ulong)addr, 4096));
        Assert.Equal(free, pages.FreePages);
    }

    [Fact]
    public void CmaHeapAllocatesAnAlignedRangeWithOneSgEntry()
    {
        using var m = new Machine("dma_heap=cma cma=16M", heap: "reserved");
        var cma = m.Get<CmaHeap>().Cma!;
        Assert.True(m.Heap >= 0);
        // 1 page first (order 0), then 3 pages: get_order(12 KiB) = 2, so the range starts at a multiple of 4 pages.
        int one = m.AllocFd(4096);
        int three = m.AllocFd(3 * 4096);
        var b3 = (CmaHeapBuffer)m.Buf(three).Priv;
        Assert.Equal(cma.BasePfn + 4, b3.CmaPages);
        Assert.Equal([b3.CmaPages, b3.CmaPages + 1, b3.CmaPages + 2], b3.Pages);
        // 4 MiB: get_order = 10, capped at CONFIG_CMA_ALIGNMENT (8): 256-page aligned.
        int big = m.AllocFd(4 * MiB);
        Assert.Equal(cma.BasePfn + 256, ((CmaHeapBuffer)m.Buf(big).Priv).CmaPages);
        Assert.Equal(1 + 3 + 1024UL, cma.UsedPages);
        // attach: sg_alloc_table_from_pages merges the contiguous pages into one 12 KiB entry.
        var buf = m.Buf(three);
        var (at, err) = buf.Attach(m.Get<DmaMapping>().CreateDevice("imp"));
        Assert.Equal(0, err);
        var table = ((DmaHeapAttachment)at!.Priv!).Table;
        Assert.Equal(1, table.OrigNents);
        Assert.Equal((b3.CmaPages, 3u * 4096), (table.At(table.Sgl).Pfn, table.At(table.Sgl).Length));
        buf.Detach(at);
        Assert.Equal(0, m.P.Close(one));
        Assert.Equal(0, m.P.Close(three));
        Assert.Equal(0, m.P.Close(big));
        Assert.Equal(0UL, cma.UsedPages);
        // More than the area (16 MiB = 4096 pages): cma_alloc fails, -ENOMEM.
        Assert.Equal(-(long)Errno.ENOMEM, m.Alloc(17 * MiB));
    }

    [Fact]
    public void CmaHeapMmapIsSharedOnlyAndPfnMapOn612()
    {
        foreach (var (kernel, pfnmap) in new[] { ("kernel=6.1", false), ("kernel=6.12", true) })
        {
            using var m = new Machine(kernel + " dma_heap=cma cma=16M", heap: "reserved");
            int fd = m.AllocFd(2 * 4096);
            var b = (CmaHeapBuffer)m.Buf(fd).Priv;
            m.Get<IPageDataAccess>().Write(b.Pages[1], 0, "cma"u8);
            Assert.Equal(-(long)Errno.EINVAL, m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_PRIVATE, fd, 0));
            long addr = m.P.Mmap(2 * 4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0);
            var got = new byte[3];
            Assert.Equal(0, m.P.Load((ulong)addr + 4096, got));
            Assert.Equal("cma"u8.ToArray(), got);
            var vma = m.P.Mm.Find((ulong)addr)!;
            Assert.Equal(pfnmap, (vma.Flags & Vma.VM_PFNMAP) != 0);
            // 6.12's VM_DONTEXPAND | VM_PFNMAP: growing with mremap is -EFAULT (vma_to_resize).
            if (pfnmap)
            {
                Assert.Equal(-(long)Errno.EFAULT, m.P.Kernel.Mremap(m.P, (ulong)addr, 2 * 4096, 3 * 4096, Syscalls.MREMAP_MAYMOVE));
            }
        }
    }

    [Fact]
    public void CmaHeapReleaseWhileVmappedWarnsAndUnmaps()
    {
        using var m = new Machine("dma_heap=cma cma=16M", heap: "reserved");
        var warnings = m.Get<Warnings>();
        int fd = m.AllocFd(4096);
        var buf = m.Buf(fd);
        var b = (CmaHeapBuffer)buf.Priv;
        Assert.Equal(0, buf.Vmap(out var map));
        Assert.Equal(1, b.VmapCnt);
        Assert.Equal(b.Pages, m.Get<Vmalloc>().FindVmArea(map.Vaddr)!.Pages);
        // Release with the kernel mapping still there (the exporter's own check, bypassing dma_buf_vunmap).
        CmaHeap.Release(buf);
        Assert.Contains(warnings.Records, w => w.Condition.Contains("buffer still mapped in the kernel", StringComparison.Ordinal));
        Assert.Null(m.Get<Vmalloc>().FindVmArea(map.Vaddr));
    }

    [Theory]
    [InlineData("cma_heap_allocate:kzalloc")]
    [InlineData("cma_heap_allocate:kmalloc_array")]
    [InlineData("cma_alloc:alloc_contig_range")]
    [InlineData("dma_buf_export:kzalloc")]
    public void CmaHeapAllocationFailuresReleaseTheRange(string site)
    {
        using var m = new Machine("dma_heap=cma cma=16M", heap: "reserved");
        var cma = m.Get<CmaHeap>().Cma!;
        var inject = new FaultInject();
        using var scope = inject.Activate();
        inject.FailSite(site);
        Assert.Equal(-(long)Errno.ENOMEM, m.Alloc(8 * 4096));
        Assert.Equal(0UL, cma.UsedPages);
    }

    [Fact]
    public void AttachFailuresAreEnomem()
    {
        using var m = new Machine("dma_heap cma=16M");
        int sys = m.AllocFd(4096);
        int cmaHeap = m.P.Openat("/dev/dma_heap/reserved", OpenFlags.O_RDONLY);
        var b = DmaHeapUapi.Alloc(4096, OpenFlags.O_RDWR);
        Assert.Equal(0, m.P.Ioctl(cmaHeap, DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC, new UserArg(0x1000, b)));
        int cfd = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        var dev = m.Get<DmaMapping>().CreateDevice("imp");
        var inject = new FaultInject();
        using var scope = inject.Activate();
        foreach (var (fd, site) in new[] { (sys, "system_heap_attach:kzalloc"), (sys, "dup_sg_table:kzalloc"), (sys, "sg_kmalloc"),
                     (cfd, "cma_heap_attach:kzalloc"), (cfd, "get_next_sg:sg_kmalloc") })
        {
            inject.FailSite(site);
            var (at, err) = m.Buf(fd).Attach(dev);
            Assert.Null(at);
            Assert.Equal(-(int)Errno.ENOMEM, err);
            Assert.Empty(m.Buf(fd).Attachments);
        }
    }
}
