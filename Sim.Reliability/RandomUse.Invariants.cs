using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Drm;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>The invariants <see cref="RandomUse"/> checks after every step and at every epoch end.</summary>
public sealed partial class RandomUse
{
    private readonly Dictionary<DrmGemObject, int> _slotCount = [];
    private readonly Dictionary<KernelFile, int> _fdCount = [];
    private readonly HashSet<DrmFile> _seenFiles = [];

    private void CheckStep()
    {
        if (_warnings.Count != _warnSeen)
        {
            for (int k = _warnSeen; k < _warnings.Count; k++)
            {
                Violation($"WARN {_warnings.Records[k].Condition} in {_warnings.Records[k].Function}");
            }
            _warnSeen = _warnings.Count;
        }
        _slotCount.Clear();
        _fdCount.Clear();
        _seenFiles.Clear();
        foreach (var pr in _state.Procs)
        {
            // The model's descriptors are exactly the process's.
            int n = 0;
            foreach (int fd in pr.P.Files.OpenFds())
            {
                n++;
                if (!pr.Fds.TryGetValue(fd, out var mf) || !ReferenceEquals(mf, pr.P.Fget(fd)))
                {
                    Violation($"fd {fd} is open in pid {pr.P.Pid} but not in the model");
                    pr.Fds[fd] = pr.P.Fget(fd)!;
                }
            }
            if (n != pr.Fds.Count)
            {
                Violation($"pid {pr.P.Pid} has {n} fds, the model {pr.Fds.Count}");
            }
            foreach (var f in pr.Fds.Values)
            {
                _fdCount[f] = _fdCount.GetValueOrDefault(f) + 1;
                if (f.PrivateData is DrmFile df && _seenFiles.Add(df))
                {
                    CountSlots(df);
                    if (_state.Drm.TryGetValue(f, out var m) && m.Handles.Count != df.ObjectIdr.Count)
                    {
                        Violation($"drm_file has {df.ObjectIdr.Count} handles, the model {m.Handles.Count}");
                    }
                }
            }
            foreach (var v in pr.P.Mm.Vmas)
            {
                if (v.File?.PrivateData is DrmFile df && _seenFiles.Add(df))
                {
                    CountSlots(df);
                }
            }
        }
        foreach (var (f, count) in _fdCount)
        {
            if (f.Count < count)
            {
                Violation($"file {f} has f_count {f.Count} but {count} descriptors");
            }
        }
        if (_armDma is not null && _cma is not null)
        {
            // The CMA bitmap holds exactly the live DMA buffers' pages (beyond what boot took).
            ulong pages = 0;
            foreach (var (pfn, size) in _armDma.Buffers())
            {
                ulong n = size >> 12;
                pages += n;
                for (ulong k = 0; k < n; k += Math.Max(1, n / 4))
                {
                    if (!_cma.IsAllocated((pfn + k - _cma.BasePfn) >> _cma.OrderPerBit))
                    {
                        Violation($"CMA bitmap: pfn 0x{pfn + k:x} of a live DMA buffer is free");
                        break;
                    }
                }
            }
            // ... and the CMA heap's live buffers.
            foreach (var buf in _machine.GetRequiredService<Sim.DmaBufs.DmaBufList>().Buffers)
            {
                if (buf.Priv is Sim.DmaBufs.Heaps.CmaHeapBuffer hb && !buf.Released)
                {
                    pages += hb.PageCount;
                    if (!_cma.IsAllocated((hb.CmaPages - _cma.BasePfn) >> _cma.OrderPerBit))
                    {
                        Violation($"CMA bitmap: pfn 0x{hb.CmaPages:x} of a live CMA heap buffer is free");
                    }
                }
            }
            if (_cma.UsedPages != _bootCmaUsed + pages)
            {
                Violation($"CMA used {_cma.UsedPages} pages, boot {_bootCmaUsed} + live DMA and heap buffers {pages}");
            }
        }
        bool complete = true;
        foreach (var (obj, slots) in _slotCount)
        {
            // Handles held through drm_files reachable only from other places would be missed: only count when
            // every file holding handles of the object is reachable (always, unless a drm_file lives on in a vma
            // of an exited process, which cannot happen: exit unmaps first).
            if (complete && obj.HandleCount != slots)
            {
                Violation($"gem object of {obj.Size} bytes: handle_count {obj.HandleCount}, {slots} handles name it");
            }
            // drm_gem_object_handle_get: the handles together hold one reference; an exported object's dma-buf
            // holds another (drm_gem_prime_export); an imported object's dma_buf is the exporter's.
            int need = (obj.HandleCount > 0 ? 1 : 0) + (obj.DmaBuf is not null && obj.ImportAttach is null ? 1 : 0);
            if (obj.Refcount < need || obj.Freed)
            {
                Violation($"gem object of {obj.Size} bytes: refcount {obj.Refcount} below handles+export {need} (freed {obj.Freed})");
            }
        }
    }

    private void CountSlots(DrmFile df)
    {
        foreach (var (_, slot) in df.ObjectIdr.Entries())
        {
            if (slot.Obj is { } obj)
            {
                _slotCount[obj] = _slotCount.GetValueOrDefault(obj) + 1;
            }
        }
    }

    /// <summary>Every process exits; nothing may be left alive and every page must be back.</summary>
    public void EndEpoch()
    {
        _op = "epoch end (all processes exit)";
        try
        {
            for (int i = 0; i < _state.Procs.Length; i++)
            {
                _state.ExitProcess(i);
            }
            _state.Names.Clear();
            CheckStep();
            if (_live.Count() != _bootLive)
            {
                foreach (var o in _live.Alive().Skip(_bootLive).Take(5))
                {
                    Violation("leak: " + LeakReport.Describe(o, _processes));
                }
            }
            if (_shmem.PagesInUse != 0)
            {
                Violation($"leak: {_shmem.PagesInUse} shmem pages in use");
            }
            if (_pageAlloc.Meminfo().MemFree != _bootFree)
            {
                Violation($"leak: MemFree {_pageAlloc.Meminfo().MemFree} pages, {_bootFree} at boot");
            }
            if ((_cma?.UsedPages ?? 0) != _bootCmaUsed)
            {
                Violation($"leak: CMA used {_cma!.UsedPages}, {_bootCmaUsed} at boot");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Violation("exception " + e.GetType().Name + ": " + e.Message);
        }
    }
}
