// Models the memory of a chained sg_table's chunks: sg_kmalloc and sg_kfree of lib/scatterlist.c (Linux 6.1).
using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Sim.Core.Debug;

namespace Sim.Core.Lib;

/// <summary>
/// The chunks of one chained <c>struct sg_table</c>, in native memory as the kernel has them: a full chunk
/// (<see cref="SgTable.SG_MAX_SINGLE_ALLOC"/> slots, exactly one page) is a page of its own, page aligned, as
/// <c>sg_kmalloc</c> takes it from <c>__get_free_page</c>; a shorter one is a <c>kmalloc_array</c> of 32-byte slots
/// (cache-line aligned here, as kmalloc's size classes of 64 bytes and up are). A chunk is identified by its number
/// here (a chain slot's <c>page_link</c> holds that number, the simulator's pointer; the list order is the chain's,
/// not this numbering). <see cref="SgTable.Free"/> (<c>sg_free_table</c>) frees every chunk (<c>sg_kfree</c>); a
/// table whose chunks become unreachable without it is a leak: the finaliser frees the memory and records each chunk
/// in <see cref="FinaliserLeaks"/> as <see cref="LeakType"/>. Tables that share the chunks (a umem's view of the
/// mapped table) share this object; freeing through one frees them for all, and any later access is a
/// use-after-free, reported as a <see cref="KernelBugException"/> instead of touching freed memory.
/// </summary>
[Kernel("sg_kmalloc", "lib/scatterlist.c")]
public sealed unsafe class SgChunks : IReadOnlyList<SgChunk>
{
    /// <summary>The <see cref="FinaliserLeaks"/> type of a chunk freed by the finaliser instead of <c>sg_free_table</c>.</summary>
    public const string LeakType = "sg_kmalloc";

    /// <summary>Bytes of one slot (<c>sizeof(struct scatterlist)</c> on x86-64).</summary>
    public const int SlotSize = 32;

    private const int PageSize = (int)Align.PAGE_SIZE;
    private const int KmallocAlign = 64;

    private nint[] _ptr;
    private int[] _len;
    private int _count;
    private bool _freed;
    private bool _finalisable;

    /// <summary>An empty set (an unallocated table's); never freed.</summary>
    public static SgChunks Empty { get; } = new();

    /// <summary>A set of no chunks; <see cref="Add"/> or <see cref="Reserve"/> and <see cref="AllocAt"/> fill it.</summary>
    public SgChunks()
    {
        _ptr = [];
        _len = [];
        // Nothing to free yet: the finaliser is armed by the first allocation (empty sets cost the collector nothing).
        GC.SuppressFinalize(this);
    }

    /// <summary>Number of chunks.</summary>
    public int Length => _count;

    /// <inheritdoc/>
    int IReadOnlyCollection<SgChunk>.Count => _count;

    /// <summary>True once <see cref="Free"/> (or the finaliser) released the memory.</summary>
    public bool IsFreed => _freed;

    /// <summary>Chunk <paramref name="k"/>.</summary>
    public SgChunk this[int k]
    {
        get
        {
            CheckChunk(k);
            return new SgChunk(this, k);
        }
    }

    /// <summary>The slots of chunk <paramref name="k"/> (a view of native memory, valid until <see cref="Free"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Span<Scatterlist> Span(int k)
    {
        if (_freed || (uint)k >= (uint)_count)
        {
            CheckChunk(k);
        }
        return new Span<Scatterlist>((void*)_ptr[k], _len[k]);
    }

    /// <summary>The slot <paramref name="index"/> of chunk <paramref name="k"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Scatterlist Slot(int k, int index)
    {
        if (_freed || (uint)k >= (uint)_count)
        {
            CheckChunk(k);
        }
        if ((uint)index >= (uint)_len[k])
        {
            ThrowSlot(k, index);
        }
        return ref ((Scatterlist*)_ptr[k])[index];
    }

    /// <summary>The address of chunk <paramref name="k"/>'s first slot (for tests of the alignment).</summary>
    public nint Address(int k)
    {
        CheckChunk(k);
        return _ptr[k];
    }

    /// <summary>Makes room for <paramref name="count"/> chunks numbered 0 .. count - 1, filled by <see cref="AllocAt"/>.</summary>
    public void Reserve(int count)
    {
        ObjectDisposedException.ThrowIf(_freed, this);
        if (ReferenceEquals(this, Empty))
        {
            throw new InvalidOperationException("the empty chunk set is shared");
        }
        if (_ptr.Length < count)
        {
            Array.Resize(ref _ptr, count);
            Array.Resize(ref _len, count);
        }
        _count = Math.Max(_count, count);
    }

    /// <summary>
    /// <c>sg_kmalloc(nents, gfp)</c> into chunk number <paramref name="k"/> (reserved, not yet allocated): a page for
    /// <see cref="SgTable.SG_MAX_SINGLE_ALLOC"/> slots, else a <c>kmalloc_array</c>; zeroed as <c>sg_init_table</c>
    /// leaves it.
    /// </summary>
    [Kernel("sg_kmalloc", "lib/scatterlist.c")]
    [Kernel("sg_init_table", "lib/scatterlist.c")]
    public void AllocAt(int k, int nents)
    {
        ObjectDisposedException.ThrowIf(_freed, this);
        if ((uint)k >= (uint)_count || _ptr[k] != 0)
        {
            throw new InvalidOperationException($"chunk {k} is not a free reserved number");
        }
        if (nents <= 0 || nents > SgTable.SG_MAX_SINGLE_ALLOC)
        {
            throw new ArgumentOutOfRangeException(nameof(nents), nents, "a chunk holds 1 to SG_MAX_SINGLE_ALLOC slots");
        }
        nuint bytes = (nuint)(nents * SlotSize);
        void* p = nents == SgTable.SG_MAX_SINGLE_ALLOC
            ? (void*)s_freePages.Get()                          // __get_free_page
            : NativeMemory.AlignedAlloc(bytes, KmallocAlign); // kmalloc_array(nents, sizeof(struct scatterlist))
        NativeMemory.Clear(p, bytes);
        _ptr[k] = (nint)p;
        _len[k] = nents;
        if (!_finalisable)
        {
            _finalisable = true;
            GC.ReRegisterForFinalize(this);
        }
    }

    /// <summary><c>sg_kmalloc</c> of a new chunk of <paramref name="nents"/> slots, numbered after the others; returns its number.</summary>
    public int Add(int nents)
    {
        ObjectDisposedException.ThrowIf(_freed, this);
        if (ReferenceEquals(this, Empty))
        {
            throw new InvalidOperationException("the empty chunk set is shared");
        }
        int k = _count;
        if (_ptr.Length <= k)
        {
            // Grow geometrically: an append table adds chunks one at a time.
            int size = Math.Max(4, _ptr.Length * 2);
            Array.Resize(ref _ptr, size);
            Array.Resize(ref _len, size);
        }
        _count = k + 1;
        AllocAt(k, nents);
        return k;
    }

    /// <summary>
    /// <c>sg_kfree</c> of every chunk (what <c>__sg_free_table</c> does along the chain): the memory goes back, the set
    /// is empty and marked freed, so that a table still pointing here fails loudly. Freeing twice does nothing.
    /// </summary>
    [Kernel("sg_kfree", "lib/scatterlist.c")]
    public void Free()
    {
        if (_freed || ReferenceEquals(this, Empty))
        {
            return;
        }
        Release(leaked: false);
        GC.SuppressFinalize(this);
    }

    /// <summary>The finaliser: the table was dropped without <c>sg_free_table</c>. Frees the memory and records the leak.</summary>
    ~SgChunks()
    {
        if (!_freed)
        {
            Release(leaked: true);
        }
    }

    private void Release(bool leaked)
    {
        _freed = true;
        for (int k = 0; k < _count; k++)
        {
            if (_ptr[k] != 0)
            {
                if (_len[k] == SgTable.SG_MAX_SINGLE_ALLOC)
                {
                    s_freePages.Put(_ptr[k]); // free_page
                }
                else
                {
                    NativeMemory.AlignedFree((void*)_ptr[k]); // kfree
                }
                if (leaked)
                {
                    FinaliserLeaks.Record(LeakType, _len[k] == SgTable.SG_MAX_SINGLE_ALLOC ? PageSize : _len[k] * SlotSize);
                }
                _ptr[k] = 0;
            }
        }
        _count = 0;
    }

    /// <summary>Managed copies of every chunk's slots.</summary>
    public IEnumerator<SgChunk> GetEnumerator()
    {
        for (int k = 0; k < _count; k++)
        {
            yield return this[k];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void CheckChunk(int k)
    {
        if (_freed)
        {
            throw new KernelBugException("use-after-free: a scatterlist chunk read after sg_free_table freed it");
        }
        if ((uint)k >= (uint)_count || _ptr[k] == 0)
        {
            throw new IndexOutOfRangeException($"scatterlist chunk {k} does not exist ({_count} chunks)");
        }
    }

    [DoesNotReturn]
    private static void ThrowSlot(int k, int index) =>
        throw new IndexOutOfRangeException($"slot {index} is outside scatterlist chunk {k}");

    /// <summary>
    /// The pages <c>__get_free_page</c> hands out for full chunks: like the kernel's page allocator, a pool of page
    /// frames carved from large page-aligned blocks (512 pages, 2 MiB, <see cref="NativeMemory.AlignedAlloc"/>), so
    /// that chunks are pages of one dense region, as the kernel's are in its direct map, not pages scattered over the
    /// C heap with an allocator header between them. A freed page goes back to the pool (LIFO, as the per-CPU page
    /// lists reuse the hottest page first); the blocks stay for the life of the process. Thread safe (the finaliser
    /// frees pages too).
    /// </summary>
    [Kernel("__get_free_pages", "mm/page_alloc.c")]
    private sealed class PagePool
    {
        private const int BlockPages = 512;
        private readonly Lock _lock = new();
        private nint[] _free = new nint[256];
        private int _freeCount;
        private nint _next;
        private int _left;

        public nint Get()
        {
            lock (_lock)
            {
                if (_freeCount > 0)
                {
                    return _free[--_freeCount];
                }
                if (_left == 0)
                {
                    _next = (nint)NativeMemory.AlignedAlloc((nuint)BlockPages * PageSize, (nuint)BlockPages * PageSize);
                    _left = BlockPages;
                }
                nint p = _next;
                _next += PageSize;
                _left--;
                return p;
            }
        }

        [Kernel("free_pages", "mm/page_alloc.c")]
        public void Put(nint page)
        {
            lock (_lock)
            {
                if (_freeCount == _free.Length)
                {
                    Array.Resize(ref _free, _free.Length * 2);
                }
                _free[_freeCount++] = page;
            }
        }
    }

    // Process-wide by nature, like the kernel's page allocator: no machine reads another's state through it, it only
    // reuses page frames another table freed (zeroed again on allocation).
    private static readonly PagePool s_freePages = new();
}

/// <summary>One chunk of an <see cref="SgChunks"/>: a run of slots in native memory.</summary>
public readonly struct SgChunk : IEquatable<SgChunk>
{
    private readonly SgChunks _owner;
    private readonly int _k;

    internal SgChunk(SgChunks owner, int k)
    {
        _owner = owner;
        _k = k;
    }

    /// <summary>Slots in the chunk.</summary>
    public int Length => _owner.Span(_k).Length;

    /// <summary>Slot <paramref name="index"/>.</summary>
    public ref Scatterlist this[int index] => ref _owner.Slot(_k, index);

    /// <summary>The slots.</summary>
    public Span<Scatterlist> AsSpan() => _owner.Span(_k);

    /// <summary>The slots from <paramref name="start"/>.</summary>
    public Span<Scatterlist> AsSpan(int start) => _owner.Span(_k)[start..];

    /// <summary>The slots [start, start + length).</summary>
    public Span<Scatterlist> AsSpan(int start, int length) => _owner.Span(_k).Slice(start, length);

    /// <summary>A managed copy of the slots (what <c>Array.Clone</c> gave when chunks were managed arrays).</summary>
    public Scatterlist[] Clone() => _owner.Span(_k).ToArray();

    /// <inheritdoc/>
    public bool Equals(SgChunk other) => ReferenceEquals(_owner, other._owner) && _k == other._k;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is SgChunk c && Equals(c);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_owner, _k);

    /// <summary>Same chunk.</summary>
    public static bool operator ==(SgChunk a, SgChunk b) => a.Equals(b);

    /// <summary>Not the same chunk.</summary>
    public static bool operator !=(SgChunk a, SgChunk b) => !a.Equals(b);
}
