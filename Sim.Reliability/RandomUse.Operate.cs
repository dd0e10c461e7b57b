using System.Buffers.Binary;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Sim.DmaBuf.Uapi;
using Sim.Drm;
using Sim.Drm.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>One random user call of <see cref="RandomUse"/>, with its model updated.</summary>
public sealed partial class RandomUse
{
    private void Operate(Proc pr)
    {
        int op = _rng.Next(100);
        var p = pr.P;
        if (op < 8)
        {
            _op = "open";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int card = _rng.Next(_cards + 3);
            string path = card < _cards ? $"/dev/dri/card{card}"
                : card == _cards && !Arm ? "/dev/kvmfr0"
                : card == _cards + 1 ? (Arm && _rng.Next(2) == 0 ? "/dev/dma_heap/reserved" : "/dev/dma_heap/system")
                : "/dev/dri/card9";
            int r = p.Openat(path, OpenFlags.O_RDWR | (_rng.Next(2) == 0 ? OpenFlags.O_CLOEXEC : 0));
            if (path == "/dev/dri/card9" && r != -(int)Errno.ENOENT)
            {
                Violation($"open {path} returned {r}, expected -ENOENT");
            }
            NewFd(pr, r, "open");
        }
        else if (op < 14)
        {
            _op = "close";
            int fd = RandomFd(pr);
            int r = p.Close(fd);
            _lastOk = r == 0;
            int want = pr.Fds.ContainsKey(fd) ? 0 : -(int)Errno.EBADF;
            if (r != want)
            {
                Violation($"close({fd}) returned {r}, expected {want}");
            }
            ForgetFd(pr, fd);
        }
        else if (op < 17)
        {
            _op = "dup";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int fd = RandomFd(pr);
            int r = p.Dup(fd);
            if (!pr.Fds.ContainsKey(fd) && r != -(int)Errno.EBADF)
            {
                Violation($"dup({fd}) of a closed fd returned {r}");
            }
            NewFd(pr, r, "dup");
        }
        else if (op < 32)
        {
            _op = "MODE_CREATE_DUMB";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            var b = new byte[32];
            bool valid = _rng.Next(6) != 0;
            uint w = valid ? (uint)_rng.Next(1, 200) : (uint)_rng.NextInt64(0, 1L << 32);
            uint h = valid ? (uint)_rng.Next(1, 100) : (uint)_rng.NextInt64(0, 1L << 32);
            uint bpp = valid ? (uint)(8 << _rng.Next(3)) : (uint)_rng.Next(0, 70);
            uint flags = _rng.Next(10) == 0 ? (uint)_rng.Next() : 0;
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), w);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), bpp);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), flags);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b);
            if (m is null && r >= 0)
            {
                Violation($"CREATE_DUMB on fd {fd} (not a DRM file) returned {r}");
            }
            if (r == 0 && m is not null)
            {
                NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)), "CREATE_DUMB", mayExist: false);
            }
            else if (valid && flags == 0 && m is not null && r != 0 && IsVgem(pr, fd))
            {
                Violation($"CREATE_DUMB {w}x{h}x{bpp} returned {r}");
            }
            else if (r != 0 && m is not null && r != -(long)Errno.EINVAL && r != -(long)Errno.ENOMEM)
            {
                Violation($"CREATE_DUMB {w}x{h}x{bpp} flags 0x{flags:x} returned {r}, not 0, -EINVAL or -ENOMEM");
            }
        }
        else if (op < 40)
        {
            bool destroy = _rng.Next(2) == 0;
            _op = destroy ? "MODE_DESTROY_DUMB" : "GEM_CLOSE";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            var b = new byte[destroy ? 4 : 8];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, destroy ? DrmH.DRM_IOCTL_MODE_DESTROY_DUMB : DrmH.DRM_IOCTL_GEM_CLOSE, b);
            if (m is not null)
            {
                long want = m.Handles.Contains(h) ? 0 : -(long)Errno.EINVAL;
                if (r != want)
                {
                    Violation($"{_op}({h}) returned {r}, expected {want}");
                }
                if (r == 0)
                {
                    m.Handles.Remove(h);
                }
            }
        }
        else if (op < 45)
        {
            _op = "GEM_FLINK";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            var b = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_GEM_FLINK, b);
            if (m is not null)
            {
                long want = m.Handles.Contains(h) ? 0 : -(long)Errno.ENOENT;
                if (r != want)
                {
                    Violation($"GEM_FLINK({h}) returned {r}, expected {want}");
                }
                if (r == 0)
                {
                    _names[BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4))] = true;
                }
            }
        }
        else if (op < 50)
        {
            _op = "GEM_OPEN";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            uint name = (uint)_rng.Next(0, 12);
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, name);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_GEM_OPEN, b);
            if (m is not null)
            {
                if (r == 0)
                {
                    if (!_names.ContainsKey(name))
                    {
                        Violation($"GEM_OPEN of name {name}, never handed out, succeeded");
                    }
                    NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)), "GEM_OPEN", mayExist: false);
                }
                else if (r != -(long)Errno.ENOENT)
                {
                    Violation($"GEM_OPEN({name}) returned {r}");
                }
            }
        }
        else if (op < 58)
        {
            _op = "PRIME_HANDLE_TO_FD";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            uint flags = _rng.Next(8) switch { 0 => (uint)_rng.Next(), 1 => 0, 2 => DrmH.DRM_CLOEXEC, _ => DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR };
            var b = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, b);
            if (m is not null && r == 0)
            {
                if (!m.Handles.Contains(h))
                {
                    Violation($"PRIME_HANDLE_TO_FD of unknown handle {h} succeeded");
                }
                NewFd(pr, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)), "PRIME_HANDLE_TO_FD");
            }
            else if (m is not null && m.Handles.Contains(h) && (flags & ~(DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR)) == 0)
            {
                Violation($"PRIME_HANDLE_TO_FD({h}, 0x{flags:x}) returned {r}");
            }
        }
        else if (op < 64)
        {
            _op = "PRIME_FD_TO_HANDLE";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            int dfd = RandomFdOf(pr, drm: false);
            var b = new byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), dfd);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, b);
            if (m is not null && r == 0)
            {
                NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b), "PRIME_FD_TO_HANDLE", mayExist: true);
            }
            if (r == 0 && !pr.Fds.ContainsKey(dfd))
            {
                Violation($"PRIME_FD_TO_HANDLE of closed fd {dfd} succeeded");
            }
        }
        else if (op < 70)
        {
            _op = "MAP_DUMB+mmap";
            int fd = RandomFdOf(pr, drm: true);
            uint h = RandomHandle(pr, fd);
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, b);
            if (r == 0 && pr.Maps.Count < 16)
            {
                ulong off = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
                ulong len = (ulong)_rng.Next(1, 5) * 4096;
                MapInto(pr, fd, len, off);
            }
        }
        else if (op < 74)
        {
            _op = "mmap dma-buf";
            int fd = RandomFdOf(pr, drm: false);
            if (pr.Maps.Count < 16)
            {
                MapInto(pr, fd, (ulong)_rng.Next(1, 5) * 4096, (ulong)_rng.Next(0, 3) * 4096);
            }
        }
        else if (op < 79)
        {
            _op = "munmap";
            if (pr.Maps.Count > 0)
            {
                int i = _rng.Next(pr.Maps.Count);
                var (addr, len) = pr.Maps[i];
                int r = p.Munmap(addr, len);
                _lastOk = r == 0;
                if (r != 0)
                {
                    Violation($"munmap(0x{addr:x}, {len}) returned {r}");
                }
                pr.Maps.RemoveAt(i);
                if (_rng.Next(4) == 0)
                {
                    // Touch another mapping, as a program reads its buffer.
                    if (pr.Maps.Count > 0)
                    {
                        Span<byte> one = stackalloc byte[1];
                        _ = p.Load(pr.Maps[0].Addr, one);
                    }
                }
            }
        }
        else if (op < 85)
        {
            _op = "DMA_BUF_IOCTL_SYNC";
            int fd = RandomFdOf(pr, drm: false);
            ulong flags = _rng.Next(6) == 0 ? (ulong)_rng.NextInt64() : (ulong)_rng.Next(0, 8);
            var b = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, flags);
            bool onHeap = pr.Fds.TryGetValue(fd, out var hf) && hf.PrivateData is Sim.DmaBuf.DmaHeap;
            int lowest = LowestFreeFd(pr);
            if (onHeap && pr.Fds.Count >= MaxFds)
            {
                return;
            }
            long r = Ioctl(pr, fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, b);
            if (onHeap)
            {
                // DMA_BUF_IOCTL_SYNC is _IOW('b', 0, 8 bytes): on a heap, nr 0 is DMA_HEAP_IOCTL_ALLOC. The 8 bytes
                // are the struct's len (the sync flags), the rest zero; with no IOC_OUT the new fd is installed at
                // the lowest free number but not copied back. A non-zero len allocates (0 is -EINVAL).
                long want = flags == 0 || flags > ulong.MaxValue - 4095 ? -(long)Errno.EINVAL : 0;
                if (r != want && !(want == 0 && r == -(long)Errno.ENOMEM))
                {
                    Violation($"DMA_BUF_IOCTL_SYNC(0x{flags:x}) on a heap returned {r}, expected {want}");
                }
                if (r == 0)
                {
                    NewFd(pr, lowest, "DMA_BUF_IOCTL_SYNC on a heap (DMA_HEAP_IOCTL_ALLOC)");
                }
                return;
            }
            bool isDmaBuf = pr.Fds.TryGetValue(fd, out var f) && Sim.DmaBuf.DmaBuf.IsDmaBufFile(f);
            if (isDmaBuf)
            {
                bool ok = (flags & ~DmaBufUapi.DMA_BUF_SYNC_VALID_FLAGS_MASK) == 0 && (flags & DmaBufUapi.DMA_BUF_SYNC_RW) != 0;
                if (!ok && r != -(long)Errno.EINVAL)
                {
                    Violation($"DMA_BUF_IOCTL_SYNC(0x{flags:x}) returned {r}, expected -EINVAL");
                }
            }
        }
        else if (op < 88)
        {
            _op = "lseek/fstat";
            int fd = RandomFdOf(pr, drm: false);
            long r = p.Lseek(fd, 0, 2);
            var (rs, st) = p.Fstat(fd);
            _lastOk = r >= 0 && rs == 0;
            if (pr.Fds.TryGetValue(fd, out var f) && Sim.DmaBuf.DmaBuf.IsDmaBufFile(f) && (r != st.Size || rs != 0))
            {
                Violation($"lseek(SEEK_END) of a dma-buf returned {r}, fstat size {st.Size}");
            }
        }
        else if (op < 93)
        {
            _op = "VGEM_FENCE_ATTACH/SIGNAL";
            int fd = RandomFdOf(pr, drm: true);
            if (_rng.Next(2) == 0)
            {
                var b = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(b, RandomHandle(pr, fd));
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), _rng.Next(6) == 0 ? (uint)_rng.Next() : (uint)_rng.Next(2));
                _ = Ioctl(pr, fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, b);
            }
            else
            {
                var b = new byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)_rng.Next(0, 6));
                _ = Ioctl(pr, fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, b);
            }
        }
        else if (op < 95)
        {
            _op = "DMA_HEAP_IOCTL_ALLOC";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int fd = RandomFdOf(pr, drm: false);
            bool isHeap = pr.Fds.TryGetValue(fd, out var hf) && hf.PrivateData is Sim.DmaBuf.DmaHeap;
            bool valid = _rng.Next(6) != 0;
            ulong len = _rng.Next(4) switch
            {
                0 => (ulong)_rng.Next(1, 1 << 21),
                1 => (ulong)_rng.Next(1, 300) * 4096,
                _ => (ulong)_rng.Next(1, 17) * 4096,
            };
            uint fdFlags = OpenFlags.O_RDWR | (_rng.Next(2) == 0 ? OpenFlags.O_CLOEXEC : 0);
            ulong heapFlags = 0;
            uint inFd = 0;
            if (!valid)
            {
                switch (_rng.Next(4))
                {
                    case 0:
                        len = 0;
                        break;
                    case 1:
                        fdFlags |= 1u << _rng.Next(2, 31);
                        if ((fdFlags & ~DmaHeapUapi.DMA_HEAP_VALID_FD_FLAGS) == 0)
                        {
                            fdFlags |= 0x800;
                        }
                        break;
                    case 2:
                        heapFlags = 1UL << _rng.Next(64);
                        break;
                    default:
                        inFd = (uint)_rng.Next(1, 100);
                        break;
                }
            }
            var b = DmaHeapUapi.Alloc(len, fdFlags, heapFlags, inFd);
            long r = Ioctl(pr, fd, DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC, b);
            if (isHeap && !valid && r != -(long)Errno.EINVAL)
            {
                Violation($"DMA_HEAP_IOCTL_ALLOC(len {len}, fd_flags 0x{fdFlags:x}, heap_flags 0x{heapFlags:x}, fd {inFd}) returned {r}, expected -EINVAL");
            }
            if (isHeap && valid && r != 0 && r != -(long)Errno.ENOMEM)
            {
                Violation($"DMA_HEAP_IOCTL_ALLOC(len {len}) on {hf!.Name} returned {r}");
            }
            if (isHeap && r == 0)
            {
                NewFd(pr, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8)), "DMA_HEAP_IOCTL_ALLOC");
            }
        }
        else if (op < 97 && !Arm)
        {
            _op = "KVMFR_DMABUF_CREATE/GETSIZE";
            int fd = RandomFdOf(pr, drm: false);
            bool isKvmfr = pr.Fds.TryGetValue(fd, out var kf) && kf.Name.Contains("kvmfr", StringComparison.Ordinal);
            if (_rng.Next(3) == 0)
            {
                long size = Ioctl(pr, fd, Sim.DmaBuf.Kvmfr.KvmfrUapi.KVMFR_DMABUF_GETSIZE, new byte[8]);
                if (isKvmfr && size != 4L << 20)
                {
                    Violation($"KVMFR_DMABUF_GETSIZE returned {size}, the device has 4 MiB");
                }
                return;
            }
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            ulong offset = _rng.Next(8) == 0 ? (ulong)_rng.NextInt64() : (ulong)_rng.Next(0, 1100) * 4096;
            // Size 0 is left out: kvmfr accepts it and the import then reads pages[0] of a ZERO_SIZE_PTR array in
            // sg_alloc_table_from_pages (an oops in Linux 6.1), which the simulator does not model.
            ulong len = _rng.Next(8) == 0 ? (ulong)_rng.Next(1, int.MaxValue) : (ulong)_rng.Next(1, 64) * 4096;
            var create = new Sim.DmaBuf.Kvmfr.kvmfr_dmabuf_create { flags = (byte)_rng.Next(2), offset = offset, size = len };
            long r = Ioctl(pr, fd, Sim.DmaBuf.Kvmfr.KvmfrUapi.KVMFR_DMABUF_CREATE, create.ToBytes());
            if (isKvmfr)
            {
                bool ok = len != 0 && offset % 4096 == 0 && len % 4096 == 0 && offset + len >= offset && offset + len <= 4UL << 20;
                if (ok && r < 0)
                {
                    Violation($"KVMFR_DMABUF_CREATE(offset 0x{offset:x}, size 0x{len:x}) returned {r}");
                }
                if (!ok && len != 0 && r >= 0)
                {
                    Violation($"KVMFR_DMABUF_CREATE(offset 0x{offset:x}, size 0x{len:x}) out of range returned fd {r}");
                }
            }
            NewFd(pr, r, "KVMFR_DMABUF_CREATE");
        }
        else if (op < 98)
        {
            _op = "random ioctl";
            int fd = RandomFd(pr);
            uint cmd = RandomCmd();
            if ((cmd & 0xff) == 0 && pr.Fds.TryGetValue(fd, out var rf) && rf.PrivateData is Sim.DmaBuf.DmaHeap)
            {
                cmd |= 1; // every nr-0 ioctl on a heap is DMA_HEAP_IOCTL_ALLOC, which makes a descriptor
            }
            var b = new byte[Math.Max(8, (int)Sim.Drm.Uapi.Ioctl._IOC_SIZE(cmd))];
            _rng.NextBytes(b);
            int before = pr.P.Files.OpenFds().Count();
            _lastOk = pr.P.Ioctl(fd, cmd, new UserArg(0x10000, b)) >= 0;
            if (pr.P.Files.OpenFds().Count() != before)
            {
                Violation($"random ioctl 0x{cmd:x} changed the fd table");
            }
        }
        else
        {
            _op = "exit";
            ExitProcess(Array.IndexOf(_procs, pr));
            _lastOk = true; // exit(2) does not fail
        }
    }
}
