using System.Buffers.Binary;
using System.Text;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Core.Userspace;
using Sim.DmaBufs.Kvmfr;

namespace Sim.Machine;

/// <summary>
/// <c>dmabufsim kvmfr-test [--static-size-mb LIST]</c>: loads kvmfr on a fresh machine (with that parameter, or
/// none), makes <c>/dev/kvmfr0</c> like <c>mknod /dev/kvmfr0 c MAJOR 0</c>, and runs Looking Glass's
/// <c>module/test.c</c> as a simulated program, printing what it prints on a terminal and exiting as it exits.
/// </summary>
public static class KvmfrTest
{
    private const int PageSize = 4096;


    /// <summary>
    /// <c>--json</c>: runs the test and prints one summary object instead of its output
    /// (<c>{"passed":1,"failed":0,"skipped":0,"type":"summary","exit":0,"stdout":[..],"stderr":[..]}</c>); returns its exit status.
    /// </summary>
    public static int RunJson(string? staticSizeMb, TextWriter stdout)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        var o = new StringWriter();
        var e = new StringWriter();
        int status = Run(staticSizeMb, o, e);
        stdout.WriteLine(VerbConventions.JsonSummary(status == 0 ? 1 : 0, status == 0 ? 0 : 1, 0, w =>
        {
            w.WriteNumber("exit", status);
            w.WriteString("static_size_mb", staticSizeMb);
            foreach (var (name, text) in new[] { ("stdout", o.ToString()), ("stderr", e.ToString()) })
            {
                w.WriteStartArray(name);
                foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    w.WriteStringValue(line);
                }
                w.WriteEndArray();
            }
        }));
        return status;
    }

    /// <summary>Runs the test; returns its exit status (0, or 255 for test.c's <c>return -1</c>).</summary>
    public static int Run(string? staticSizeMb, TextWriter stdout, TextWriter stderr)
    {
        using var machine = Composition.BuildMachine(new MachineOptions());
        return Run(machine, staticSizeMb, stdout, stderr);
    }

    /// <summary>Runs the test program on an already built <paramref name="machine"/> (the failure sweep arms its injector first).</summary>
    public static int Run(IServiceProvider machine, string? staticSizeMb, TextWriter stdout, TextWriter stderr)
    {
        var loader = (ModuleLoader)machine.GetService(typeof(ModuleLoader))!;
        var vfs = (Vfs)machine.GetService(typeof(Vfs))!;
        var current = (CurrentTask)machine.GetService(typeof(CurrentTask))!;
        var image = (KvmfrModuleImage)machine.GetService(typeof(KvmfrModuleImage))!;
        var busybox = (Busybox)machine.GetService(typeof(Busybox))!;
        var (status, output) = busybox.Exec("insmod /mods/kvmfr.ko" + (staticSizeMb is null ? "" : " static_size_mb=" + staticSizeMb));
        if (status != 0 || image.Loaded is null)
        {
            stderr.Write(output);
            return status == 0 ? 1 : status;
        }
        // mknod /dev/kvmfr0 c MAJOR 0 (only where the module's devtmpfs node does not exist already).
        if (vfs.Lookup("/dev/kvmfr0") is null)
        {
            vfs.Mknod("/dev/kvmfr0", 0x1a4, (uint)image.Loaded.Major, 0);
        }
        var proc = ((ProcessTable)machine.GetService(typeof(ProcessTable))!).Spawn("test");
        using var _ = current.Enter(proc);
        // stdout is line-buffered on a terminal, stderr unbuffered: both reach the terminal in call order.
        int ret = TestMain(proc, stdout, stderr);
        proc.Exit();
        return ret & 0xff;
    }

    // module/test.c main(), call by call.
    private static int TestMain(Process p, TextWriter stdout, TextWriter stderr)
    {
        int fd = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        if (fd < 0)
        {
            Perror(stderr, "open", fd);
            return -1;
        }
        ulong size = unchecked((ulong)Syscall(p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_GETSIZE, new UserArg(0))));
        stdout.Write($"Size: {size / 1024 / 1024} MiB\n");
        var create = new kvmfr_dmabuf_create { flags = KvmfrUapi.KVMFR_DMABUF_FLAG_CLOEXEC, offset = 0, size = size };
        long dmaFd = p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x7ffc0000, create.ToBytes()));
        if (dmaFd < 0)
        {
            Perror(stderr, "ioctl", dmaFd);
            return -1;
        }
        long mem = p.Mmap(create.size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, (int)dmaFd, 0);
        if (mem < 0)
        {
            Perror(stderr, "mmap on dmabuf with no offset", mem);
            return -1;
        }
        var fill = new byte[create.size];
        Array.Fill(fill, (byte)0xAA);
        p.Store((ulong)mem, fill);
        p.Store((ulong)mem + PageSize, Encoding.ASCII.GetBytes("Hello, world!\0"));
        p.Munmap((ulong)mem, create.size);

        mem = p.Mmap(PageSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, (int)dmaFd, PageSize);
        if (mem < 0)
        {
            Perror(stderr, "mmap on dmabuf with offset", mem);
            return -1;
        }
        stdout.Write($"Read string: {CString(p, (ulong)mem)}\n");
        p.Munmap((ulong)mem, PageSize);
        p.Close((int)dmaFd);

        create.offset = PageSize;
        create.size = 2 * PageSize;
        dmaFd = p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x7ffc0000, create.ToBytes()));
        mem = p.Mmap(create.size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, (int)dmaFd, 0);
        if (mem < 0)
        {
            Perror(stderr, "mmap on offset dmabuf with no offset", mem);
            return -1;
        }
        stdout.Write($"Read string: {CString(p, (ulong)mem)}\n");
        p.Munmap((ulong)mem, create.size);

        long bytes = p.Mmap(PageSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, (int)dmaFd, PageSize);
        if (bytes < 0)
        {
            Perror(stderr, "mmap on offset dmabuf with offset", bytes);
            return -1;
        }
        var page = new byte[PageSize];
        p.Load((ulong)bytes, page);
        for (int i = 0; i < PageSize; i++)
        {
            if (page[i] != 0xAA)
            {
                // (unsigned) of a signed char: sign-extended, printed with %02x.
                stdout.Write($"Index: {i}: 0x{unchecked((uint)(sbyte)page[i]):x2}\n");
            }
        }
        p.Munmap((ulong)mem, PageSize); // test.c unmaps the stale 2-page address, not `bytes`
        p.Close((int)dmaFd);

        mem = p.Mmap(PageSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, PageSize);
        if (mem < 0)
        {
            Perror(stderr, "mmap on file with offset", mem);
            return -1;
        }
        stdout.Write($"Read string: {CString(p, (ulong)mem)}\n");
        p.Munmap((ulong)mem, PageSize);

        long data = p.Mmap(create.size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        if (data < 0)
        {
            Perror(stderr, "mmap on file with no offset", data);
            return -1;
        }
        var words = new byte[create.size];
        p.Load((ulong)data, words);
        for (ulong i = 0; i < create.size / 4; i++)
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(words.AsSpan((int)(i * 4)));
            if (v != 0xAAAAAAAA)
            {
                stdout.Write($"Index {i}: 0x{v:x8}\n");
            }
        }
        p.Munmap((ulong)data, create.size);
        p.Close(fd);
        return 0;
    }

    // libc's syscall wrapper: a negative errno becomes -1 (errno set).
    private static long Syscall(long ret) => ret < 0 ? -1 : ret;

    private static void Perror(TextWriter stderr, string what, long err) =>
        stderr.Write($"{what}: {Busybox.StrError((int)-err)}\n");

    private static string CString(Process p, ulong addr)
    {
        var sb = new StringBuilder();
        Span<byte> b = stackalloc byte[1];
        while (p.Load(addr++, b) == 0 && b[0] != 0)
        {
            sb.Append((char)b[0]);
        }
        return sb.ToString();
    }
}
