using Sim.DmaBufs;
using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Drm;
using Sim.Drm.Uapi;
using Sim.Machine;
using Sim.RdmaUmem;
using static Sim.Teaching.MachineFigures;

namespace Sim.Teaching;

/// <summary>The tour's step 8: the teardown.</summary>
public sealed partial class Tour
{
    // ---- 8. teardown -----------------------------------------------------------------------------------------------

    private TourStep Teardown()
    {
        var step = new TourStep(8, "Teardown in the kernel's order");
        var order = new List<string>();
        Traced(step, () =>
        {
            if (_umem is not null)
            {
                step.Via("ib_umem_release", "ib_umem_dmabuf_release", "ib_umem_dmabuf_unmap_pages", "dma_buf_unmap_attachment", "dma_buf_detach", "dma_buf_put");
                IbUmem.Release(_umem.Umem);
                order.Add("ib_umem_release: ib_umem_dmabuf_release unmaps the pages (restoring the trim), detaches and drops its dma_buf_get reference");
                _umem = null;
            }
            if (_importerRef is not null)
            {
                step.Via("dma_buf_put");
                _importerRef.Put();
                order.Add("importer module: dma_buf_put of its dma_buf_get reference");
                _importerRef = null;
            }
            if (_proc is not null)
            {
                if (_mapAddr != 0)
                {
                    step.Via("do_munmap", "drm_gem_vm_close");
                    _proc.Munmap(_mapAddr, _objSize);
                    order.Add("munmap of the CPU mapping (drops its GEM object reference)");
                    _mapAddr = 0;
                }
                if (_dmabufFd >= 0)
                {
                    step.Via("close_fd");
                    _proc.Close(_dmabufFd);
                    order.Add($"close(fd {_dmabufFd}): the dma-buf lives on in the PRIME cache of the handle");
                    _dmabufFd = -1;
                }
                if (_handle != 0)
                {
                    var destroy = new byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(destroy, _handle);
                    step.Via("drm_mode_destroy_dumb_ioctl", "drm_gem_handle_delete", "drm_prime_remove_buf_handle", "dma_buf_release",
                        "drm_gem_dmabuf_release", "drm_gem_object_free");
                    step.Via(_dmaHelper ? ["drm_gem_dma_free", "dma_free_wc", "cma_release"] : ["drm_gem_shmem_free"]);
                    _proc.Ioctl(_drmFd, DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, new UserArg(UserStructAddr, destroy));
                    order.Add(_exported
                        ? "DESTROY_DUMB: the handle goes, its PRIME cache entry drops the last dma-buf reference, the dma-buf's release drops the GEM object, which frees its memory"
                        : "DESTROY_DUMB: the handle drops the last reference of the GEM object, which frees its memory");
                    _handle = 0;
                }
                step.Via("do_exit");
                _proc.Exit();
                order.Add($"exit: close(fd {_drmFd}) of the DRM file");
                _proc = null;
            }
            if (_fence is not null)
            {
                _fence.Put();
                _fence = null;
            }
            return 0;
        });
        for (int k = 0; k < order.Count; k++)
        {
            step.Add($"{k + 1}.", order[k]);
        }
        if (_cma is not null)
        {
            step.Add("CMA", $"{_cma.UsedPages} pages used ({(_cma.UsedPages == _cmaUsedAtBoot ? "as after boot: every page of the buffer is back in the pool" : $"after boot: {_cmaUsedAtBoot}")})");
            step.Figures.Add(CmaStrip(_cma, "CMA area after the teardown", new PageRun(0, _cmaUsedAtBoot, "atomic pool")));
        }
        if (_machine.GetService<Shmem>() is { } shmem && !_dmaHelper)
        {
            step.Add("shmem pages", $"{shmem.PagesInUse} in use{(shmem.PagesInUse == 0 ? ": every page of the buffer went back to the page allocator" : "")}");
        }
        int live = _live.Count();
        step.Add("live objects", $"{live} (after boot: {_liveAtBoot}){(live == _liveAtBoot ? ": nothing leaked" : "")}");
        if (live != _liveAtBoot)
        {
            foreach (var o in _live.Alive().Skip(_liveAtBoot).Take(8))
            {
                step.Add("still alive", $"{o.Type}: {o.Description}");
            }
        }
        return step;
    }
}
