using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// The syscall layer's entries beyond the ones the traces exercise, with the answers of Linux 6.1's fs/file.c
/// (ksys_dup3, __close_range), fs/open.c (do_sys_ftruncate), fs/fcntl.c + mm/memfd.c (memfd_fcntl), mm/mremap.c and
/// fs/exec.c (do_close_on_exec).
/// </summary>
public class SyscallsTests
{
    private sealed class Dev(ulong vmFlags) : IFileOperations, IVmOperations
    {
        public int Releases;

        public void Release(Inode inode, KernelFile file) => Releases++;

        public int Mmap(KernelFile file, Vma vma)
        {
            vma.Flags |= vmFlags;
            vma.Ops = this;
            return 0;
        }

        public long Fault(Vma vma, ulong pgoff) => 0x1000 + (long)pgoff;
    }

    private static (Syscalls Sys, Process P, Dev Dev) Boot(ulong vmFlags = 0)
    {
        var vfs = new Vfs(new CharDevices(), new LiveObjects());
        var dev = new Dev(vmFlags);
        int major = vfs.CharDevices.RegisterChrdev(0, "test", dev);
        Assert.Equal(0, vfs.Mknod("/dev/test0", 0x1b6, (uint)major, 0));
        var options = new MachineOptions();
        var sys = new Syscalls(vfs, new Ktime(), options);
        var p = new ProcessTable(sys, new SparsePageData(), options).Spawn("t");
        return (sys, p, dev);
    }

    [Fact]
    public void Dup2OfItselfReturnsTheFdOnlyWhenOpen()
    {
        var (sys, p, _) = Boot();
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(0, sys.Dup2(p, 0, 0));
        Assert.Equal(-(int)Errno.EBADF, sys.Dup2(p, 5, 5));
    }

    [Fact]
    public void Dup3RejectsEqualFdsAndUnknownFlagsAndClosesWhatNewfdNamed()
    {
        var (sys, p, dev) = Boot();
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(1, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(-(int)Errno.EINVAL, sys.Dup3(p, 0, 0, 0));
        Assert.Equal(-(int)Errno.EINVAL, sys.Dup3(p, 0, 1, OpenFlags.O_NONBLOCK));
        Assert.Equal(-(int)Errno.EBADF, sys.Dup3(p, 7, 1, 0));
        Assert.Equal(-(int)Errno.EBADF, sys.Dup3(p, 0, p.Files.Limit, 0));
        Assert.Equal(1, sys.Dup3(p, 0, 1, OpenFlags.O_CLOEXEC));
        Assert.Equal(1, dev.Releases); // the file fd 1 named had no other reference
        Assert.Equal(Process.FD_CLOEXEC, sys.Fcntl(p, 1, Process.F_GETFD));
        Assert.Equal(0, sys.KcmpFile(p, 0, 1));
    }

    [Fact]
    public void CloseRangeChecksItsArgumentsThenClosesOrMarksCloexec()
    {
        var (sys, p, _) = Boot();
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(k, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        }
        Assert.Equal(-(int)Errno.EINVAL, sys.CloseRange(p, 3, 2, 0));
        Assert.Equal(-(int)Errno.EINVAL, sys.CloseRange(p, 0, 3, 1));
        Assert.Equal(0, sys.CloseRange(p, 2, 3, Syscalls.CLOSE_RANGE_CLOEXEC));
        Assert.Equal(Process.FD_CLOEXEC, sys.Fcntl(p, 3, Process.F_GETFD));
        Assert.Equal(0, sys.CloseRange(p, 1, uint.MaxValue, 0));
        Assert.Equal([0], p.Files.OpenFds());
    }

    [Fact]
    public void FtruncateOfACharDeviceIsEinval()
    {
        var (sys, p, _) = Boot();
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(-(int)Errno.EINVAL, sys.Ftruncate(p, 0, -1));
        Assert.Equal(-(int)Errno.EBADF, sys.Ftruncate(p, 4, 0));
        Assert.Equal(-(int)Errno.EINVAL, sys.Ftruncate(p, 0, 4096));
    }

    [Fact]
    public void SealsOfAFileThatIsNotAMemfdAreEinvalAndMemfdCreateAndForkWithoutAModelAreEnosys()
    {
        var (sys, p, _) = Boot();
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(-(long)Errno.EINVAL, sys.Fcntl(p, 0, Syscalls.F_GET_SEALS));
        Assert.Equal(-(long)Errno.EINVAL, sys.Fcntl(p, 0, Syscalls.F_ADD_SEALS, 1));
        Assert.Equal(-(long)Errno.ENOSYS, sys.MemfdCreate(p, "x", 0));
        Assert.Equal(-(long)Errno.ENOSYS, sys.Fork(p));
    }

    [Fact]
    public void MremapShrinksInPlaceAndWillNotGrowADontexpandMapping()
    {
        var (sys, p, _) = Boot(Vma.VM_DONTEXPAND);
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        long addr = sys.Mmap(p, 4 * 4096, Mman.PROT_READ, Mman.MAP_SHARED, 0, 0);
        Assert.True(addr > 0);
        ulong a = (ulong)addr;
        Assert.Equal(-(long)Errno.EINVAL, sys.Mremap(p, a + 1, 4096, 4096, 0));
        Assert.Equal(-(long)Errno.EINVAL, sys.Mremap(p, a, 4096, 4096, Syscalls.MREMAP_FIXED));
        Assert.Equal(-(long)Errno.EINVAL, sys.Mremap(p, a, 4096, 0, 0));
        Assert.Equal(-(long)Errno.EFAULT, sys.Mremap(p, 0x1000, 4096, 4096, 0));
        Assert.Equal(addr, sys.Mremap(p, a, 4 * 4096, 4 * 4096, 0));
        Assert.Equal(addr, sys.Mremap(p, a, 4 * 4096, 2 * 4096, 0));
        Assert.Equal(-(int)Errno.EFAULT, sys.Load(p, a + 2 * 4096, new byte[4]));
        Assert.Equal(-(long)Errno.EFAULT, sys.Mremap(p, a, 2 * 4096, 8 * 4096, Syscalls.MREMAP_MAYMOVE));
    }

    [Fact]
    public void ExecveDropsTheMappingsAndClosesOnlyTheCloexecFds()
    {
        var (sys, p, _) = Boot();
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(1, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC));
        Assert.True(sys.Mmap(p, 4096, Mman.PROT_READ, Mman.MAP_SHARED, 0, 0) > 0);
        Assert.Equal(-(int)Errno.ENOENT, sys.Execve(p, "/bin/none"));
        Assert.Equal(2, p.Files.OpenFds().Count());
        Assert.Equal(0, sys.Execve(p, "/dev/test0"));
        Assert.Equal([0], p.Files.OpenFds());
        Assert.Empty(p.Mm.Vmas);
    }

    [Fact]
    public void SeqFilesAreReadByPathAndAMissingOneIsEnoent()
    {
        var vfs = new Vfs(new CharDevices(), new LiveObjects());
        var options = new MachineOptions();
        var sys = new Syscalls(vfs, new Ktime(), options, seqFiles: [new SeqFile("/proc/x", () => "hello\n")]);
        var p = new ProcessTable(sys, new SparsePageData(), options).Spawn("t");
        Assert.Equal((0, "hello\n"), sys.ReadSeqFile(p, "/proc/x"));
        Assert.Equal(-(int)Errno.ENOENT, sys.ReadSeqFile(p, "/proc/y").Ret);
    }
}
