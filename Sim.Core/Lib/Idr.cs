// Models lib/idr.c (idr_alloc with a start and an end, lowest free id first).
using Sim.Core.Uapi;

namespace Sim.Core.Lib;

/// <summary>
/// <c>struct idr</c>: maps small integer ids to objects and always hands out the lowest free id at or above
/// the start, as <c>idr_alloc(&amp;idr, ptr, start, end, gfp)</c> does. Handles, minors and flink names are
/// numbered this way, and traces record the numbers.
/// </summary>
[Kernel("idr", "lib/idr.c")]
public sealed class Idr<T> where T : class
{
    // RADIX_TREE_MAP_SHIFT: one leaf node holds 64 slots; an id in a leaf with no entry needs a new node.
    private const int IDR_LEAF_SHIFT = 6;
    private readonly SortedDictionary<int, T> _map = [];
    private readonly Dictionary<int, int> _leaves = [];

    /// <summary>Number of ids in use.</summary>
    public int Count => _map.Count;

    /// <summary>
    /// <c>idr_alloc(idr, ptr, start, end)</c>: the lowest free id in [start, end) (end 0 = no limit, up to
    /// int.MaxValue). Returns the id or <c>-ENOSPC</c> when the range is full.
    /// </summary>
    [Kernel("idr_alloc")]
    public int Alloc(T value, int start, int end = 0)
    {
        long limit = end <= 0 ? (long)int.MaxValue + 1 : end;
        long id = start;
        foreach (int used in _map.Keys)
        {
            if (used < id)
            {
                continue;
            }
            if (used != id)
            {
                break;
            }
            id++;
        }
        if (id >= limit)
        {
            return -(int)Errno.ENOSPC;
        }
        if (!_leaves.ContainsKey((int)(id >> IDR_LEAF_SHIFT)) && IdrFaultSites.RadixTreeNode.ShouldFail())
        {
            return -(int)Errno.ENOMEM; // a new radix_tree_node was needed for this id and could not be allocated
        }
        _leaves[(int)(id >> IDR_LEAF_SHIFT)] = _leaves.GetValueOrDefault((int)(id >> IDR_LEAF_SHIFT)) + 1;
        _map.Add((int)id, value);
        return (int)id;
    }

    /// <summary><c>idr_find</c>: the object at <paramref name="id"/>, or null.</summary>
    [Kernel("idr_find")]
    public T? Find(int id) => _map.TryGetValue(id, out var v) ? v : null;

    /// <summary><c>idr_remove</c>: removes and returns the object, or null.</summary>
    [Kernel("idr_remove")]
    public T? Remove(int id)
    {
        if (!_map.Remove(id, out var v))
        {
            return null;
        }
        int leaf = id >> IDR_LEAF_SHIFT;
        if (--_leaves[leaf] == 0)
        {
            _leaves.Remove(leaf);
        }
        return v;
    }

    /// <summary><c>idr_replace</c>: puts <paramref name="value"/> at an existing id; returns the old one or null.</summary>
    [Kernel("idr_replace")]
    public T? Replace(int id, T value)
    {
        if (!_map.TryGetValue(id, out var old))
        {
            return null;
        }
        _map[id] = value;
        return old;
    }

    /// <summary><c>idr_for_each</c>: ids and objects in ascending id order (a snapshot).</summary>
    public IReadOnlyList<KeyValuePair<int, T>> Entries() => [.. _map];
}

/// <summary>The allocation site of <c>idr_alloc</c> (outside the generic <see cref="Idr{T}"/>, so it is registered once).</summary>
internal static class IdrFaultSites
{
    /// <summary><c>radix_tree_node_alloc</c> under <c>idr_alloc</c>: a new leaf node is needed.</summary>
    public static readonly Debug.FaultSite RadixTreeNode = Debug.FaultSite.Register("idr_alloc:radix_tree_node_alloc");
}
