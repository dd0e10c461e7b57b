using Sim.Tests.Infrastructure;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>GEM handles, GEM_CLOSE, GEM_FLINK, GEM_OPEN and DRM_IOCTL_VERSION, from drm_gem.c / drm_ioctl.c.</summary>
public class GemTests
{
    private const long EINVAL = -(long)Errno.EINVAL;
    private const long ENOENT = -(long)Errno.ENOENT;

    [Fact]
    public void gem_close_valid_double_bad_and_closed_fd()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var a = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal(0, m.GemClose(fd, a.Handle, pad: 0xdead)); // pad ignored
        Assert.Equal(EINVAL, m.GemClose(fd, a.Handle));          // double close
        Assert.Equal(EINVAL, m.GemClose(fd, 0));
        Assert.Equal(EINVAL, m.DestroyDumb(fd, 77));
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(-(long)Errno.EBADF, m.GemClose(fd, 1));
    }

    [Fact]
    public void handles_are_lowest_free_from_one()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        for (uint k = 1; k <= 5; k++)
        {
            Assert.Equal(k, m.CreateDumb(fd, 8, 8, 32).Handle);
        }
        Assert.Equal(0, m.DestroyDumb(fd, 2));
        Assert.Equal(0, m.DestroyDumb(fd, 4));
        Assert.Equal(2u, m.CreateDumb(fd, 8, 8, 32).Handle);
        Assert.Equal(4u, m.CreateDumb(fd, 8, 8, 32).Handle);
        Assert.Equal(6u, m.CreateDumb(fd, 8, 8, 32).Handle);
        Assert.Equal(0, m.Process.Close(fd)); // close with live handles frees all
        Assert.Equal(0, m.Live.Count("drm_gem_object"));
    }

    [Fact]
    public void flink_and_open_across_two_files()
    {
        using var m = TestMachine.WithDrm("vgem");
        int f1 = m.Open("/dev/dri/card0");
        int f2 = m.Open("/dev/dri/card0");
        var a = m.CreateDumb(f1, 64, 64, 32);
        var b = m.CreateDumb(f1, 8, 8, 32);
        Assert.Equal((0L, 1u), m.Flink(f1, a.Handle));
        Assert.Equal((0L, 1u), m.Flink(f1, a.Handle)); // same name again
        Assert.Equal((0L, 2u), m.Flink(f1, b.Handle));
        Assert.Equal(ENOENT, m.Flink(f1, 9).Ret);
        var o = m.GemOpen(f2, 1);
        Assert.Equal((0L, 1u, 16384UL), o);             // lowest free handle in f2, object size
        Assert.Equal(2u, m.GemOpen(f2, 1).Handle);      // each open makes a new handle
        Assert.Equal(ENOENT, m.GemOpen(f2, 3).Ret);
        Assert.Equal(ENOENT, m.GemOpen(f2, 0).Ret);
        // Same fake offset through both files.
        Assert.Equal(m.MapDumb(f1, a.Handle).Offset, m.MapDumb(f2, 1).Offset);
        // The name lives while any handle does.
        Assert.Equal(0, m.GemClose(f1, a.Handle));
        Assert.Equal(3u, m.GemOpen(f2, 1).Handle);
        Assert.Equal(0, m.GemClose(f2, 1));
        Assert.Equal(0, m.GemClose(f2, 2));
        Assert.Equal(0, m.GemClose(f2, 3));
        Assert.Equal(ENOENT, m.GemOpen(f2, 1).Ret);     // last handle gone: name removed
        Assert.Equal(0, m.Process.Close(f1));
        Assert.Equal(0, m.Process.Close(f2));
        Assert.Equal(0, m.Live.Count());
    }

    [Fact]
    public void version_full_and_truncated()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal((0L, "vgem", 4UL, 1), m.Version(fd, 63));
        Assert.Equal((0L, "vg", 4UL, 1), m.Version(fd, 2));   // truncated copy, full length reported
        Assert.Equal((0L, "", 4UL, 1), m.Version(fd, 0));     // length query with no buffer
    }

    [Fact]
    public void unknown_ioctls()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal(-(long)Errno.ENOTTY, m.Ioctl(fd, 0x40086200, new byte[8]));  // type 'b'
        Assert.Equal(EINVAL, m.Ioctl(fd, 0xc00864ff, new byte[8]));              // nr past the driver table
        Assert.Equal(EINVAL, m.Ioctl(fd, 0xc0086440, new byte[8]));              // vgem slot 0 is empty
    }
}
