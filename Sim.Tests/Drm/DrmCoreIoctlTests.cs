using Sim.Tests.Infrastructure;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Sim.Drm;
using Sim.Drm.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>
/// The DRM core ioctls libdrm and ordinary programs call first, against Linux 6.1's drivers/gpu/drm/drm_ioctl.c,
/// drm_auth.c and drm_file.c (Debian's build: CONFIG_DRM_LEGACY off, CONFIG_AGP=y on x86_64). Every expected value
/// is argued from that source in the comment beside it.
/// </summary>
public class DrmCoreIoctlTests
{
    private const long EINVAL = -(long)Errno.EINVAL;
    private const long EACCES = -(long)Errno.EACCES;
    private const long EOPNOTSUPP = -(long)Errno.EOPNOTSUPP;
    private const long EBUSY = -(long)Errno.EBUSY;

    private static uint Io(uint dir, uint nr, int size) => Ioctl._IOC(dir, DrmH.DRM_IOCTL_BASE, nr, (uint)size);

    private static (long Ret, ulong Value) GetCap(Process p, int fd, ulong cap)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(b, cap);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 0xdeadbeef);
        long r = TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_GET_CAP, b);
        return (r, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
    }

    private static long SetClientCap(Process p, int fd, ulong cap, ulong value)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(b, cap);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), value);
        return TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_SET_CLIENT_CAP, b);
    }

    private static (long Ret, uint Magic) GetMagic(Process p, int fd)
    {
        var b = new byte[4];
        long r = TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_GET_MAGIC, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b));
    }

    private static long AuthMagic(Process p, int fd, uint magic)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, magic);
        return TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_AUTH_MAGIC, b);
    }

    private static long SetMaster(Process p, int fd) => TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_SET_MASTER, []);

    private static long DropMaster(Process p, int fd) => TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_DROP_MASTER, []);

    private static (long Ret, int[] Out) SetVersion(Process p, int fd, int diMajor, int diMinor, int ddMajor, int ddMinor)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(b, diMajor);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), diMinor);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), ddMajor);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), ddMinor);
        long r = TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_SET_VERSION, b);
        return (r, [BinaryPrimitives.ReadInt32LittleEndian(b), BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4)),
            BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)), BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(12))]);
    }

    private static void AssertVersion(long ret, int[] fields, (long Ret, int[] Out) actual)
    {
        Assert.Equal(ret, actual.Ret);
        Assert.Equal(fields, actual.Out);
    }

    private static (long Ret, ulong Len, string Text) GetUnique(Process p, int fd, int bufLen)
    {
        var b = new byte[16];
        var text = new byte[Math.Max(bufLen, 1)];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)bufLen);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), 0x7000);
        long r = p.Ioctl(fd, DrmH.DRM_IOCTL_GET_UNIQUE(false), new UserArg(0x1000, b) { Pointees = new Dictionary<ulong, byte[]> { [0x7000] = text } });
        return (r, BinaryPrimitives.ReadUInt64LittleEndian(b), Encoding.ASCII.GetString(text).TrimEnd('\0'));
    }

    private static long Flink(Process p, int fd, uint handle)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        return TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_GEM_FLINK, b);
    }

    [Fact]
    public void ioctl_numbers_are_the_uapi_encodings()
    {
        // _IOC(dir, 'd', nr, size) = dir << 30 | size << 16 | 0x64 << 8 | nr, with the sizes of include/uapi/drm/drm.h
        // on x86_64: drm_get_cap and drm_set_client_cap are two __u64 (16), drm_unique a size_t and a pointer (16),
        // drm_auth one unsigned int (4), drm_client two ints and four unsigned longs (40), drm_stats an unsigned
        // long and 15 {unsigned long, enum} pairs (8 + 15 * 16 = 248), drm_set_version four ints (16).
        Assert.Equal(0xC010640Cu, DrmH.DRM_IOCTL_GET_CAP);
        Assert.Equal(0x4010640Du, DrmH.DRM_IOCTL_SET_CLIENT_CAP);
        Assert.Equal(0xC0106401u, DrmH.DRM_IOCTL_GET_UNIQUE(false));
        Assert.Equal(0x80046402u, DrmH.DRM_IOCTL_GET_MAGIC);
        Assert.Equal(0x40046411u, DrmH.DRM_IOCTL_AUTH_MAGIC);
        Assert.Equal(0x0000641Eu, DrmH.DRM_IOCTL_SET_MASTER);
        Assert.Equal(0x0000641Fu, DrmH.DRM_IOCTL_DROP_MASTER);
        Assert.Equal(0xC0286405u, DrmH.DRM_IOCTL_GET_CLIENT(false));
        Assert.Equal(0x80F86406u, DrmH.DRM_IOCTL_GET_STATS(false));
        Assert.Equal(0xC0106407u, DrmH.DRM_IOCTL_SET_VERSION);
        // The table's own commands for the KMS structs of drm_mode.h: drm_mode_card_res is four __u64 pointers and
        // eight __u32 (64), drm_mode_crtc 8 + 7 * 4 + the 68-byte drm_mode_modeinfo (104), drm_mode_fb_cmd2
        // 5 * 4 + 3 * 16 + 4 bytes of padding + 4 * 8 (104), drm_mode_atomic 2 * 4 + 6 * 8 (56).
        var t = DrmIoctl.CoreTable(false);
        Assert.Equal(0xC04064A0u, t[0xA0]!.Cmd);
        Assert.Equal(0xC06864A1u, t[0xA1]!.Cmd);
        Assert.Equal(0xC06864B8u, t[0xB8]!.Cmd);
        Assert.Equal(0xC03864BCu, t[0xBC]!.Cmd);
        Assert.Equal(0xC00864BFu, t[0xBF]!.Cmd);
        // ARRAY_SIZE(drm_ioctls): the highest designated index is DRM_IOCTL_MODE_GETFB2 = 0xCE.
        Assert.Equal(0xCF, DrmIoctl.DRM_CORE_IOCTL_COUNT);
    }

    [Fact]
    public void getcap_on_vgem_answers_the_render_caps_and_eopnotsupp_for_the_rest()
    {
        using var m = TestMachine.WithDrm("vgem");
        foreach (var node in new[] { "/dev/dri/card0", "/dev/dri/renderD128" })
        {
            int fd = m.Open(node);
            // GET_CAP is DRM_RENDER_ALLOW. TIMESTAMP_MONOTONIC is 1 everywhere; PRIME ORs IMPORT (1) for
            // prime_fd_to_handle and EXPORT (2) for prime_handle_to_fd, both set by DRM_GEM_SHMEM_DRIVER_OPS;
            // vgem_driver has neither DRIVER_SYNCOBJ nor DRIVER_SYNCOBJ_TIMELINE.
            Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_TIMESTAMP_MONOTONIC));
            Assert.Equal((0L, 3UL), GetCap(m.Process, fd, DrmH.DRM_CAP_PRIME));
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_SYNCOBJ));
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_SYNCOBJ_TIMELINE));
            // "Other caps only work with KMS drivers": vgem has no DRIVER_MODESET, so even DUMB_BUFFER (vgem has
            // dumb_create) and an unknown cap are -EOPNOTSUPP; req->value was zeroed first and drm_ioctl copies the
            // struct back even on failure.
            foreach (ulong cap in new ulong[] { DrmH.DRM_CAP_DUMB_BUFFER, DrmH.DRM_CAP_VBLANK_HIGH_CRTC, DrmH.DRM_CAP_DUMB_PREFERRED_DEPTH,
                DrmH.DRM_CAP_DUMB_PREFER_SHADOW, DrmH.DRM_CAP_ASYNC_PAGE_FLIP, DrmH.DRM_CAP_CURSOR_WIDTH, DrmH.DRM_CAP_CURSOR_HEIGHT,
                DrmH.DRM_CAP_ADDFB2_MODIFIERS, DrmH.DRM_CAP_PAGE_FLIP_TARGET, DrmH.DRM_CAP_CRTC_IN_VBLANK_EVENT, 0x99 })
            {
                Assert.Equal((EOPNOTSUPP, 0UL), GetCap(m.Process, fd, cap));
            }
        }
    }

    [Fact]
    public void getcap_on_virtio_gpu_reads_its_mode_config()
    {
        using var m = TestMachine.WithDrm("virtio_gpu");
        foreach (var node in new[] { "/dev/dri/card0", "/dev/dri/renderD128" })
        {
            int fd = m.Open(node);
            // virtio_gpu_driver: DRIVER_MODESET | GEM | RENDER | ATOMIC, dumb_create set, PRIME through the core.
            Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_DUMB_BUFFER));
            Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_VBLANK_HIGH_CRTC));
            // virtio_gpu_modeset_init sets no preferred_depth, prefer_shadow or async_page_flip.
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_DUMB_PREFERRED_DEPTH));
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_DUMB_PREFER_SHADOW));
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_ASYNC_PAGE_FLIP));
            // No cursor_width/height: the default 64.
            Assert.Equal((0L, 64UL), GetCap(m.Process, fd, DrmH.DRM_CAP_CURSOR_WIDTH));
            Assert.Equal((0L, 64UL), GetCap(m.Process, fd, DrmH.DRM_CAP_CURSOR_HEIGHT));
            // fb_modifiers_not_supported = true in virtio_gpu_modeset_init.
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_ADDFB2_MODIFIERS));
            // virtio_gpu_crtc_funcs has .page_flip but no .page_flip_target: the loop sets 0.
            Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_PAGE_FLIP_TARGET));
            Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_CRTC_IN_VBLANK_EVENT));
            Assert.Equal((0L, 3UL), GetCap(m.Process, fd, DrmH.DRM_CAP_PRIME));
            // default: -EINVAL on a KMS driver.
            Assert.Equal((EINVAL, 0UL), GetCap(m.Process, fd, 0x99));
        }
    }

    [Fact]
    public void getcap_on_pl111_has_modifiers_and_no_render_node()
    {
        using var m = TestMachine.WithDrm(new MachineOptions().ApplyArmBoard(), "pl111_drm");
        int fd = m.Open("/dev/dri/card0");
        // pl111 leaves fb_modifiers_not_supported false (drm_universal_plane_init then uses the default linear
        // modifier): ADDFB2_MODIFIERS = 1; drm_simple_kms_crtc_funcs has no page_flip_target: 0.
        Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_ADDFB2_MODIFIERS));
        Assert.Equal((0L, 0UL), GetCap(m.Process, fd, DrmH.DRM_CAP_PAGE_FLIP_TARGET));
        Assert.Equal((0L, 1UL), GetCap(m.Process, fd, DrmH.DRM_CAP_DUMB_BUFFER));
        // pl111_drm_driver has no DRIVER_RENDER: no renderD node at all.
        Assert.Equal(-(int)Errno.ENOENT, m.Open("/dev/dri/renderD128"));
    }

    [Fact]
    public void set_client_cap_checks_in_drm_setclientcap_order()
    {
        using (var v = TestMachine.WithDrm("vgem"))
        {
            // No render-only settable caps: without DRIVER_MODESET every cap is -EOPNOTSUPP.
            int card = v.Open("/dev/dri/card0");
            Assert.Equal(EOPNOTSUPP, SetClientCap(v.Process, card, DrmH.DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1));
            Assert.Equal(EOPNOTSUPP, SetClientCap(v.Process, card, 77, 0));
            // SET_CLIENT_CAP has flags 0: a render client is refused by drm_ioctl_permit first.
            int render = v.Open("/dev/dri/renderD128");
            Assert.Equal(EACCES, SetClientCap(v.Process, render, DrmH.DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1));
        }
        using var m = TestMachine.WithDrm("virtio_gpu");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal(0, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_STEREO_3D, 1));
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_STEREO_3D, 2));   // value > 1
        Assert.Equal(0, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_UNIVERSAL_PLANES, 0));
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_ASPECT_RATIO, 2));
        // WRITEBACK_CONNECTORS needs file_priv->atomic first.
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1));
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_ATOMIC, 3));      // value > 2
        Assert.Equal(0, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_ATOMIC, 2));
        var file = (DrmFile)m.Process.Fget(fd)!.PrivateData!;
        Assert.True(file.UniversalPlanes && file.AspectRatioAllowed && file.Atomic == 2);
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 2));
        Assert.Equal(0, SetClientCap(m.Process, fd, DrmH.DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, 1));
        Assert.Equal(EINVAL, SetClientCap(m.Process, fd, 6, 0));                                 // default
        // The modesetting DDX ("X..." comm) asking ATOMIC = 1 is refused with -EOPNOTSUPP; 2 passes.
        var xorg = m.Spawn("Xorg");
        int xfd = xorg.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        Assert.Equal(EOPNOTSUPP, SetClientCap(xorg, xfd, DrmH.DRM_CLIENT_CAP_ATOMIC, 1));
        Assert.Equal(0, SetClientCap(xorg, xfd, DrmH.DRM_CLIENT_CAP_ATOMIC, 2));
    }

    [Fact]
    public void magic_authentication_makes_a_non_root_file_authenticated()
    {
        using var m = TestMachine.WithDrm("vgem");
        int master = m.Open("/dev/dri/card0");                 // first opener: drm_master_open -> new master
        var user = m.Spawn("user", euid: 1000);
        int ufd = user.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        var (_, ownHandle, _, _) = TestMachine_CreateDumb(user, ufd);
        // Not root and not the master: file->authenticated = capable(CAP_SYS_ADMIN) = 0, so DRM_AUTH ioctls fail.
        Assert.Equal(EACCES, Flink(user, ufd, ownHandle));
        // drm_getmagic: idr_alloc(magic_map, 1, 0): lowest free from 1; the same magic on a second call.
        Assert.Equal((0L, 1u), GetMagic(user, ufd));
        Assert.Equal((0L, 1u), GetMagic(user, ufd));
        int other = m.Open("/dev/dri/card0");
        Assert.Equal((0L, 2u), GetMagic(m.Process, other));
        // AUTH_MAGIC is DRM_MASTER: only the current master may call it.
        Assert.Equal(EACCES, AuthMagic(user, ufd, 1));
        Assert.Equal(EINVAL, AuthMagic(m.Process, master, 99));      // idr_find fails
        Assert.Equal(0, AuthMagic(m.Process, master, 1));
        Assert.Equal(EINVAL, AuthMagic(m.Process, master, 1));       // idr_replace(.., NULL, magic): a magic works once
        Assert.Equal(0, Flink(user, ufd, ownHandle));
        // The magic stays taken until the file closes (drm_master_release -> idr_remove).
        Assert.Equal((0L, 3u), GetMagic(m.Process, m.Open("/dev/dri/card0")));
        Assert.Equal(0, user.Close(ufd));
        Assert.Equal((0L, 1u), GetMagic(m.Process, m.Open("/dev/dri/card0")));
        // GET_MAGIC has flags 0: refused on a render node.
        Assert.Equal(EACCES, GetMagic(m.Process, m.Open("/dev/dri/renderD128")).Ret);
    }

    private static (long, uint, uint, ulong) TestMachine_CreateDumb(Process p, int fd)
    {
        var b = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 32);
        long r = TestMachine.Ioctl(p, fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b);
        Assert.Equal(0, r);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)), 0, 0);
    }

    [Fact]
    public void master_rules_of_drm_auth()
    {
        using var m = TestMachine.WithDrm("vgem");
        int a = m.Open("/dev/dri/card0");
        int b = m.Open("/dev/dri/card0");
        // a is the current master: SET_MASTER is a no-op success; b (root, not master) gets -EBUSY while a is.
        Assert.Equal(0, SetMaster(m.Process, a));
        Assert.Equal(EBUSY, SetMaster(m.Process, b));
        // DROP_MASTER by a non-master: !drm_is_current_master -> -EINVAL.
        Assert.Equal(EINVAL, DropMaster(m.Process, b));
        Assert.Equal(0, DropMaster(m.Process, a));
        Assert.Equal(EINVAL, DropMaster(m.Process, a));               // no longer the current master
        // With no master, b becomes one (a new master object: drm_new_set_master) and a is refused.
        Assert.Equal(0, SetMaster(m.Process, b));
        Assert.Equal(EBUSY, SetMaster(m.Process, a));
        // Closing the master file drops dev->master: the next primary open becomes master.
        Assert.Equal(0, m.Process.Close(b));
        var dev = m.Drm.Devices[0];
        Assert.Null(dev.Master);
        int c = m.Open("/dev/dri/card0");
        Assert.True(DrmAuth.IsCurrentMaster((DrmFile)m.Process.Fget(c)!.PrivateData!));
        // Render clients never get a master (drm_master_open runs for primary clients only).
        int r = m.Open("/dev/dri/renderD128");
        Assert.Null(((DrmFile)m.Process.Fget(r)!.PrivateData!).Master);
        Assert.Equal(EACCES, SetMaster(m.Process, r));                 // flags 0: render client refused
    }

    [Fact]
    public void master_check_perm_lets_a_former_master_back_but_not_another_user()
    {
        using var m = TestMachine.WithDrm("vgem");
        var compositor = m.Spawn("compositor", euid: 1000);
        int fd = compositor.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        // First opener becomes master and authenticated, root or not (drm_new_set_master).
        var file = (DrmFile)compositor.Fget(fd)!.PrivateData!;
        Assert.True(file.IsMaster && file.Authenticated);
        // drm_master_check_perm: same pid as the opener and was_master -> allowed without CAP_SYS_ADMIN.
        Assert.Equal(0, DropMaster(compositor, fd));
        Assert.Equal(0, SetMaster(compositor, fd));
        // Another unprivileged process using the same open file (passed over a socket) is not the opener: -EACCES.
        var other = m.Spawn("other", euid: 1000);
        compositor.Fget(fd)!.Get();
        int ofd = other.InstallFile(compositor.Fget(fd)!, false);
        Assert.Equal(EACCES, DropMaster(other, ofd));
        // A second unprivileged file that never was master: not the opener-with-was_master, not capable: -EACCES.
        int second = other.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        Assert.Equal(EACCES, SetMaster(other, second));
    }

    [Fact]
    public void set_version_and_get_unique()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        // master->unique is NULL until SET_VERSION asks for interface 1.1+: unique_len 0.
        Assert.Equal((0L, 0UL, ""), GetUnique(m.Process, fd, 64));
        // Interface 1.4 is the highest (DRM_IF_MAJOR 1, DRM_IF_MINOR 4); the struct always returns 1.4 and the
        // driver's major.minor (vgem 1.0).
        AssertVersion(0L, [1, 4, 1, 0], SetVersion(m.Process, fd, 1, 1, -1, -1));
        AssertVersion(EINVAL, [1, 4, 1, 0], SetVersion(m.Process, fd, 1, 5, -1, -1));
        Assert.Equal(EINVAL, SetVersion(m.Process, fd, 2, 0, -1, -1).Ret);
        Assert.Equal(EINVAL, SetVersion(m.Process, fd, -1, -1, 1, 1).Ret);   // dd_minor above the driver's 0
        Assert.Equal(EINVAL, SetVersion(m.Process, fd, -1, -1, 2, 0).Ret);   // dd_major other than the driver's 1
        Assert.Equal(0, SetVersion(m.Process, fd, -1, -1, 1, 0).Ret);
        // vgem's parent is the platform device "vgem" (not PCI): master->unique = kstrdup(dev->unique).
        Assert.Equal((0L, 4UL, "vgem"), GetUnique(m.Process, fd, 64));
        // A buffer shorter than the name gets only the length (u->unique_len < master->unique_len: no copy).
        Assert.Equal((0L, 4UL, ""), GetUnique(m.Process, fd, 3));
        // SET_VERSION is DRM_MASTER; GET_UNIQUE has flags 0 (render refused).
        int other = m.Open("/dev/dri/card0");
        Assert.Equal(EACCES, SetVersion(m.Process, other, 1, 1, -1, -1).Ret);
        Assert.Equal(EACCES, GetUnique(m.Process, m.Open("/dev/dri/renderD128"), 64).Ret);
        // The second file shares the master (it took a reference at open), so it reads the same unique.
        Assert.Equal((0L, 4UL, "vgem"), GetUnique(m.Process, other, 64));
    }

    [Fact]
    public void set_version_on_virtio_gpu_gives_the_pci_bus_id()
    {
        using var m = TestMachine.WithDrm("virtio_gpu");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal(0, SetVersion(m.Process, fd, 1, 4, -1, -1).Ret);
        // dev->dev is the PCI function: drm_pci_set_busid's "pci:%04x:%02x:%02x.%d".
        Assert.Equal((0L, 16UL, "pci:0000:00:03.0"), GetUnique(m.Process, fd, 64));
        // virtio_gpu is version 0.1.0: dd 0.1 is accepted, 0.2 not.
        AssertVersion(0L, [1, 4, 0, 1], SetVersion(m.Process, fd, -1, -1, 0, 1));
        Assert.Equal(EINVAL, SetVersion(m.Process, fd, -1, -1, 0, 2).Ret);
    }

    [Fact]
    public void get_client_and_get_stats()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var b = new byte[40];
        // idx 0: auth of the file, pid of current, uid overflowuid (65534), magic and iocs 0.
        Array.Fill(b, (byte)0xff, 4, 36);
        Assert.Equal(0, TestMachine.Ioctl(m.Process, fd, DrmH.DRM_IOCTL_GET_CLIENT(false), b));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4)));
        Assert.Equal((ulong)m.Process.Pid, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
        Assert.Equal(65534UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(16)));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24)));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32)));
        // Any other index: -EINVAL ("userspace tools stop enumerating").
        BinaryPrimitives.WriteInt32LittleEndian(b, 1);
        Assert.Equal(EINVAL, TestMachine.Ioctl(m.Process, fd, DrmH.DRM_IOCTL_GET_CLIENT(false), b));
        // GET_STATS: memset(stats, 0) and copied back (IOR: nothing is read from the user).
        var s = Enumerable.Repeat((byte)0xaa, 248).ToArray();
        Assert.Equal(0, TestMachine.Ioctl(m.Process, fd, DrmH.DRM_IOCTL_GET_STATS(false), s));
        Assert.All(s, x => Assert.Equal(0, x));
        // Both have flags 0: refused on a render node.
        int r = m.Open("/dev/dri/renderD128");
        Assert.Equal(EACCES, TestMachine.Ioctl(m.Process, r, DrmH.DRM_IOCTL_GET_STATS(false), s));
    }

    [Fact]
    public void syncobj_ioctls_are_eopnotsupp_without_driver_syncobj()
    {
        using var m = TestMachine.WithDrm("vgem", "virtio_gpu");
        var t = DrmIoctl.CoreTable(false);
        foreach (var node in new[] { "/dev/dri/card0", "/dev/dri/renderD128", "/dev/dri/card1", "/dev/dri/renderD129" })
        {
            int fd = m.Open(node);
            // 0xBF..0xC5 and 0xCA..0xCD: DRM_RENDER_ALLOW, and every handler starts with
            // drm_core_check_feature(dev, DRIVER_SYNCOBJ[_TIMELINE]) -> -EOPNOTSUPP; neither driver sets either.
            foreach (uint nr in new uint[] { 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xCA, 0xCB, 0xCC, 0xCD })
            {
                Assert.Equal(EOPNOTSUPP, m.Ioctl(fd, t[(int)nr]!.Cmd, new byte[64]));
            }
        }
    }

    [Fact]
    public void every_kms_ioctl_on_vgem_answers_like_linux()
    {
        using var m = TestMachine.WithDrm("vgem");
        int master = m.Open("/dev/dri/card0");
        int plain = m.Open("/dev/dri/card0");
        int render = m.Open("/dev/dri/renderD128");
        var t = DrmIoctl.CoreTable(false);
        // The KMS handlers' first check is drm_core_check_feature(dev, DRIVER_MODESET) -> -EOPNOTSUPP, except:
        // GETFB2 returns -EINVAL from that check; ATTACHMODE/DETACHMODE are drm_noop (0); MODESET_CTL returns 0
        // without vblank; WAIT_VBLANK is -EOPNOTSUPP (no drm_vblank_init); ATOMIC checks DRIVER_ATOMIC (vgem has
        // none: -EOPNOTSUPP).
        var expected = new Dictionary<uint, long>
        {
            [0xA0] = EOPNOTSUPP, [0xA1] = EOPNOTSUPP, [0xA2] = EOPNOTSUPP, [0xA3] = EOPNOTSUPP, [0xA4] = EOPNOTSUPP,
            [0xA5] = EOPNOTSUPP, [0xA6] = EOPNOTSUPP, [0xA7] = EOPNOTSUPP, [0xA8] = 0, [0xA9] = 0, [0xAA] = EOPNOTSUPP,
            [0xAB] = EOPNOTSUPP, [0xAC] = EOPNOTSUPP, [0xAD] = EOPNOTSUPP, [0xAE] = EOPNOTSUPP, [0xAF] = EOPNOTSUPP,
            [0xB0] = EOPNOTSUPP, [0xB1] = EOPNOTSUPP, [0xB5] = EOPNOTSUPP, [0xB6] = EOPNOTSUPP, [0xB7] = EOPNOTSUPP,
            [0xB8] = EOPNOTSUPP, [0xB9] = EOPNOTSUPP, [0xBA] = EOPNOTSUPP, [0xBB] = EOPNOTSUPP, [0xBC] = EOPNOTSUPP,
            [0xBD] = EOPNOTSUPP, [0xBE] = EOPNOTSUPP, [0xC6] = EOPNOTSUPP, [0xC7] = EOPNOTSUPP, [0xC8] = EOPNOTSUPP,
            [0xC9] = EOPNOTSUPP, [0xCE] = EINVAL, [0x3a] = EOPNOTSUPP, [0x3b] = EOPNOTSUPP, [0x3c] = EOPNOTSUPP,
            [0x08] = 0,
        };
        foreach (var (nr, want) in expected)
        {
            var d = t[(int)nr]!;
            Assert.True(want == m.Ioctl(master, d.Cmd, new byte[128]), $"{d.Name} on the master");
            // A non-master primary client is refused DRM_MASTER ioctls by drm_ioctl_permit (-EACCES) before the handler.
            long wantPlain = (d.Flags & DrmIoctlFlags.DRM_MASTER) != 0 ? EACCES : want;
            Assert.True(wantPlain == m.Ioctl(plain, d.Cmd, new byte[128]), $"{d.Name} on a non-master");
            // None is DRM_RENDER_ALLOW: a render client gets -EACCES.
            Assert.True(EACCES == m.Ioctl(render, d.Cmd, new byte[128]), $"{d.Name} on the render node");
        }
        // LIST_LESSEES and GET_LEASE check their pad before the feature: -EINVAL.
        var pad = new byte[16];
        pad[4] = 1;
        Assert.Equal(EINVAL, m.Ioctl(master, t[0xC7]!.Cmd, pad));
        Assert.Equal(EINVAL, m.Ioctl(master, t[0xC8]!.Cmd, (byte[])pad.Clone()));
        Assert.Equal(0, m.Services.GetRequiredService<UnmodelledCalls>().Total); // all of this is Linux's answer
    }

    [Fact]
    public void legacy_and_empty_slots()
    {
        using var m = TestMachine.WithDrm("vgem");
        int master = m.Open("/dev/dri/card0");
        int render = m.Open("/dev/dri/renderD128");
        var t = DrmIoctl.CoreTable(false);
        // DRM_IOCTL_ADD_MAP: DRM_LEGACY_IOCTL_DEF without CONFIG_DRM_LEGACY = drm_invalid_op with
        // DRM_AUTH|DRM_MASTER|DRM_ROOT_ONLY: root master passes drm_ioctl_permit, then -EINVAL.
        Assert.Equal(EINVAL, m.Ioctl(master, t[0x15]!.Cmd, new byte[40]));
        Assert.Equal(EACCES, m.Ioctl(render, t[0x15]!.Cmd, new byte[40]));
        // BLOCK is drm_noop with the same flags: 0 for the root master.
        Assert.Equal(0, m.Ioctl(master, t[0x12]!.Cmd, new byte[4]));
        // AGP_INFO (x86_64 has CONFIG_AGP): drm_invalid_op with DRM_AUTH -> -EINVAL; render -> -EACCES.
        Assert.Equal(EINVAL, m.Ioctl(master, Io(2, 0x33, 56), new byte[56]));
        Assert.Equal(EACCES, m.Ioctl(render, Io(2, 0x33, 56), new byte[56]));
        // Slots no DRM_IOCTL_DEF fills (0x0e, 0x2f, 0x3d) have no func: -EINVAL before any permission check.
        Assert.Equal(EINVAL, m.Ioctl(render, Io(3, 0x0e, 8), new byte[8]));
        Assert.Equal(EINVAL, m.Ioctl(render, Io(3, 0x2f, 8), new byte[8]));
        // nr >= DRM_CORE_IOCTL_COUNT (0xCF) and outside the driver range: -EINVAL.
        Assert.Equal(EINVAL, m.Ioctl(render, Io(3, 0xCF, 8), new byte[8]));
        // A non-root master fails DRM_ROOT_ONLY: -EACCES.
        var user = m.Spawn("user", euid: 1000);
        Assert.Equal(0, m.Process.Close(master));
        int umaster = user.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        Assert.Equal(EACCES, TestMachine.Ioctl(user, umaster, t[0x12]!.Cmd, new byte[4]));
        // FINISH is drm_noop with DRM_AUTH only: the (authenticated) master gets 0.
        Assert.Equal(0, TestMachine.Ioctl(user, umaster, t[0x2c]!.Cmd, new byte[8]));
    }

    [Fact]
    public void arm_has_no_agp_slots()
    {
        using var m = TestMachine.WithDrm(new MachineOptions().ApplyArmBoard(), "pl111_drm");
        int fd = m.Open("/dev/dri/card0");
        // drivers/char/agp needs X86 (or ALPHA/IA64/PARISC/PPC/SPARC): on ARM the AGP slots are empty -> -EINVAL,
        // whatever the caller; drm_agp_info's 32-bit size would be 32.
        Assert.Null(DrmIoctl.CoreTable(true)[0x33]);
        Assert.Equal(EINVAL, m.Ioctl(fd, Io(2, 0x33, 32), new byte[32]));
        // drm_unique is 8 bytes on a 32-bit kernel.
        Assert.Equal(0xC0086401u, DrmH.DRM_IOCTL_GET_UNIQUE(true));
    }

    [Fact]
    public void kms_ioctls_of_a_kms_driver_are_counted_as_unmodelled()
    {
        using var m = TestMachine.WithDrm("virtio_gpu");
        int fd = m.Open("/dev/dri/card0");
        var t = DrmIoctl.CoreTable(false);
        var unmodelled = m.Services.GetRequiredService<UnmodelledCalls>();
        Assert.Equal(EINVAL, m.Ioctl(fd, t[0xA0]!.Cmd, new byte[64]));
        Assert.Equal(1, unmodelled.Counts["DRM_IOCTL_MODE_GETRESOURCES"]);
        // Checks that precede any KMS object are Linux's own: SETCRTC with x beyond 16 bits is -ERANGE, a cursor
        // without flags -EINVAL, an atomic commit without the ATOMIC client cap -EINVAL; none is counted.
        var crtc = new byte[104];
        BinaryPrimitives.WriteUInt32LittleEndian(crtc.AsSpan(20), 0x10000);
        Assert.Equal(-(long)Errno.ERANGE, m.Ioctl(fd, t[0xA2]!.Cmd, crtc));
        Assert.Equal(EINVAL, m.Ioctl(fd, t[0xA3]!.Cmd, new byte[28]));
        Assert.Equal(EINVAL, m.Ioctl(fd, t[0xBC]!.Cmd, new byte[56]));
        // virtio-gpu has no vblank (no drm_vblank_init): WAIT_VBLANK is -EOPNOTSUPP, Linux's answer.
        Assert.Equal(EOPNOTSUPP, m.Ioctl(fd, t[0x3a]!.Cmd, new byte[24]));
        Assert.Equal(1, unmodelled.Total);
    }
}
