// Models drivers/gpu/drm/drm_ioctl.c (Linux 6.1): the core ioctl table, drm_ioctl's decode / permission /
// copy-in / copy-out, and DRM_IOCTL_VERSION.
using System.Runtime.InteropServices;
using System.Text;
using Sim.Core;
using Sim.Core.Fs;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>The DRM ioctl layer.</summary>
[Kernel("drm_ioctl", "drivers/gpu/drm/drm_ioctl.c")]
public static class DrmIoctl
{
    /// <summary>DRM_CORE_IOCTL_COUNT.</summary>
    public const int DRM_CORE_IOCTL_COUNT = 0xD0;

    private static readonly DrmIoctlDesc?[] s_core64 = BuildCore(false);
    private static readonly DrmIoctlDesc?[] s_core32 = BuildCore(true);

    /// <summary>The core table (<c>drm_ioctls</c>) for a 64-bit or 32-bit kernel.</summary>
    public static IReadOnlyList<DrmIoctlDesc?> CoreTable(bool is32) => is32 ? s_core32 : s_core64;

    private static DrmIoctlDesc?[] BuildCore(bool is32)
    {
        var t = new DrmIoctlDesc?[DRM_CORE_IOCTL_COUNT];
        void Def(string name, uint cmd, DrmIoctlFlags flags, DrmIoctlFunc func) => t[Uapi.Ioctl._IOC_NR(cmd)] = new DrmIoctlDesc(name, cmd, flags, func);
        Def("DRM_IOCTL_VERSION", DrmH.DRM_IOCTL_VERSION(is32), DrmIoctlFlags.DRM_RENDER_ALLOW, Version);
        Def("DRM_IOCTL_GEM_CLOSE", DrmH.DRM_IOCTL_GEM_CLOSE, DrmIoctlFlags.DRM_RENDER_ALLOW, DrmGem.CloseIoctl);
        Def("DRM_IOCTL_GEM_FLINK", DrmH.DRM_IOCTL_GEM_FLINK, DrmIoctlFlags.DRM_AUTH, DrmGem.FlinkIoctl);
        Def("DRM_IOCTL_GEM_OPEN", DrmH.DRM_IOCTL_GEM_OPEN, DrmIoctlFlags.DRM_AUTH, DrmGem.OpenIoctl);
        Def("DRM_IOCTL_PRIME_HANDLE_TO_FD", DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, DrmIoctlFlags.DRM_RENDER_ALLOW, DrmPrime.HandleToFdIoctl);
        Def("DRM_IOCTL_PRIME_FD_TO_HANDLE", DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, DrmIoctlFlags.DRM_RENDER_ALLOW, DrmPrime.FdToHandleIoctl);
        Def("DRM_IOCTL_MODE_CREATE_DUMB", DrmH.DRM_IOCTL_MODE_CREATE_DUMB, DrmIoctlFlags.None, DrmDumbBuffers.CreateDumbIoctl);
        Def("DRM_IOCTL_MODE_MAP_DUMB", DrmH.DRM_IOCTL_MODE_MAP_DUMB, DrmIoctlFlags.None, DrmDumbBuffers.MmapDumbIoctl);
        Def("DRM_IOCTL_MODE_DESTROY_DUMB", DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, DrmIoctlFlags.None, DrmDumbBuffers.DestroyDumbIoctl);
        return t;
    }

    /// <summary>
    /// <c>drm_ioctl</c>: type 'd' or <c>-ENOTTY</c>; core (nr &lt; 0x40) or driver (0x40..0x9f) table, an empty
    /// slot <c>-EINVAL</c>; copy in <c>_IOC_SIZE(cmd)</c> bytes when both the request and the table say IOC_IN,
    /// zero the rest up to the kernel's struct size, run the handler (after the permission check), and copy
    /// <c>_IOC_SIZE(cmd)</c> bytes back when both say IOC_OUT, even when the handler failed.
    /// </summary>
    [Kernel("drm_ioctl", "drivers/gpu/drm/drm_ioctl.c")]
    public static long Ioctl(KernelFile filp, uint cmd, UserArg arg, Sim.Core.Kernel.Process? current = null)
    {
        if (filp.PrivateData is not DrmFile filePriv)
        {
            return -(long)Errno.ENODEV;
        }
        var dev = filePriv.Dev;
        uint nr = Uapi.Ioctl._IOC_NR(cmd);
        if (Uapi.Ioctl._IOC_TYPE(cmd) != DrmH.DRM_IOCTL_BASE)
        {
            return -(long)Errno.ENOTTY;
        }
        DrmIoctlDesc? ioctl;
        if (nr >= DrmH.DRM_COMMAND_BASE && nr < DrmH.DRM_COMMAND_END)
        {
            uint index = nr - DrmH.DRM_COMMAND_BASE;
            if (index >= dev.Driver.Ioctls.Count)
            {
                return -(long)Errno.EINVAL;
            }
            ioctl = dev.Driver.Ioctls[(int)index];
        }
        else
        {
            if (nr >= DRM_CORE_IOCTL_COUNT)
            {
                return -(long)Errno.EINVAL;
            }
            ioctl = CoreTable(dev.Is32Bit)[(int)nr];
        }
        if (ioctl?.Func is null)
        {
            return -(long)Errno.EINVAL;
        }
        uint drvSize = Uapi.Ioctl._IOC_SIZE(ioctl.Cmd);
        uint inSize = Uapi.Ioctl._IOC_SIZE(cmd);
        uint outSize = inSize;
        if ((cmd & ioctl.Cmd & Uapi.Ioctl.IOC_IN) == 0)
        {
            inSize = 0;
        }
        if ((cmd & ioctl.Cmd & Uapi.Ioctl.IOC_OUT) == 0)
        {
            outSize = 0;
        }
        uint ksize = Math.Max(Math.Max(inSize, outSize), drvSize);
        // Room for the driver's struct even when the request is shorter (MemoryMarshal.AsRef needs it).
        var kdata = new byte[Math.Max(ksize, 64)];
        if (arg.CopyFromUser(kdata.AsSpan(0, (int)inSize)) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var outer = filePriv.Current;
        filePriv.Current = current;
        long retcode;
        try
        {
            retcode = IoctlKernel(filePriv, ioctl, kdata, arg);
        }
        finally
        {
            filePriv.Current = outer;
        }
        if (arg.CopyToUser(kdata.AsSpan(0, (int)outSize)) != 0)
        {
            retcode = -(long)Errno.EFAULT;
        }
        return retcode;
    }

    /// <summary><c>drm_ioctl_kernel</c>: the permission check, then the handler.</summary>
    [Kernel("drm_ioctl_kernel", "drivers/gpu/drm/drm_ioctl.c")]
    public static int IoctlKernel(DrmFile file, DrmIoctlDesc ioctl, Span<byte> kdata, UserArg? user = null)
    {
        int ret = Permit(ioctl.Flags, file);
        if (ret != 0)
        {
            return ret;
        }
        file.UserArg = user;
        try
        {
            return ioctl.Func!(file.Dev, kdata, file);
        }
        finally
        {
            file.UserArg = null;
        }
    }

    /// <summary><c>drm_ioctl_permit</c>: ROOT_ONLY (root here), AUTH, MASTER (a primary client of root is master), RENDER_ALLOW.</summary>
    [Kernel("drm_ioctl_permit", "drivers/gpu/drm/drm_ioctl.c")]
    public static int Permit(DrmIoctlFlags flags, DrmFile file)
    {
        if ((flags & DrmIoctlFlags.DRM_ROOT_ONLY) != 0 && !file.Authenticated)
        {
            return -(int)Errno.EACCES;
        }
        if ((flags & DrmIoctlFlags.DRM_AUTH) != 0 && !file.IsRenderClient && !file.Authenticated)
        {
            return -(int)Errno.EACCES;
        }
        if ((flags & DrmIoctlFlags.DRM_MASTER) != 0 && !file.IsPrimaryClient)
        {
            return -(int)Errno.EACCES;
        }
        if ((flags & DrmIoctlFlags.DRM_RENDER_ALLOW) == 0 && file.IsRenderClient)
        {
            return -(int)Errno.EACCES;
        }
        return 0;
    }

    /// <summary>
    /// <c>drm_copy_field</c>: copies at most <paramref name="bufLen"/> bytes of <paramref name="value"/> (no NUL) to
    /// the user buffer and reports the full length in <paramref name="bufLen"/>.
    /// </summary>
    [Kernel("drm_copy_field", "drivers/gpu/drm/drm_ioctl.c")]
    public static int CopyField(UserArg? user, ulong buf, ref ulong bufLen, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        ulong len = (ulong)bytes.Length;
        if (len > bufLen)
        {
            len = bufLen;
        }
        bufLen = (ulong)bytes.Length;
        if (len != 0 && buf != 0)
        {
            if (user is null || user.CopyToUserAt(buf, bytes.AsSpan(0, (int)len)) != 0)
            {
                return -(int)Errno.EFAULT;
            }
        }
        return 0;
    }

    /// <summary><c>drm_version</c>: the driver's version numbers, name, date and description.</summary>
    [Kernel("drm_version", "drivers/gpu/drm/drm_ioctl.c")]
    public static int Version(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        var d = dev.Driver;
        if (dev.Is32Bit)
        {
            ref var v32 = ref MemoryMarshal.AsRef<drm_version32>(data);
            v32.version_major = d.Major;
            v32.version_minor = d.Minor;
            v32.version_patchlevel = d.Patchlevel;
            ulong n = v32.name_len, dt = v32.date_len, ds = v32.desc_len;
            int e = CopyField(file.UserArg, v32.name, ref n, d.Name);
            v32.name_len = (uint)n;
            if (e == 0)
            {
                e = CopyField(file.UserArg, v32.date, ref dt, d.Date);
                v32.date_len = (uint)dt;
            }
            if (e == 0)
            {
                e = CopyField(file.UserArg, v32.desc, ref ds, d.Desc);
                v32.desc_len = (uint)ds;
            }
            return e;
        }
        ref var v = ref MemoryMarshal.AsRef<drm_version>(data);
        v.version_major = d.Major;
        v.version_minor = d.Minor;
        v.version_patchlevel = d.Patchlevel;
        int err = CopyField(file.UserArg, v.name, ref v.name_len, d.Name);
        if (err == 0)
        {
            err = CopyField(file.UserArg, v.date, ref v.date_len, d.Date);
        }
        if (err == 0)
        {
            err = CopyField(file.UserArg, v.desc, ref v.desc_len, d.Desc);
        }
        return err;
    }
}
