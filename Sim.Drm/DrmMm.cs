// Models drivers/gpu/drm/drm_mm.c (Linux 6.1): the range allocator behind the fake mmap offsets, with the
// DRM_MM_INSERT_BEST policy that drm_mm_insert_node uses.
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary><c>struct drm_mm_node</c>: an allocated range [Start, Start + Size).</summary>
[Kernel("struct drm_mm_node", "include/drm/drm_mm.h")]
public sealed class DrmMmNode
{
    /// <summary><c>start</c>.</summary>
    public ulong Start { get; internal set; }
    /// <summary><c>size</c>.</summary>
    public ulong Size { get; internal set; }
    /// <summary><c>drm_mm_node_allocated</c>.</summary>
    public bool Allocated { get; internal set; }
    // The hole after this node (hole_size), and when it was last put into the hole-size tree.
    internal ulong HoleSize;
    internal long HoleSeq;
}

/// <summary>
/// <c>struct drm_mm</c>: nodes in address order; each node owns the hole that follows it. Best fit takes the
/// smallest hole that fits; among equal sizes the hole inserted into the size tree last wins (equal keys go
/// right in <c>insert_hole_size</c> and <c>best_hole</c> keeps walking right). The node is placed at the
/// hole's start (no alignment, no colouring).
/// </summary>
[Kernel("struct drm_mm", "drivers/gpu/drm/drm_mm.c")]
public sealed class DrmMm
{
    private readonly List<DrmMmNode> _nodes = []; // address order, _nodes[0] = head_node
    private long _seq;

    /// <summary><c>drm_mm_init(mm, start, size)</c>.</summary>
    [Kernel("drm_mm_init", "drivers/gpu/drm/drm_mm.c")]
    public DrmMm(ulong start, ulong size)
    {
        // head_node sits at start + size with size -size so that its hole wraps to [start, start + size).
        var head = new DrmMmNode { Start = start + size, Size = unchecked(0 - size), Allocated = true };
        _nodes.Add(head);
        AddHole(head, size);
        RangeStart = start;
    }

    /// <summary>Start of the managed range.</summary>
    public ulong RangeStart { get; }

    private static ulong HoleStart(DrmMmNode n) => unchecked(n.Start + n.Size);

    private void AddHole(DrmMmNode n, ulong size)
    {
        n.HoleSize = size;
        n.HoleSeq = size != 0 ? ++_seq : 0;
    }

    /// <summary>
    /// <c>drm_mm_insert_node(mm, node, size)</c> (DRM_MM_INSERT_BEST, alignment 0): 0 or <c>-ENOSPC</c>.
    /// </summary>
    [Kernel("drm_mm_insert_node_in_range", "drivers/gpu/drm/drm_mm.c")]
    public int InsertNode(DrmMmNode node, ulong size)
    {
        if (size == 0)
        {
            return -(int)Errno.ENOSPC;
        }
        int best = -1;
        for (int k = 0; k < _nodes.Count; k++)
        {
            var h = _nodes[k];
            if (h.HoleSize < size)
            {
                continue;
            }
            if (best < 0 || h.HoleSize < _nodes[best].HoleSize ||
                (h.HoleSize == _nodes[best].HoleSize && h.HoleSeq > _nodes[best].HoleSeq))
            {
                best = k;
            }
        }
        if (best < 0)
        {
            return -(int)Errno.ENOSPC;
        }
        var hole = _nodes[best];
        ulong holeStart = HoleStart(hole);
        ulong holeSize = hole.HoleSize;
        node.Start = holeStart;
        node.Size = size;
        node.Allocated = true;
        _nodes.Insert(best + 1, node);
        // rm_hole(hole); the leading part is empty (adj_start == hole_start); add_hole(node) for the rest.
        AddHole(hole, 0);
        AddHole(node, holeSize - size);
        return 0;
    }

    /// <summary><c>drm_mm_reserve_node</c>: takes exactly [node.Start, node.Start + size); <c>-ENOSPC</c> if not free.</summary>
    [Kernel("drm_mm_reserve_node", "drivers/gpu/drm/drm_mm.c")]
    public int ReserveNode(DrmMmNode node, ulong start, ulong size)
    {
        for (int k = 0; k < _nodes.Count; k++)
        {
            var h = _nodes[k];
            ulong hs = HoleStart(h);
            if (h.HoleSize == 0 || start < hs || start - hs > h.HoleSize || size > h.HoleSize - (start - hs))
            {
                continue;
            }
            ulong holeEnd = hs + h.HoleSize;
            node.Start = start;
            node.Size = size;
            node.Allocated = true;
            _nodes.Insert(k + 1, node);
            AddHole(h, start - hs);
            AddHole(node, holeEnd - (start + size));
            return 0;
        }
        return -(int)Errno.ENOSPC;
    }

    /// <summary><c>drm_mm_remove_node</c>: the node's hole merges into its predecessor's (re-inserted).</summary>
    [Kernel("drm_mm_remove_node", "drivers/gpu/drm/drm_mm.c")]
    public void RemoveNode(DrmMmNode node)
    {
        int k = _nodes.IndexOf(node);
        if (k <= 0)
        {
            throw new InvalidOperationException("drm_mm_remove_node of a node not in this drm_mm");
        }
        var prev = _nodes[k - 1];
        ulong merged = prev.HoleSize + node.Size + node.HoleSize;
        _nodes.RemoveAt(k);
        node.Allocated = false;
        node.HoleSize = 0;
        AddHole(prev, merged);
    }
}
