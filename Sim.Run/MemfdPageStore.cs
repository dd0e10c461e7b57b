// The machine's physical memory in a memfd shared with the real program (dmabufsim run): frame pfn is the page at
// byte offset pfn << PAGE_SHIFT of the file, so the preload library maps exactly the frames the simulated fault
// handlers give, and what the program writes through a mapping is what the models read, and the reverse.
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.Run;

/// <summary>
/// An <see cref="IPhysicalPageStore"/> over a memfd the host maps once (shared, no reserve: tmpfs gives a page
/// only when it is written). A discarded frame becomes a hole again (<c>fallocate(PUNCH_HOLE)</c>), so it reads as
/// zero in the host and in every program mapping, as <c>clear_page</c> leaves it.
/// </summary>
public sealed unsafe class MemfdPageStore : IPhysicalPageStore, IDisposable
{
    private readonly byte* _base;
    private readonly ulong _bytes;
    private bool _disposed;

    /// <summary>Creates the memfd for frames [0, <paramref name="endPfn"/>) and maps it.</summary>
    public MemfdPageStore(ulong endPfn)
    {
        _bytes = endPfn << Align.PAGE_SHIFT;
        // Not close-on-exec: the program inherits it (the preload moves it out of the way of the program's fds).
        Fd = LibC.MemfdCreate("dmabufsim-physmem", 0);
        if (Fd < 0 || LibC.Ftruncate(Fd, (long)_bytes) != 0)
        {
            throw new InvalidOperationException($"memfd for the simulated physical memory: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
        nint p = LibC.Mmap(0, (nuint)_bytes, LibC.PROT_READ | LibC.PROT_WRITE, LibC.MAP_SHARED | LibC.MAP_NORESERVE, Fd, 0);
        if (p == -1)
        {
            throw new InvalidOperationException($"mmap of the simulated physical memory: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
        _base = (byte*)p;
    }

    /// <summary>The memfd (the program maps frames of it).</summary>
    public int Fd { get; }

    /// <summary>One past the last frame.</summary>
    public ulong EndPfn => _bytes >> Align.PAGE_SHIFT;

    /// <inheritdoc/>
    public long MaterialisedPages { get; private set; }

    /// <inheritdoc/>
    public ReadOnlySpan<byte> TryGetPage(ulong pfn) => Page(pfn);

    /// <inheritdoc/>
    public Span<byte> GetPageForWrite(ulong pfn) => Page(pfn);

    /// <inheritdoc/>
    public void Discard(ulong pfn)
    {
        Check(pfn);
        if (LibC.Fallocate(Fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, (long)(pfn << Align.PAGE_SHIFT), (long)Align.PAGE_SIZE) != 0)
        {
            Page(pfn).Clear();
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        LibC.Munmap((nint)_base, (nuint)_bytes);
        LibC.Close(Fd);
    }

    private Span<byte> Page(ulong pfn)
    {
        Check(pfn);
        return new Span<byte>(_base + (pfn << Align.PAGE_SHIFT), (int)Align.PAGE_SIZE);
    }

    private void Check(ulong pfn)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (pfn >= EndPfn)
        {
            throw new ArgumentOutOfRangeException(nameof(pfn), $"pfn 0x{pfn:x} is past the shared physical memory");
        }
    }
}
