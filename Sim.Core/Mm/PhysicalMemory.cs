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

    /// <summary>Forgets frame <paramref name="pfn"/>: it reads as zeros again and costs no host memory.</summary>
    void Discard(ulong pfn);

    /// <summary>Frames currently materialised.</summary>
    long MaterialisedPages { get; }
}

/// <summary>The default store: one 4 KiB array per written frame.</summary>
public sealed class DictionaryPageStore : IPhysicalPageStore
{
    private readonly Dictionary<ulong, byte[]> _pages = [];

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TryGetPage(ulong pfn) => _pages.TryGetValue(pfn, out var p) ? p : ReadOnlySpan<byte>.Empty;

    /// <inheritdoc/>
    public Span<byte> GetPageForWrite(ulong pfn)
    {
        if (!_pages.TryGetValue(pfn, out var p))
        {
            p = new byte[Align.PAGE_SIZE];
            _pages.Add(pfn, p);
        }
        return p;
    }

    /// <inheritdoc/>
    public void Discard(ulong pfn) => _pages.Remove(pfn);

    /// <inheritdoc/>
    public long MaterialisedPages => _pages.Count;
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
        source.CopyTo(_store.GetPageForWrite(pfn).Slice(offset, source.Length));

    /// <summary>Copies <paramref name="source"/> into RAM at <paramref name="phys"/>.</summary>
    public void Write(ulong phys, ReadOnlySpan<byte> source)
    {
        Check(phys, (ulong)source.Length);
        while (!source.IsEmpty)
        {
            int inPage = (int)(phys & (Align.PAGE_SIZE - 1));
            int n = Math.Min(source.Length, (int)Align.PAGE_SIZE - inPage);
            source[..n].CopyTo(_store.GetPageForWrite(phys >> Align.PAGE_SHIFT).Slice(inPage, n));
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

    /// <summary>Copies RAM to RAM (<c>memcpy</c> between physical ranges; zero pages stay unmaterialised where possible).</summary>
    public void Copy(ulong dstPhys, ulong srcPhys, ulong length)
    {
        Check(dstPhys, length);
        Check(srcPhys, length);
        Span<byte> buf = stackalloc byte[(int)Align.PAGE_SIZE];
        while (length > 0)
        {
            int n = (int)Math.Min(length, Align.PAGE_SIZE - Math.Max(srcPhys & (Align.PAGE_SIZE - 1), dstPhys & (Align.PAGE_SIZE - 1)));
            var src = _store.TryGetPage(srcPhys >> Align.PAGE_SHIFT);
            if (src.IsEmpty)
            {
                Fill(dstPhys, (ulong)n, 0);
            }
            else
            {
                Read(srcPhys, buf[..n]);
                Write(dstPhys, buf[..n]);
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
