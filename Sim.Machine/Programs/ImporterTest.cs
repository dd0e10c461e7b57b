using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm;
using Sim.Drm.Drivers.Amdgpu;
using Sim.Drm.Uapi;

namespace Sim.Machine;

/// <summary>
/// <c>dmabufsim importer-test [--exporter cma|pages] [--width W --height H --bpp B]</c>: on a freshly booted vexpress
/// board, creates a dumb buffer on the exporter's DRM device (pl111 for <c>cma</c>: one contiguous CMA buffer; the
/// "pages" driver: scattered pages), exports it as a dma-buf and runs the design notes' <c>importer_test2</c>
/// against it, printing its <c>pr_info</c> line (and, for the page-array exporter, the number of entries).
/// </summary>
public static class ImporterTest
{
    /// <summary>What one run of importer_test2 saw.</summary>
    /// <param name="Ret">importer_test2's return value (0 or -errno).</param>
    /// <param name="RegAddr">sg_dma_address of the first entry (as the u32 the module prints).</param>
    /// <param name="RegSize">sg_dma_len of the first entry.</param>
    /// <param name="Nents">Mapped entries of the table.</param>
    public readonly record struct ImporterResult(int Ret, uint RegAddr, uint RegSize, int Nents);

    /// <summary>
    /// Runs the command; 0 on success, 1 when a step failed (the error on <paramref name="stderr"/>). With
    /// <paramref name="json"/>: one summary object instead of the <c>pr_info</c> line
    /// (<c>{"type":"summary","exporter":...,"ret":0,"reg_addr":...,"reg_size":...,"nents":...}</c>, or the failing step).
    /// </summary>
    public static int Run(string exporter, uint width, uint height, uint bpp, TextWriter stdout, TextWriter stderr, bool json = false)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var options = new MachineOptions().ApplyArmBoard();
        bool pages = exporter == "pages";
        if (pages)
        {
            options.AddDrmDevice(AmdgpuDmaBuf.DRIVER_NAME);
        }
        using var machine = Composition.BuildMachine(options);
        var (ret, result, step) = CreateExportImport(machine, pages ? "/dev/dri/card1" : "/dev/dri/card0", width, height, bpp);
        if (ret != 0)
        {
            stderr.Write($"{VerbConventions.Prefix("importer-test")}{step}: {ErrnoNames.Format(ret)}\n");
            if (!pages && ret == -(int)Errno.ENOMEM && CmaNote(machine, width, height, bpp) is { } note)
            {
                stderr.Write($"note: {note}\n");
            }
            if (json)
            {
                stdout.WriteLine(VerbConventions.JsonSummary(0, 1, 0, w =>
                {
                    w.WriteString("exporter", exporter);
                    w.WriteNumber("ret", ret);
                    w.WriteString("step", step);
                    w.WriteString("error", ErrnoNames.Format(ret));
                }));
            }
            return 1;
        }
        if (json)
        {
            stdout.WriteLine(VerbConventions.JsonSummary(1, 0, 0, w =>
            {
                w.WriteString("exporter", exporter);
                w.WriteNumber("ret", 0);
                w.WriteString("reg_addr", string.Create(CultureInfo.InvariantCulture, $"0x{result.RegAddr:x8}"));
                w.WriteString("reg_size", string.Create(CultureInfo.InvariantCulture, $"0x{result.RegSize:x8}"));
                w.WriteNumber("nents", result.Nents);
            }));
            return 0;
        }
        stdout.Write(string.Create(CultureInfo.InvariantCulture, $"reg_addr = 0x{result.RegAddr:x8}, reg_size = 0x{result.RegSize:x8}\n"));
        if (pages)
        {
            stdout.Write(string.Create(CultureInfo.InvariantCulture, $"nents = {result.Nents}\n"));
        }
        return 0;
    }

    /// <summary>
    /// Why CREATE_DUMB on the CMA exporter returned -ENOMEM, in the kernel's terms: the buffer's pages against the CMA
    /// area's (<c>cma_alloc</c> finds no free run of that many pages, or the request is larger than the whole area, which it
    /// refuses before searching); null when the machine has no CMA area.
    /// </summary>
    public static string? CmaNote(ServiceProvider machine, uint width, uint height, uint bpp)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var cma = machine.GetService<DmaContiguous>()?.DefaultArea;
        if (cma is null)
        {
            return null;
        }
        // drm_gem_dma_dumb_create: pitch = DIV_ROUND_UP(width * bpp, 8), size = pitch * height; cma_alloc takes PAGE_ALIGN(size) >> PAGE_SHIFT pages.
        ulong pitch = ((ulong)width * bpp + 7) / 8;
        ulong size = pitch * height;
        ulong pages = (size + 4095) / 4096;
        ulong free = cma.Count - cma.UsedPages;
        string area = string.Create(CultureInfo.InvariantCulture, $"the CMA area \"{cma.Name}\" of {cma.GetSize() >> 20} MiB holds {cma.Count} pages, {free} free");
        return pages > cma.Count
            ? string.Create(CultureInfo.InvariantCulture, $"the buffer needs {pages} contiguous pages ({size} bytes) and {area}: cma_alloc refuses a request larger than the area before searching (mm/cma.c), dma_alloc_wc returns NULL and drm_gem_dma_create fails silently (with drm.debug: \"failed to allocate buffer with size {size}\")")
            : string.Create(CultureInfo.InvariantCulture, $"the buffer needs {pages} contiguous pages ({size} bytes) and {area}: cma_alloc finds no free run that long; drm_gem_dma_create asks with __GFP_NOWARN, so the kernel logs nothing but (with drm.debug) \"failed to allocate buffer with size {size}\"");
    }

    /// <summary>
    /// The user-space and kernel steps on <paramref name="machine"/>: open the DRM node, CREATE_DUMB, export the
    /// object, <see cref="ImporterTest2"/>, then drop the export, close the handle and exit the process.
    /// </summary>
    public static (int Ret, ImporterResult Result, string Step) CreateExportImport(ServiceProvider machine, string node, uint width, uint height, uint bpp)
    {
        ArgumentNullException.ThrowIfNull(machine);
        Composition.Boot(machine);
        var proc = machine.GetRequiredService<ProcessTable>().Spawn("importer-test");
        try
        {
            int fd = proc.Openat(node, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
            if (fd < 0)
            {
                return (fd, default, "open " + node);
            }
            var create = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(create, height);
            BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(4), width);
            BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(8), bpp);
            long r = proc.Ioctl(fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x7ffe0000, create));
            if (r != 0)
            {
                return ((int)r, default, "DRM_IOCTL_MODE_CREATE_DUMB");
            }
            uint handle = BinaryPrimitives.ReadUInt32LittleEndian(create.AsSpan(16));
            // PRIME_HANDLE_TO_FD (DRM_CLOEXEC | DRM_RDWR), then the module's dma_buf_get(fd).
            int primeFd = PrimeHandleToFd(proc, fd, handle);
            if (primeFd < 0)
            {
                return (primeFd, default, "DRM_IOCTL_PRIME_HANDLE_TO_FD");
            }
            var dbList = machine.GetRequiredService<DmaBufList>();
            var (dmabuf, err) = DmaBuf.Get(dbList, proc, primeFd);
            if (dmabuf is null)
            {
                return (err, default, "dma_buf_get");
            }
            var res = ImporterTest2(machine.GetRequiredService<DmaMapping>(), dmabuf);
            dmabuf.Put();
            proc.Close(primeFd);
            var close = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(close, handle);
            proc.Ioctl(fd, DrmH.DRM_IOCTL_GEM_CLOSE, new UserArg(0x7ffe0000, close));
            return (res.Ret, res, "importer_test2");
        }
        finally
        {
            proc.Exit();
        }
    }

    /// <summary><c>DRM_IOCTL_PRIME_HANDLE_TO_FD</c> with DRM_CLOEXEC | DRM_RDWR: the new dma-buf fd or -errno.</summary>
    public static int PrimeHandleToFd(Process proc, int drmFd, uint handle)
    {
        ArgumentNullException.ThrowIfNull(proc);
        var b = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        long r = proc.Ioctl(drmFd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, new UserArg(0x7ffe0000, b));
        return r != 0 ? (int)r : BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8));
    }

    /// <summary>
    /// <c>importer_test2</c> of the design notes: a device named "importer", <c>dma_buf_attach</c>,
    /// <c>dma_buf_map_attachment(DMA_BIDIRECTIONAL)</c>, the first entry's <c>sg_dma_address</c>/<c>sg_dma_len</c>
    /// (the module's <c>pr_info</c>), unmap, detach. The notes <c>kzalloc</c> the device, which in Linux 6.1 leaves it
    /// without <c>dma_mask</c> (the map would WARN and map nothing); the device here has the 32-bit masks a
    /// platform device gets, so the mapping shows the addresses the notes print.
    /// </summary>
    public static ImporterResult ImporterTest2(DmaMapping dma, DmaBuf? dmabuf)
    {
        ArgumentNullException.ThrowIfNull(dma);
        if (dmabuf is null)
        {
            return new(-(int)Errno.EINVAL, 0, 0, 0);
        }
        var dev = new Device("importer")
        {
            DmaMask = DmaAttrs.DMA_BIT_MASK(32),
            CoherentDmaMask = DmaAttrs.DMA_BIT_MASK(32),
            Ops = dma.Path == DmaPath.Iommu ? DmaOps.Iommu : DmaOps.Direct,
        };
        var (attachment, err) = dmabuf.Attach(dev);
        if (attachment is null)
        {
            // pr_err("dma_buf_attach() failed\n");
            return new(err, 0, 0, 0);
        }
        var (table, merr) = DmaBuf.MapAttachmentUnlocked(attachment, DmaDataDirection.DMA_BIDIRECTIONAL);
        if (table is null)
        {
            // pr_err("dma_buf_map_attachment() failed\n");
            dmabuf.Detach(attachment);
            return new(merr, 0, 0, 0);
        }
        ref var sg = ref table.At(table.Sgl);
        uint regAddr = (uint)sg.DmaAddress;
        uint regSize = sg.DmaLength;
        int nents = table.Nents;
        DmaBuf.UnmapAttachmentUnlocked(attachment, table, DmaDataDirection.DMA_BIDIRECTIONAL);
        dmabuf.Detach(attachment);
        return new(0, regAddr, regSize, nents);
    }
}
