// Models the machine's RAM as the CPU and devices see it (physical addresses, struct page frames):
// a sparse store where a page costs host memory only once it was written (Linux 6.1 RAM semantics).
using System.Runtime.CompilerServices;
using Sim.Core.Boot;
using Sim.Core.Lib;

namespace Sim.Core.Mm;

/// <summary>
/// The one small interface behind which the bytes of RAM live (a dictionary of 4 KiB pages today; a shared
/// sparse memory file later). A page that was never written reads as zeros and costs nothing.
/// </summary>
public interface IPhysicalPageStore
{
    /// <summary>The bytes of frame <paramref name="pfn"/> if it was ever materialised, else an empty span (zeros).</summary>
    ReadOnlySpan<byte> TryGetPage(ulong pfn);

    /// <summary>The bytes of frame <paramref name="pfn"/> for writing (materialised zeroed on first use).</summary>
    Span<byte> GetPageForWrite(ulong pfn);

    /// <summary>
    /// The bytes of frame <paramref name="pfn"/> for a write of the whole frame: the caller overwrites all 4096 bytes
    /// before anything reads them, so a new frame need not be zeroed first, nor a shared one copied.
    /// </summary>
    Span<byte> GetPageForOverwrite(ulong pfn) => GetPageForWrite(pfn);

    /// <summary>Forgets frame <paramref name="pfn"/>: it reads as zeros again and costs no host memory.</summary>
    void Discard(ulong pfn);

    /// <summary>Frames currently materialised.</summary>
    long MaterialisedPages { get; }

    /// <summary>Makes frame <paramref name="dstPfn"/> a copy of frame <paramref name="srcPfn"/> (a never-written source forgets the destination).</summary>
    void CopyPage(ulong dstPfn, ulong srcPfn)
    {
        var src = TryGetPage(srcPfn);
        if (src.IsEmpty)
        {
            Discard(dstPfn);
        }
        else if (dstPfn != srcPfn)
        {
            src.CopyTo(GetPageForWrite(dstPfn));
        }
    }
}

/// <summary>
/// The default store: one 4 KiB array per written frame. A whole-frame copy (<see cref="CopyPage"/>: the swiotlb
/// bounce, a page migration) shares the source's array until either frame is written (copy on write), and
/// frames forgotten by <see cref="Discard"/> keep their arrays on a short free list for the next first write, so
/// replaying a trace that bounces megabytes costs neither copies nor fresh host memory.
/// </summary>
public sealed class DictionaryPageStore : IPhysicalPageStore
{
    private const int FreeListMax = 256;

    private readonly Dictionary<ulong, Frame> _pages = [];
    private readonly Stack<byte[]> _free = new();

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TryGetPage(ulong pfn) => _pages.TryGetValue(pfn, out var f) ? f.Data.Bytes : ReadOnlySpan<byte>.Empty;

    /// <inheritdoc/>
    public Span<byte> GetPageForWrite(ulong pfn)
    {
        ref var f = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pages, pfn, out bool exists);
        if (!exists)
        {
            f = new Frame(new PageBytes(Rent()));
            return f.Data.Bytes;
        }
        var data = f.Data;
        if (data.Sharers > 1)
        {
            // Copy on write: this frame gets its own array; the others keep the shared one.
            var own = RentDirty();
            data.Bytes.CopyTo(own, 0);
            data.Sharers--;
            f = new Frame(new PageBytes(own));
            return own;
        }
        return data.Bytes;
    }

    /// <inheritdoc/>
    public Span<byte> GetPageForOverwrite(ulong pfn)
    {
        ref var f = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pages, pfn, out bool exists);
        if (!exists)
        {
            f = new Frame(new PageBytes(RentDirty()));
            return f.Data.Bytes;
        }
        var data = f.Data;
        if (data.Sharers > 1)
        {
            data.Sharers--;
            f = new Frame(new PageBytes(RentDirty()));
            return f.Data.Bytes;
        }
        return data.Bytes;
    }

    /// <inheritdoc/>
    public void Discard(ulong pfn)
    {
        if (_pages.Remove(pfn, out var f))
        {
            Release(f.Data);
        }
    }

    /// <inheritdoc/>
    public void CopyPage(ulong dstPfn, ulong srcPfn)
    {
        if (dstPfn == srcPfn)
        {
            return;
        }
        if (!_pages.TryGetValue(srcPfn, out var src))
        {
            Discard(dstPfn);
            return;
        }
        ref var dst = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_pages, dstPfn, out bool exists);
        if (exists)
        {
            if (ReferenceEquals(dst.Data, src.Data))
            {
                return;
            }
            Release(dst.Data);
        }
        src.Data.Sharers++;
        dst = src;
    }

    /// <inheritdoc/>
    public long MaterialisedPages => _pages.Count;

    private void Release(PageBytes data)
    {
        if (--data.Sharers == 0 && _free.Count < FreeListMax)
        {
            _free.Push(data.Bytes);
        }
    }

    private byte[] Rent()
    {
        if (_free.TryPop(out var b))
        {
            Array.Clear(b);
            return b;
        }
        return new byte[Align.PAGE_SIZE];
    }

    private byte[] RentDirty() => _free.TryPop(out var b) ? b : GC.AllocateUninitializedArray<byte>((int)Align.PAGE_SIZE);

    private readonly record struct Frame(PageBytes Data);

    // The bytes of one or more frames that hold equal contents; Sharers counts the frames.
    private sealed class PageBytes(byte[] bytes)
    {
        public byte[] Bytes { get; } = bytes;

        public int Sharers { get; set; } = 1;
    }
}

/// <summary>
/// Physical memory of the machine: RAM from <see cref="Base"/> for <see cref="Size"/> bytes (a few MiB to
/// 1 TiB), byte-addressed by physical address, frames by pfn (<c>page_to_phys</c> = pfn &lt;&lt; PAGE_SHIFT).
/// Reads and writes may cross page boundaries. Accesses outside RAM are simulator bugs (they throw);
/// callers check <see cref="Contains"/> first.
/// </summary>
[Kernel("struct page / phys_addr_t", "include/linux/mm_types.h")]
public sealed class PhysicalMemory : IPageDataAccess
{
    private readonly IPhysicalPageStore _store;

    /// <summary>
    /// Creates RAM for a machine: on x86 it spans up to the end of the e820 RAM (RAM that does not fit below the
    /// PCI hole is relocated to 4 GiB; the page allocator never hands out the hole's frames).
    /// </summary>
    public PhysicalMemory(MachineOptions options, IPhysicalPageStore store)
        : this(options.RamBase, options.Is32Bit ? options.RamBytes : Boot.E820Table.For(options).EndOfRam, store)
    {
    }

    /// <summary>Creates RAM of <paramref name="size"/> bytes at physical <paramref name="physBase"/> (both page aligned).</summary>
    public PhysicalMemory(ulong physBase, ulong size, IPhysicalPageStore? store = null)
    {
        if ((physBase | size) % Align.PAGE_SIZE != 0 || size == 0)
        {
            throw new ArgumentException("RAM base and size must be non-zero page multiples");
        }
        Base = physBase;
        Size = size;
        _store = store ?? new DictionaryPageStore();
    }

    /// <summary>First physical address of RAM.</summary>
    public ulong Base { get; }

    /// <summary>Bytes of RAM.</summary>
    public ulong Size { get; }

    /// <summary>First pfn of RAM (<c>min_low_pfn</c>).</summary>
    public ulong StartPfn => Base >> Align.PAGE_SHIFT;

    /// <summary>One past the last pfn of RAM (<c>max_pfn</c>).</summary>
    public ulong EndPfn => (Base + Size) >> Align.PAGE_SHIFT;

    /// <summary>The backing store.</summary>
    public IPhysicalPageStore Store => _store;

    /// <summary>True when [<paramref name="phys"/>, +<paramref name="length"/>) lies inside RAM.</summary>
    public bool Contains(ulong phys, ulong length) =>
        phys >= Base && length <= Size && phys - Base <= Size - length;

    /// <summary>True when <paramref name="pfn"/> is a frame of RAM (<c>pfn_valid</c>).</summary>
    [Kernel("pfn_valid")]
    public bool PfnValid(ulong pfn) => pfn >= StartPfn && pfn < EndPfn;

    /// <summary>Copies RAM at <paramref name="phys"/> into <paramref name="destination"/>.</summary>
    public void Read(ulong phys, Span<byte> destination)
    {
        Check(phys, (ulong)destination.Length);
        while (!destination.IsEmpty)
        {
            int inPage = (int)(phys & (Align.PAGE_SIZE - 1));
            int n = Math.Min(destination.Length, (int)Align.PAGE_SIZE - inPage);
            var page = _store.TryGetPage(phys >> Align.PAGE_SHIFT);
            if (page.IsEmpty)
            {
                destination[..n].Clear();
            }
            else
            {
                page.Slice(inPage, n).CopyTo(destination);
            }
            destination = destination[n..];
            phys += (ulong)n;
        }
    }

    /// <inheritdoc/>
    void IPageDataAccess.Read(ulong pfn, int offset, Span<byte> destination)
    {
        var page = _store.TryGetPage(pfn);
        if (page.IsEmpty)
        {
            destination.Clear();
        }
        else
        {
            page.Slice(offset, destination.Length).CopyTo(destination);
        }
    }

    /// <inheritdoc/>
    void IPageDataAccess.Write(ulong pfn, int offset, ReadOnlySpan<byte> source) =>
        source.CopyTo((source.Length == (int)Align.PAGE_SIZE ? _store.GetPageForOverwrite(pfn) : _store.GetPageForWrite(pfn)).Slice(offset, source.Length));

    /// <summary>Copies <paramref name="source"/> into RAM at <paramref name="phys"/>.</summary>
    public void Write(ulong phys, ReadOnlySpan<byte> source)
    {
        Check(phys, (ulong)source.Length);
        while (!source.IsEmpty)
        {
            int inPage = (int)(phys & (Align.PAGE_SIZE - 1));
            int n = Math.Min(source.Length, (int)Align.PAGE_SIZE - inPage);
            ulong pfn = phys >> Align.PAGE_SHIFT;
            source[..n].CopyTo((n == (int)Align.PAGE_SIZE ? _store.GetPageForOverwrite(pfn) : _store.GetPageForWrite(pfn)).Slice(inPage, n));
            source = source[n..];
            phys += (ulong)n;
        }
    }

    /// <summary>Sets <paramref name="length"/> bytes at <paramref name="phys"/> to <paramref name="value"/> (zero never materialises a page).</summary>
    public void Fill(ulong phys, ulong length, byte value)
    {
        Check(phys, length);
        while (length > 0)
        {
            ulong pfn = phys >> Align.PAGE_SHIFT;
            int inPage = (int)(phys & (Align.PAGE_SIZE - 1));
            int n = (int)Math.Min(length, Align.PAGE_SIZE - (ulong)inPage);
            if (value == 0 && n == (int)Align.PAGE_SIZE)
            {
                _store.Discard(pfn);
            }
            else if (value != 0 || !_store.TryGetPage(pfn).IsEmpty)
            {
                _store.GetPageForWrite(pfn).Slice(inPage, n).Fill(value);
            }
            length -= (ulong)n;
            phys += (ulong)n;
        }
    }

    /// <summary>Copies RAM to RAM (<c>memcpy</c> between physical ranges; zero pages stay unmaterialised, whole frames are shared until written).</summary>
    public void Copy(ulong dstPhys, ulong srcPhys, ulong length)
    {
        Check(dstPhys, length);
        Check(srcPhys, length);
        while (length > 0)
        {
            int srcIn = (int)(srcPhys & (Align.PAGE_SIZE - 1));
            int dstIn = (int)(dstPhys & (Align.PAGE_SIZE - 1));
            int n = (int)Math.Min(length, Align.PAGE_SIZE - (ulong)Math.Max(srcIn, dstIn));
            ulong srcPfn = srcPhys >> Align.PAGE_SHIFT;
            ulong dstPfn = dstPhys >> Align.PAGE_SHIFT;
            if (n == (int)Align.PAGE_SIZE)
            {
                _store.CopyPage(dstPfn, srcPfn);
            }
            else if (_store.TryGetPage(srcPfn).IsEmpty)
            {
                Fill(dstPhys, (ulong)n, 0);
            }
            else
            {
                // The destination first: a shared frame gets its own array before the source is read.
                var dst = _store.GetPageForWrite(dstPfn).Slice(dstIn, n);
                _store.TryGetPage(srcPfn).Slice(srcIn, n).CopyTo(dst);
            }
            length -= (ulong)n;
            srcPhys += (ulong)n;
            dstPhys += (ulong)n;
        }
    }

    /// <summary>A little-endian u32 at <paramref name="phys"/>.</summary>
    public uint ReadU32(ulong phys)
    {
        Span<byte> b = stackalloc byte[4];
        Read(phys, b);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    /// <summary>Stores a little-endian u32 at <paramref name="phys"/>.</summary>
    public void WriteU32(ulong phys, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Write(phys, b);
    }

    /// <summary><c>clear_page</c> for <paramref name="count"/> frames from <paramref name="pfn"/> (drops their backing).</summary>
    [Kernel("clear_page")]
    public void ZeroPages(ulong pfn, ulong count)
    {
        for (ulong k = 0; k < count; k++)
        {
            _store.Discard(pfn + k);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Check(ulong phys, ulong length)
    {
        if (!Contains(phys, length))
        {
            ThrowOutside(phys, length);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutside(ulong phys, ulong length) =>
        throw new ArgumentOutOfRangeException(nameof(phys), $"physical range 0x{phys:x}+0x{length:x} is outside RAM 0x{Base:x}+0x{Size:x}");
}
