// Models struct vm_area_struct and struct vm_operations_struct (include/linux/mm_types.h, include/linux/mm.h).
using Sim.Core.Fs;

namespace Sim.Core.Mm;

/// <summary><c>struct vm_operations_struct</c>: the driver's hooks on a mapping.</summary>
[Kernel("struct vm_operations_struct", "include/linux/mm.h")]
public interface IVmOperations
{
    /// <summary><c>.open</c>: a copy of the mapping was made (split, fork); drivers take a reference.</summary>
    void Open(Vma vma) { }

    /// <summary><c>.close</c>: the mapping (or a piece of it) goes away; drivers drop their reference.</summary>
    void Close(Vma vma) { }

    /// <summary>
    /// <c>.fault</c> for page <paramref name="pgoff"/> of the file (vma->vm_pgoff + index): the page frame that
    /// backs it, or a negative errno (SIGBUS).
    /// </summary>
    long Fault(Vma vma, ulong pgoff);
}

/// <summary>
/// <c>struct vm_area_struct</c>: one mapping [Start, End) of a process, at file page <see cref="PgOff"/>.
/// It holds a reference to its file (<c>vm_file</c>).
/// </summary>
[Kernel("struct vm_area_struct", "include/linux/mm_types.h")]
public sealed class Vma
{
    /// <summary>VM_READ.</summary>
    public const ulong VM_READ = 0x1;
    /// <summary>VM_WRITE.</summary>
    public const ulong VM_WRITE = 0x2;
    /// <summary>VM_EXEC.</summary>
    public const ulong VM_EXEC = 0x4;
    /// <summary>VM_SHARED.</summary>
    public const ulong VM_SHARED = 0x8;
    /// <summary>VM_MAYREAD.</summary>
    public const ulong VM_MAYREAD = 0x10;
    /// <summary>VM_MAYWRITE.</summary>
    public const ulong VM_MAYWRITE = 0x20;
    /// <summary>VM_MAYEXEC.</summary>
    public const ulong VM_MAYEXEC = 0x40;
    /// <summary>VM_MAYSHARE.</summary>
    public const ulong VM_MAYSHARE = 0x80;
    /// <summary>VM_PFNMAP.</summary>
    public const ulong VM_PFNMAP = 0x400;
    /// <summary>VM_GROWSDOWN.</summary>
    public const ulong VM_GROWSDOWN = 0x100;
    /// <summary>VM_IO.</summary>
    public const ulong VM_IO = 0x4000;
    /// <summary>VM_DONTCOPY.</summary>
    public const ulong VM_DONTCOPY = 0x20000;
    /// <summary>VM_DONTEXPAND.</summary>
    public const ulong VM_DONTEXPAND = 0x40000;
    /// <summary>VM_HUGETLB.</summary>
    public const ulong VM_HUGETLB = 0x00400000;
    /// <summary>VM_DONTDUMP.</summary>
    public const ulong VM_DONTDUMP = 0x4000000;
    /// <summary>VM_MIXEDMAP.</summary>
    public const ulong VM_MIXEDMAP = 0x10000000;

    internal Dictionary<ulong, byte[]>? CowPages;

    /// <summary>Creates a mapping description (not yet inserted into an mm).</summary>
    public Vma(ulong start, ulong end, ulong pgoff, ulong flags, KernelFile? file)
    {
        Start = start;
        End = end;
        PgOff = pgoff;
        Flags = flags;
        File = file;
    }

    /// <summary><c>vm_start</c>.</summary>
    public ulong Start { get; internal set; }

    /// <summary><c>vm_end</c> (exclusive).</summary>
    public ulong End { get; internal set; }

    /// <summary><c>vm_pgoff</c>: the file page at <see cref="Start"/>.</summary>
    public ulong PgOff { get; set; }

    /// <summary><c>vm_flags</c>.</summary>
    public ulong Flags { get; set; }

    /// <summary><c>vm_file</c> (a reference is held while the mapping exists).</summary>
    public KernelFile? File { get; set; }

    /// <summary><c>vm_ops</c>.</summary>
    public IVmOperations? Ops { get; set; }

    /// <summary><c>vm_private_data</c>.</summary>
    public object? PrivateData { get; set; }

    /// <summary>The user call that made this mapping (with <c>--check</c>; pieces of a split keep it).</summary>
    public Debug.CallOrigin Origin { get; set; }

    /// <summary>True for a copy <c>dup_mmap</c> made at fork (the program of this process did not map it).</summary>
    public bool Inherited { get; set; }

    /// <summary>Length in bytes.</summary>
    public ulong Length => End - Start;

    /// <summary>Length in pages (<c>vma_pages</c>).</summary>
    public ulong Pages => (End - Start) >> 12;

    /// <summary>True for a MAP_SHARED mapping.</summary>
    public bool Shared => (Flags & VM_SHARED) != 0 || (Flags & VM_MAYSHARE) != 0;

    /// <inheritdoc/>
    public override string ToString() => $"[0x{Start:x}, 0x{End:x}) pgoff 0x{PgOff:x} {File?.Name}";
}
