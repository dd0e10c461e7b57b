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
    /// <summary><c>DRM_CORE_IOCTL_COUNT</c>: <c>ARRAY_SIZE(drm_ioctls)</c>, the last entry being GETFB2 (0xCE).</summary>
    public const int DRM_CORE_IOCTL_COUNT = 0xCF;

    /// <summary><c>DRM_IF_MAJOR</c> (drm_internal.h).</summary>
    public const int DRM_IF_MAJOR = 1;
    /// <summary><c>DRM_IF_MINOR</c>.</summary>
    public const int DRM_IF_MINOR = 4;

    private static readonly DrmIoctlDesc?[] s_core64 = BuildCore(false);
    private static readonly DrmIoctlDesc?[] s_core32 = BuildCore(true);

    /// <summary>The core table (<c>drm_ioctls</c>) for a 64-bit (x86_64) or 32-bit (ARM) kernel.</summary>
    public static IReadOnlyList<DrmIoctlDesc?> CoreTable(bool is32) => is32 ? s_core32 : s_core64;

    /// <summary>
    /// <c>drm_ioctls</c> of Linux 6.1 as Debian builds it: CONFIG_DRM_LEGACY off (every DRM_LEGACY_IOCTL_DEF is
    /// <c>drm_invalid_op</c> with its flags, so the permission check still runs first), the AGP entries only where
    /// CONFIG_AGP exists (x86_64; none on ARM: empty slots, <c>-EINVAL</c> before any check). Struct sizes of
    /// <c>long</c>/pointer members follow the kernel's word size.
    /// </summary>
    private static DrmIoctlDesc?[] BuildCore(bool is32)
    {
        var t = new DrmIoctlDesc?[DRM_CORE_IOCTL_COUNT];
        int l = is32 ? 4 : 8; // sizeof(long), sizeof(void *), sizeof(size_t)
        const DrmIoctlFlags R = DrmIoctlFlags.DRM_RENDER_ALLOW, A = DrmIoctlFlags.DRM_AUTH, M = DrmIoctlFlags.DRM_MASTER,
            Root = DrmIoctlFlags.DRM_ROOT_ONLY, U = DrmIoctlFlags.DRM_UNLOCKED, N = DrmIoctlFlags.None;
        const uint IO = 0, W = 1, RD = 2, WR = 3;
        void Def(string name, uint dir, uint nr, int size, DrmIoctlFlags flags, DrmIoctlFunc func) =>
            t[nr] = new DrmIoctlDesc(name, Uapi.Ioctl._IOC(dir, DrmH.DRM_IOCTL_BASE, nr, (uint)size), flags, func);
        void Legacy(string name, uint dir, uint nr, int size, DrmIoctlFlags flags) => Def(name, dir, nr, size, flags, InvalidOp);
        int drmMap = is32 ? 24 : 40, drmBufDesc = is32 ? 24 : 32, drmDma = is32 ? 40 : 64;
        Def("DRM_IOCTL_VERSION", WR, 0x00, is32 ? 36 : 64, R, Version);
        Def("DRM_IOCTL_GET_UNIQUE", WR, 0x01, 2 * l, N, GetUnique);
        Def("DRM_IOCTL_GET_MAGIC", RD, 0x02, 4, N, DrmAuth.GetMagic);
        Legacy("DRM_IOCTL_IRQ_BUSID", WR, 0x03, 16, M | Root);
        Legacy("DRM_IOCTL_GET_MAP", WR, 0x04, drmMap, N);
        Def("DRM_IOCTL_GET_CLIENT", WR, 0x05, 8 + 4 * l, N, GetClient);
        Def("DRM_IOCTL_GET_STATS", RD, 0x06, l + 15 * 2 * l, N, GetStats);
        Def("DRM_IOCTL_GET_CAP", WR, 0x0c, 16, R, GetCap);
        Def("DRM_IOCTL_SET_CLIENT_CAP", W, 0x0d, 16, N, SetClientCap);
        Def("DRM_IOCTL_SET_VERSION", WR, 0x07, 16, M, SetVersion);
        Def("DRM_IOCTL_SET_UNIQUE", W, 0x10, 2 * l, A | M | Root, InvalidOp);
        Def("DRM_IOCTL_BLOCK", WR, 0x12, 4, A | M | Root, Noop);
        Def("DRM_IOCTL_UNBLOCK", WR, 0x13, 4, A | M | Root, Noop);
        Def("DRM_IOCTL_AUTH_MAGIC", W, 0x11, 4, M, DrmAuth.AuthMagic);
        Legacy("DRM_IOCTL_ADD_MAP", WR, 0x15, drmMap, A | M | Root);
        Legacy("DRM_IOCTL_RM_MAP", W, 0x1b, drmMap, A);
        Legacy("DRM_IOCTL_SET_SAREA_CTX", W, 0x1c, 2 * l, A | M | Root);
        Legacy("DRM_IOCTL_GET_SAREA_CTX", WR, 0x1d, 2 * l, A);
        Def("DRM_IOCTL_SET_MASTER", IO, 0x1e, 0, N, DrmAuth.SetMasterIoctl);
        Def("DRM_IOCTL_DROP_MASTER", IO, 0x1f, 0, N, DrmAuth.DropMasterIoctl);
        Legacy("DRM_IOCTL_ADD_CTX", WR, 0x20, 8, A | Root);
        Legacy("DRM_IOCTL_RM_CTX", WR, 0x21, 8, A | M | Root);
        Legacy("DRM_IOCTL_MOD_CTX", W, 0x22, 8, A | M | Root);
        Legacy("DRM_IOCTL_GET_CTX", WR, 0x23, 8, A);
        Legacy("DRM_IOCTL_SWITCH_CTX", W, 0x24, 8, A | M | Root);
        Legacy("DRM_IOCTL_NEW_CTX", W, 0x25, 8, A | M | Root);
        Legacy("DRM_IOCTL_RES_CTX", WR, 0x26, 2 * l, A);
        Def("DRM_IOCTL_ADD_DRAW", WR, 0x27, 4, A | M | Root, Noop);
        Def("DRM_IOCTL_RM_DRAW", WR, 0x28, 4, A | M | Root, Noop);
        Legacy("DRM_IOCTL_LOCK", W, 0x2a, 8, A);
        Legacy("DRM_IOCTL_UNLOCK", W, 0x2b, 8, A);
        Def("DRM_IOCTL_FINISH", W, 0x2c, 8, A, Noop);
        Legacy("DRM_IOCTL_ADD_BUFS", WR, 0x16, drmBufDesc, A | M | Root);
        Legacy("DRM_IOCTL_MARK_BUFS", W, 0x17, drmBufDesc, A | M | Root);
        Legacy("DRM_IOCTL_INFO_BUFS", WR, 0x18, 2 * l, A);
        Legacy("DRM_IOCTL_MAP_BUFS", WR, 0x19, is32 ? 12 : 24, A);
        Legacy("DRM_IOCTL_FREE_BUFS", W, 0x1a, 2 * l, A);
        Legacy("DRM_IOCTL_DMA", WR, 0x29, drmDma, A);
        Legacy("DRM_IOCTL_CONTROL", W, 0x14, 8, A | M | Root);
        if (!is32)
        {
            // CONFIG_AGP=y on x86_64 (drivers/char/agp depends on X86); ARM has no AGP entries.
            Legacy("DRM_IOCTL_AGP_ACQUIRE", IO, 0x30, 0, A | M | Root);
            Legacy("DRM_IOCTL_AGP_RELEASE", IO, 0x31, 0, A | M | Root);
            Legacy("DRM_IOCTL_AGP_ENABLE", W, 0x32, l, A | M | Root);
            Legacy("DRM_IOCTL_AGP_INFO", RD, 0x33, 56, A);
            Legacy("DRM_IOCTL_AGP_ALLOC", WR, 0x34, 4 * l, A | M | Root);
            Legacy("DRM_IOCTL_AGP_FREE", W, 0x35, 4 * l, A | M | Root);
            Legacy("DRM_IOCTL_AGP_BIND", W, 0x36, 2 * l, A | M | Root);
            Legacy("DRM_IOCTL_AGP_UNBIND", W, 0x37, 2 * l, A | M | Root);
        }
        Legacy("DRM_IOCTL_SG_ALLOC", WR, 0x38, 2 * l, A | M | Root);
        Legacy("DRM_IOCTL_SG_FREE", W, 0x39, 2 * l, A | M | Root);
        Def("DRM_IOCTL_WAIT_VBLANK", WR, 0x3a, is32 ? 16 : 24, U, DrmVblank.WaitVblankIoctl);
        Def("DRM_IOCTL_MODESET_CTL", W, 0x08, 8, N, DrmVblank.LegacyModesetCtlIoctl);
        Def("DRM_IOCTL_UPDATE_DRAW", W, 0x3f, 24, A | M | Root, Noop);
        Def("DRM_IOCTL_GEM_CLOSE", W, 0x09, 8, R, DrmGem.CloseIoctl);
        Def("DRM_IOCTL_GEM_FLINK", WR, 0x0a, 8, A, DrmGem.FlinkIoctl);
        Def("DRM_IOCTL_GEM_OPEN", WR, 0x0b, 16, A, DrmGem.OpenIoctl);
        Def("DRM_IOCTL_MODE_GETRESOURCES", WR, 0xA0, 64, N, DrmModeConfig.GetResources);
        Def("DRM_IOCTL_PRIME_HANDLE_TO_FD", WR, 0x2d, 12, R, DrmPrime.HandleToFdIoctl);
        Def("DRM_IOCTL_PRIME_FD_TO_HANDLE", WR, 0x2e, 12, R, DrmPrime.FdToHandleIoctl);
        Def("DRM_IOCTL_MODE_GETPLANERESOURCES", WR, 0xB5, 16, N, DrmPlane.GetPlaneRes);
        Def("DRM_IOCTL_MODE_GETCRTC", WR, 0xA1, 104, N, DrmCrtc.GetCrtc);
        Def("DRM_IOCTL_MODE_SETCRTC", WR, 0xA2, 104, M, DrmCrtc.SetCrtc);
        Def("DRM_IOCTL_MODE_GETPLANE", WR, 0xB6, 32, N, DrmPlane.GetPlane);
        Def("DRM_IOCTL_MODE_SETPLANE", WR, 0xB7, 48, M, DrmPlane.SetPlane);
        Def("DRM_IOCTL_MODE_CURSOR", WR, 0xA3, 28, M, DrmPlane.CursorIoctl);
        Def("DRM_IOCTL_MODE_GETGAMMA", WR, 0xA4, 32, N, DrmColorMgmt.GammaGetIoctl);
        Def("DRM_IOCTL_MODE_SETGAMMA", WR, 0xA5, 32, M, DrmColorMgmt.GammaSetIoctl);
        Def("DRM_IOCTL_MODE_GETENCODER", WR, 0xA6, 20, N, DrmEncoder.GetEncoder);
        Def("DRM_IOCTL_MODE_GETCONNECTOR", WR, 0xA7, 80, N, DrmConnector.GetConnector);
        Def("DRM_IOCTL_MODE_ATTACHMODE", WR, 0xA8, 72, M, Noop);
        Def("DRM_IOCTL_MODE_DETACHMODE", WR, 0xA9, 72, M, Noop);
        Def("DRM_IOCTL_MODE_GETPROPERTY", WR, 0xAA, 64, N, DrmProperty.GetPropertyIoctl);
        Def("DRM_IOCTL_MODE_SETPROPERTY", WR, 0xAB, 16, M, DrmConnector.PropertySetIoctl);
        Def("DRM_IOCTL_MODE_GETPROPBLOB", WR, 0xAC, 16, N, DrmProperty.GetBlobIoctl);
        Def("DRM_IOCTL_MODE_GETFB", WR, 0xAD, 28, N, DrmFramebuffer.GetFb);
        Def("DRM_IOCTL_MODE_GETFB2", WR, 0xCE, 104, N, DrmFramebuffer.GetFb2Ioctl);
        Def("DRM_IOCTL_MODE_ADDFB", WR, 0xAE, 28, N, DrmFramebuffer.AddFbIoctl);
        Def("DRM_IOCTL_MODE_ADDFB2", WR, 0xB8, 104, N, DrmFramebuffer.AddFb2Ioctl);
        Def("DRM_IOCTL_MODE_RMFB", WR, 0xAF, 4, N, DrmFramebuffer.RmFbIoctl);
        Def("DRM_IOCTL_MODE_PAGE_FLIP", WR, 0xB0, 24, M, DrmPlane.PageFlipIoctl);
        Def("DRM_IOCTL_MODE_DIRTYFB", WR, 0xB1, 24, M, DrmFramebuffer.DirtyFbIoctl);
        Def("DRM_IOCTL_MODE_CREATE_DUMB", WR, 0xB2, 32, N, DrmDumbBuffers.CreateDumbIoctl);
        Def("DRM_IOCTL_MODE_MAP_DUMB", WR, 0xB3, 16, N, DrmDumbBuffers.MmapDumbIoctl);
        Def("DRM_IOCTL_MODE_DESTROY_DUMB", WR, 0xB4, 4, N, DrmDumbBuffers.DestroyDumbIoctl);
        Def("DRM_IOCTL_MODE_OBJ_GETPROPERTIES", WR, 0xB9, 32, N, DrmModeObject.ObjGetPropertiesIoctl);
        Def("DRM_IOCTL_MODE_OBJ_SETPROPERTY", WR, 0xBA, 24, M, DrmModeObject.ObjSetPropertyIoctl);
        Def("DRM_IOCTL_MODE_CURSOR2", WR, 0xBB, 36, M, DrmPlane.Cursor2Ioctl);
        Def("DRM_IOCTL_MODE_ATOMIC", WR, 0xBC, 56, M, DrmAtomicUapi.AtomicIoctl);
        Def("DRM_IOCTL_MODE_CREATEPROPBLOB", WR, 0xBD, 16, N, DrmProperty.CreateBlobIoctl);
        Def("DRM_IOCTL_MODE_DESTROYPROPBLOB", WR, 0xBE, 4, N, DrmProperty.DestroyBlobIoctl);
        Def("DRM_IOCTL_SYNCOBJ_CREATE", WR, 0xBF, 8, R, DrmSyncobj.CreateIoctl);
        Def("DRM_IOCTL_SYNCOBJ_DESTROY", WR, 0xC0, 8, R, DrmSyncobj.DestroyIoctl);
        Def("DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD", WR, 0xC1, 16, R, DrmSyncobj.HandleToFdIoctl);
        Def("DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE", WR, 0xC2, 16, R, DrmSyncobj.FdToHandleIoctl);
        Def("DRM_IOCTL_SYNCOBJ_TRANSFER", WR, 0xCC, 32, R, DrmSyncobj.TransferIoctl);
        Def("DRM_IOCTL_SYNCOBJ_WAIT", WR, 0xC3, 32, R, DrmSyncobj.WaitIoctl);
        Def("DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT", WR, 0xCA, 40, R, DrmSyncobj.TimelineWaitIoctl);
        Def("DRM_IOCTL_SYNCOBJ_RESET", WR, 0xC4, 16, R, DrmSyncobj.ResetIoctl);
        Def("DRM_IOCTL_SYNCOBJ_SIGNAL", WR, 0xC5, 16, R, DrmSyncobj.SignalIoctl);
        Def("DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL", WR, 0xCD, 24, R, DrmSyncobj.TimelineSignalIoctl);
        Def("DRM_IOCTL_SYNCOBJ_QUERY", WR, 0xCB, 24, R, DrmSyncobj.QueryIoctl);
        Def("DRM_IOCTL_CRTC_GET_SEQUENCE", WR, 0x3b, 24, N, DrmVblank.CrtcGetSequenceIoctl);
        Def("DRM_IOCTL_CRTC_QUEUE_SEQUENCE", WR, 0x3c, 24, N, DrmVblank.CrtcQueueSequenceIoctl);
        Def("DRM_IOCTL_MODE_CREATE_LEASE", WR, 0xC6, 24, M, DrmLease.CreateLeaseIoctl);
        Def("DRM_IOCTL_MODE_LIST_LESSEES", WR, 0xC7, 16, M, DrmLease.ListLesseesIoctl);
        Def("DRM_IOCTL_MODE_GET_LEASE", WR, 0xC8, 16, M, DrmLease.GetLeaseIoctl);
        Def("DRM_IOCTL_MODE_REVOKE_LEASE", WR, 0xC9, 4, M, DrmLease.RevokeLeaseIoctl);
        return t;
    }

    /// <summary>The name of the core ioctl with number <paramref name="nr"/> (<c>DRM_IOCTL_NR</c>), or null.</summary>
    public static string? CoreName(uint nr, bool is32) => nr < DRM_CORE_IOCTL_COUNT ? CoreTable(is32)[(int)nr]?.Name : null;

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

    /// <summary>
    /// <c>drm_ioctl_permit</c>: DRM_ROOT_ONLY needs <c>capable(CAP_SYS_ADMIN)</c>; DRM_AUTH a render client or an
    /// authenticated file; DRM_MASTER the current master (<c>drm_is_current_master</c>); and a render client only
    /// reaches DRM_RENDER_ALLOW ioctls. Each failure is <c>-EACCES</c>.
    /// </summary>
    [Kernel("drm_ioctl_permit", "drivers/gpu/drm/drm_ioctl.c")]
    public static int Permit(DrmIoctlFlags flags, DrmFile file)
    {
        if ((flags & DrmIoctlFlags.DRM_ROOT_ONLY) != 0 && !file.Capable())
        {
            return -(int)Errno.EACCES;
        }
        if ((flags & DrmIoctlFlags.DRM_AUTH) != 0 && !file.IsRenderClient && !file.Authenticated)
        {
            return -(int)Errno.EACCES;
        }
        if ((flags & DrmIoctlFlags.DRM_MASTER) != 0 && !DrmAuth.IsCurrentMaster(file))
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

    /// <summary>
    /// <c>drm_version</c>: the driver's version numbers, name, date and description (the date is "0" on 6.12:
    /// <see cref="DrmDevice.DriverDateDeprecated"/>).
    /// </summary>
    [Kernel("drm_version", "drivers/gpu/drm/drm_ioctl.c")]
    public static int Version(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        var d = dev.Driver;
        string date = dev.DriverDateDeprecated ? "0" : d.Date;
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
                e = CopyField(file.UserArg, v32.date, ref dt, date);
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
            err = CopyField(file.UserArg, v.date, ref v.date_len, date);
        }
        if (err == 0)
        {
            err = CopyField(file.UserArg, v.desc, ref v.desc_len, d.Desc);
        }
        return err;
    }

    /// <summary><c>drm_noop</c>: deprecated ioctls user space still calls; always 0.</summary>
    [Kernel("drm_noop", "drivers/gpu/drm/drm_ioctl.c")]
    public static int Noop(DrmDevice dev, Span<byte> data, DrmFile file) => 0;

    /// <summary><c>drm_invalid_op</c>: ioctls that are gone (every legacy one without CONFIG_DRM_LEGACY); <c>-EINVAL</c>.</summary>
    [Kernel("drm_invalid_op", "drivers/gpu/drm/drm_ioctl.c")]
    public static int InvalidOp(DrmDevice dev, Span<byte> data, DrmFile file) => -(int)Errno.EINVAL;

    /// <summary>
    /// <c>drm_getunique</c>: the master's unique name (set by SET_VERSION 1.1+, empty before) copied when the
    /// user's buffer holds it all (no NUL), and its length; a too-short buffer gets only the length.
    /// </summary>
    [Kernel("drm_getunique", "drivers/gpu/drm/drm_ioctl.c")]
    public static int GetUnique(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        var unique = Encoding.ASCII.GetBytes(file.Master?.Unique ?? "");
        ulong len, ptr;
        if (dev.Is32Bit)
        {
            ref var u32 = ref MemoryMarshal.AsRef<drm_unique32>(data);
            (len, ptr) = (u32.unique_len, u32.unique);
        }
        else
        {
            ref var u = ref MemoryMarshal.AsRef<drm_unique>(data);
            (len, ptr) = (u.unique_len, u.unique);
        }
        if (len >= (ulong)unique.Length && unique.Length > 0)
        {
            if (file.UserArg is null || file.UserArg.CopyToUserAt(ptr, unique) != 0)
            {
                return -(int)Errno.EFAULT;
            }
        }
        if (dev.Is32Bit)
        {
            MemoryMarshal.AsRef<drm_unique32>(data).unique_len = (uint)unique.Length;
        }
        else
        {
            MemoryMarshal.AsRef<drm_unique>(data).unique_len = (ulong)unique.Length;
        }
        return 0;
    }

    // drm_set_busid: the master's unique becomes "pci:DDDD:BB:SS.F" for a PCI parent (drm_pci_set_busid), else a
    // copy of dev->unique.
    [Kernel("drm_set_busid", "drivers/gpu/drm/drm_ioctl.c")]
    private static int SetBusid(DrmDevice dev, DrmFile file)
    {
        var master = file.Master!;
        master.Unique = null;
        if (dev.DmaDev.PciVendor != 0)
        {
            master.Unique = PciSetBusid(dev);
            return 0;
        }
        dev.Warnings.On(string.IsNullOrEmpty(dev.Unique), "!dev->unique");
        master.Unique = dev.Unique;
        return 0;
    }

    /// <summary><c>drm_pci_set_busid</c>: "pci:%04x:%02x:%02x.%d" of the parent PCI function (named "DDDD:BB:SS.F").</summary>
    [Kernel("drm_pci_set_busid", "drivers/gpu/drm/drm_pci.c")]
    public static string PciSetBusid(DrmDevice dev) => "pci:" + dev.DmaDev.Name;

    /// <summary>
    /// <c>drm_setversion</c> (DRM_MASTER): an interface version other than 1.0..1.4 or a driver version above the
    /// driver's is <c>-EINVAL</c> (-1 skips either request); 1.1 and later set the master's bus id. The struct
    /// always comes back with the interface version 1.4 and the driver's major.minor.
    /// </summary>
    [Kernel("drm_setversion", "drivers/gpu/drm/drm_ioctl.c")]
    public static int SetVersion(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var sv = ref MemoryMarshal.AsRef<drm_set_version>(data);
        int retcode = 0;
        if (sv.drm_di_major != -1)
        {
            if (sv.drm_di_major != DRM_IF_MAJOR || sv.drm_di_minor < 0 || sv.drm_di_minor > DRM_IF_MINOR)
            {
                retcode = -(int)Errno.EINVAL;
                goto done;
            }
            int ifVersion = (sv.drm_di_major << 16) | sv.drm_di_minor;
            dev.IfVersion = Math.Max(ifVersion, dev.IfVersion);
            if (sv.drm_di_minor >= 1)
            {
                retcode = SetBusid(dev, file);
                if (retcode != 0)
                {
                    goto done;
                }
            }
        }
        if (sv.drm_dd_major != -1)
        {
            if (sv.drm_dd_major != dev.Driver.Major || sv.drm_dd_minor < 0 || sv.drm_dd_minor > dev.Driver.Minor)
            {
                retcode = -(int)Errno.EINVAL;
            }
        }
    done:
        sv.drm_di_major = DRM_IF_MAJOR;
        sv.drm_di_minor = DRM_IF_MINOR;
        sv.drm_dd_major = dev.Driver.Major;
        sv.drm_dd_minor = dev.Driver.Minor;
        return retcode;
    }

    /// <summary>
    /// <c>drm_getclient</c>: the hollowed-out client list. Index 0 describes the caller (auth, pid of
    /// <c>current</c>, uid <c>overflowuid</c> 65534, magic and iocs 0); any other index is <c>-EINVAL</c>.
    /// </summary>
    [Kernel("drm_getclient", "drivers/gpu/drm/drm_ioctl.c")]
    public static int GetClient(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        const uint overflowuid = 65534;
        int pid = file.Current?.Pid ?? 0;
        if (dev.Is32Bit)
        {
            ref var c32 = ref MemoryMarshal.AsRef<drm_client32>(data);
            if (c32.idx != 0)
            {
                return -(int)Errno.EINVAL;
            }
            c32.auth = file.Authenticated ? 1 : 0;
            c32.pid = (uint)pid;
            c32.uid = overflowuid;
            c32.magic = 0;
            c32.iocs = 0;
            return 0;
        }
        ref var c = ref MemoryMarshal.AsRef<drm_client>(data);
        if (c.idx != 0)
        {
            return -(int)Errno.EINVAL;
        }
        c.auth = file.Authenticated ? 1 : 0;
        c.pid = (ulong)pid;
        c.uid = overflowuid;
        c.magic = 0;
        c.iocs = 0;
        return 0;
    }

    /// <summary><c>drm_getstats</c>: a zeroed <c>struct drm_stats</c>.</summary>
    [Kernel("drm_getstats", "drivers/gpu/drm/drm_ioctl.c")]
    public static int GetStats(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        data[..(dev.Is32Bit ? 124 : 248)].Clear();
        return 0;
    }

    /// <summary>
    /// <c>drm_getcap</c>: value 0 first; TIMESTAMP_MONOTONIC (1), PRIME (import if the driver has
    /// <c>prime_fd_to_handle</c>, export if <c>prime_handle_to_fd</c>), SYNCOBJ and SYNCOBJ_TIMELINE (the driver
    /// features) answer on every device and node; every other cap is <c>-EOPNOTSUPP</c> without DRIVER_MODESET, and
    /// on a KMS device reads <c>mode_config</c> (an unknown cap is <c>-EINVAL</c>).
    /// </summary>
    [Kernel("drm_getcap", "drivers/gpu/drm/drm_ioctl.c")]
    public static int GetCap(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var req = ref MemoryMarshal.AsRef<drm_get_cap>(data);
        req.value = 0;
        var mc = dev.ModeConfig;
        switch (req.capability)
        {
            case DrmH.DRM_CAP_TIMESTAMP_MONOTONIC:
                req.value = 1;
                return 0;
            case DrmH.DRM_CAP_PRIME:
                req.value |= dev.Driver.PrimeFdToHandle is not null ? DrmH.DRM_PRIME_CAP_IMPORT : 0;
                req.value |= dev.Driver.PrimeHandleToFd is not null ? DrmH.DRM_PRIME_CAP_EXPORT : 0;
                return 0;
            case DrmH.DRM_CAP_SYNCOBJ:
                req.value = dev.Driver.HasFeature(DrmDriverFeature.DRIVER_SYNCOBJ) ? 1UL : 0;
                return 0;
            case DrmH.DRM_CAP_SYNCOBJ_TIMELINE:
                req.value = dev.Driver.HasFeature(DrmDriverFeature.DRIVER_SYNCOBJ_TIMELINE) ? 1UL : 0;
                return 0;
        }
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_MODESET))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        switch (req.capability)
        {
            case DrmH.DRM_CAP_DUMB_BUFFER:
                req.value = dev.Driver.DumbCreate is not null ? 1UL : 0;
                break;
            case DrmH.DRM_CAP_VBLANK_HIGH_CRTC:
                req.value = 1;
                break;
            case DrmH.DRM_CAP_DUMB_PREFERRED_DEPTH:
                req.value = mc.PreferredDepth;
                break;
            case DrmH.DRM_CAP_DUMB_PREFER_SHADOW:
                req.value = mc.PreferShadow ? 1UL : 0;
                break;
            case DrmH.DRM_CAP_ASYNC_PAGE_FLIP:
                req.value = mc.AsyncPageFlip ? 1UL : 0;
                break;
            case DrmH.DRM_CAP_PAGE_FLIP_TARGET:
                // 1 unless some CRTC lacks funcs->page_flip_target (a device without CRTCs keeps 1).
                req.value = mc.NumCrtc == 0 || mc.CrtcsHavePageFlipTarget ? 1UL : 0;
                break;
            case DrmH.DRM_CAP_CURSOR_WIDTH:
                req.value = mc.CursorWidth != 0 ? mc.CursorWidth : 64;
                break;
            case DrmH.DRM_CAP_CURSOR_HEIGHT:
                req.value = mc.CursorHeight != 0 ? mc.CursorHeight : 64;
                break;
            case DrmH.DRM_CAP_ADDFB2_MODIFIERS:
                req.value = mc.FbModifiersNotSupported ? 0UL : 1;
                break;
            case DrmH.DRM_CAP_CRTC_IN_VBLANK_EVENT:
                req.value = 1;
                break;
            default:
                return -(int)Errno.EINVAL;
        }
        return 0;
    }

    /// <summary>
    /// <c>drm_setclientcap</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET (no render-only caps); STEREO_3D,
    /// UNIVERSAL_PLANES and ASPECT_RATIO take 0 or 1; ATOMIC needs DRIVER_ATOMIC (<c>-EOPNOTSUPP</c>), refuses 1 for
    /// a program whose <c>comm</c> starts with 'X' (the modesetting DDX, <c>-EOPNOTSUPP</c>), takes 0..2 and sets
    /// universal planes and aspect ratio too; WRITEBACK_CONNECTORS needs atomic first; others <c>-EINVAL</c>.
    /// </summary>
    [Kernel("drm_setclientcap", "drivers/gpu/drm/drm_ioctl.c")]
    public static int SetClientCap(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var req = ref MemoryMarshal.AsRef<drm_set_client_cap>(data);
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_MODESET))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        switch (req.capability)
        {
            case DrmH.DRM_CLIENT_CAP_STEREO_3D:
                if (req.value > 1)
                {
                    return -(int)Errno.EINVAL;
                }
                file.StereoAllowed = req.value != 0;
                break;
            case DrmH.DRM_CLIENT_CAP_UNIVERSAL_PLANES:
                if (req.value > 1)
                {
                    return -(int)Errno.EINVAL;
                }
                file.UniversalPlanes = req.value != 0;
                break;
            case DrmH.DRM_CLIENT_CAP_ATOMIC:
                if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_ATOMIC))
                {
                    return -(int)Errno.EOPNOTSUPP;
                }
                if (file.Current?.Comm is { Length: > 0 } comm && comm[0] == 'X' && req.value == 1)
                {
                    return -(int)Errno.EOPNOTSUPP; // pr_info("broken atomic modeset userspace detected, disabling atomic")
                }
                if (req.value > 2)
                {
                    return -(int)Errno.EINVAL;
                }
                file.Atomic = req.value;
                file.UniversalPlanes = req.value != 0;
                file.AspectRatioAllowed = req.value != 0;
                break;
            case DrmH.DRM_CLIENT_CAP_ASPECT_RATIO:
                if (req.value > 1)
                {
                    return -(int)Errno.EINVAL;
                }
                file.AspectRatioAllowed = req.value != 0;
                break;
            case DrmH.DRM_CLIENT_CAP_WRITEBACK_CONNECTORS:
                if (file.Atomic == 0)
                {
                    return -(int)Errno.EINVAL;
                }
                if (req.value > 1)
                {
                    return -(int)Errno.EINVAL;
                }
                file.WritebackConnectors = req.value != 0;
                break;
            default:
                return -(int)Errno.EINVAL;
        }
        return 0;
    }
}
