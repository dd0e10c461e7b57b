// Models drivers/gpu/drm/drm_vma_manager.c (Linux 6.1): fake mmap offsets for GEM objects, in page units, and
// the per-file access list of each offset node.
using Sim.Core;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_vma_offset_node</c>: an object's fake offset range and the DRM files allowed to mmap it
/// (<c>vm_files</c>, each with a count of its handles).
/// </summary>
[Kernel("struct drm_vma_offset_node", "include/drm/drm_vma_manager.h")]
public sealed class DrmVmaOffsetNode
{
    private readonly Dictionary<DrmFile, int> _files = [];

    /// <summary>The GEM object this node belongs to (container_of), or null for a range held by an object the model does not have.</summary>
    public DrmGemObject? Owner { get; init; }

    /// <summary>The range in the offset space (page units).</summary>
    public DrmMmNode VmNode { get; } = new();

    /// <summary><c>drm_vma_node_start</c>: first page (0 when not allocated).</summary>
    public ulong Start => VmNode.Allocated ? VmNode.Start : 0;

    /// <summary><c>drm_vma_node_size</c>: pages (0 when not allocated).</summary>
    public ulong Size => VmNode.Allocated ? VmNode.Size : 0;

    /// <summary><c>drm_vma_node_has_offset</c>.</summary>
    public bool HasOffset => VmNode.Allocated;

    /// <summary><c>drm_vma_node_offset_addr</c>: the byte offset user space passes to mmap.</summary>
    public ulong OffsetAddr => Start << 12;

    /// <summary><c>drm_vma_node_allow</c>: adds <paramref name="tag"/> (or counts it once more); 0.</summary>
    [Kernel("drm_vma_node_allow", "drivers/gpu/drm/drm_vma_manager.c")]
    public int Allow(DrmFile tag)
    {
        _files[tag] = _files.GetValueOrDefault(tag) + 1;
        return 0;
    }

    /// <summary><c>drm_vma_node_revoke</c>: drops one count of <paramref name="tag"/>.</summary>
    [Kernel("drm_vma_node_revoke", "drivers/gpu/drm/drm_vma_manager.c")]
    public void Revoke(DrmFile tag)
    {
        if (_files.TryGetValue(tag, out int n))
        {
            if (n <= 1)
            {
                _files.Remove(tag);
            }
            else
            {
                _files[tag] = n - 1;
            }
        }
    }

    /// <summary><c>drm_vma_node_is_allowed</c>.</summary>
    [Kernel("drm_vma_node_is_allowed", "drivers/gpu/drm/drm_vma_manager.c")]
    public bool IsAllowed(DrmFile tag) => _files.ContainsKey(tag);
}

/// <summary><c>struct drm_vma_offset_manager</c>: the device's fake offset space (a <see cref="DrmMm"/> in pages).</summary>
[Kernel("struct drm_vma_offset_manager", "drivers/gpu/drm/drm_vma_manager.c")]
public sealed class DrmVmaOffsetManager
{
    private readonly DrmMm _mm;
    private readonly Dictionary<DrmMmNode, DrmVmaOffsetNode> _byNode = [];

    /// <summary><c>drm_vma_offset_manager_init(mgr, page_offset, size)</c>.</summary>
    [Kernel("drm_vma_offset_manager_init", "drivers/gpu/drm/drm_vma_manager.c")]
    public DrmVmaOffsetManager(ulong pageOffset, ulong size)
    {
        _mm = new DrmMm(pageOffset, size);
    }

    /// <summary>
    /// <c>drm_vma_offset_add</c>: gives <paramref name="node"/> <paramref name="pages"/> pages unless it already
    /// has an offset; 0 or <c>-ENOSPC</c>.
    /// </summary>
    [Kernel("drm_vma_offset_add", "drivers/gpu/drm/drm_vma_manager.c")]
    public int Add(DrmVmaOffsetNode node, ulong pages)
    {
        if (node.VmNode.Allocated)
        {
            return 0;
        }
        int ret = _mm.InsertNode(node.VmNode, pages);
        if (ret == 0)
        {
            _byNode[node.VmNode] = node;
        }
        return ret;
    }

    /// <summary>Reserves an exact range (an offset taken by a kernel-internal object before the trace starts).</summary>
    public int Reserve(DrmVmaOffsetNode node, ulong startPage, ulong pages)
    {
        int ret = _mm.ReserveNode(node.VmNode, startPage, pages);
        if (ret == 0)
        {
            _byNode[node.VmNode] = node;
        }
        return ret;
    }

    /// <summary><c>drm_vma_offset_remove</c>: frees the node's range (no-op when it has none).</summary>
    [Kernel("drm_vma_offset_remove", "drivers/gpu/drm/drm_vma_manager.c")]
    public void Remove(DrmVmaOffsetNode node)
    {
        if (node.VmNode.Allocated)
        {
            _byNode.Remove(node.VmNode);
            _mm.RemoveNode(node.VmNode);
        }
    }

    /// <summary>
    /// <c>drm_vma_offset_exact_lookup_locked(mgr, start, pages)</c>: the node found by
    /// <see cref="Lookup"/> if it starts exactly at <paramref name="start"/>.
    /// </summary>
    [Kernel("drm_vma_offset_exact_lookup_locked", "include/drm/drm_vma_manager.h")]
    public DrmVmaOffsetNode? ExactLookup(ulong start, ulong pages)
    {
        var node = Lookup(start, pages);
        return node is not null && node.Start == start ? node : null;
    }

    /// <summary>
    /// <c>drm_vma_offset_lookup_locked</c>: the node with the highest start &lt;= <paramref name="start"/>, if
    /// [start, start + pages) lies inside it.
    /// </summary>
    [Kernel("drm_vma_offset_lookup_locked", "drivers/gpu/drm/drm_vma_manager.c")]
    public DrmVmaOffsetNode? Lookup(ulong start, ulong pages)
    {
        DrmVmaOffsetNode? best = null;
        foreach (var n in _byNode.Values)
        {
            if (n.Start <= start && (best is null || n.Start > best.Start))
            {
                best = n;
            }
        }
        if (best is not null)
        {
            ulong offset = best.Start + best.Size;
            if (start + pages > offset)
            {
                return null;
            }
        }
        return best;
    }
}
