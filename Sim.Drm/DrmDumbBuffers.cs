// Models drivers/gpu/drm/drm_dumb_buffers.c (Linux 6.1): the core checks of MODE_CREATE_DUMB (u32
// arithmetic), MAP_DUMB and DESTROY_DUMB.
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>The dumb-buffer ioctls.</summary>
[Kernel("drm_dumb_buffers", "drivers/gpu/drm/drm_dumb_buffers.c")]
public static class DrmDumbBuffers
{
    /// <summary>
    /// <c>drm_mode_create_dumb</c>: <c>-ENOSYS</c> without <c>dumb_create</c>; zero width/height/bpp, bpp above
    /// U32_MAX - 8, cpp*width or height*stride beyond u32, or a size that page-aligns to 0 -> <c>-EINVAL</c>
    /// (the struct is left as given); then handle/pitch/size are zeroed and the driver runs.
    /// </summary>
    [Kernel("drm_mode_create_dumb", "drivers/gpu/drm/drm_dumb_buffers.c")]
    public static int CreateDumb(DrmDevice dev, Span<drm_mode_create_dumb> argsSpan, DrmFile file)
    {
        ref var args = ref argsSpan[0];
        if (dev.Driver.DumbCreate is null)
        {
            return -(int)Errno.ENOSYS;
        }
        if (args.width == 0 || args.height == 0 || args.bpp == 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (args.bpp > uint.MaxValue - 8 && !dev.Mutations.SkipDumbBppLimit) // a test may compose a machine without this rule
        {
            return -(int)Errno.EINVAL;
        }
        uint cpp = (args.bpp + 7) / 8;
        if (cpp > uint.MaxValue / args.width)
        {
            return -(int)Errno.EINVAL;
        }
        uint stride = cpp * args.width;
        if (args.height > uint.MaxValue / stride)
        {
            return -(int)Errno.EINVAL;
        }
        uint size = args.height * stride;
        if (unchecked((size + 4095u) & ~4095u) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        args.handle = 0;
        args.pitch = 0;
        args.size = 0;
        return dev.Driver.DumbCreate(file, dev, argsSpan);
    }

    /// <summary><c>drm_mode_create_dumb_ioctl</c>.</summary>
    [Kernel("drm_mode_create_dumb_ioctl", "drivers/gpu/drm/drm_dumb_buffers.c")]
    public static int CreateDumbIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        CreateDumb(dev, MemoryMarshal.Cast<byte, drm_mode_create_dumb>(data[..Marshal.SizeOf<drm_mode_create_dumb>()]), file);

    /// <summary><c>drm_mode_mmap_dumb_ioctl</c>: the driver's <c>dumb_map_offset</c> or <c>drm_gem_dumb_map_offset</c>; <c>pad</c> is not looked at.</summary>
    [Kernel("drm_mode_mmap_dumb_ioctl", "drivers/gpu/drm/drm_dumb_buffers.c")]
    public static int MmapDumbIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_mode_map_dumb>(data);
        if (dev.Driver.DumbCreate is null)
        {
            return -(int)Errno.ENOSYS;
        }
        var (offset, err) = dev.Driver.DumbMapOffset is not null
            ? dev.Driver.DumbMapOffset(file, dev, args.handle)
            : DrmGem.DumbMapOffset(file, dev, args.handle);
        if (err == 0)
        {
            args.offset = offset;
        }
        return err;
    }

    /// <summary><c>drm_mode_destroy_dumb</c>.</summary>
    [Kernel("drm_mode_destroy_dumb", "drivers/gpu/drm/drm_dumb_buffers.c")]
    public static int DestroyDumb(DrmDevice dev, uint handle, DrmFile file)
    {
        if (dev.Driver.DumbCreate is null)
        {
            return -(int)Errno.ENOSYS;
        }
        return dev.Driver.DumbDestroy is not null ? dev.Driver.DumbDestroy(file, dev, handle) : DrmGem.DumbDestroy(file, dev, handle);
    }

    /// <summary><c>drm_mode_destroy_dumb_ioctl</c>.</summary>
    [Kernel("drm_mode_destroy_dumb_ioctl", "drivers/gpu/drm/drm_dumb_buffers.c")]
    public static int DestroyDumbIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DestroyDumb(dev, MemoryMarshal.AsRef<drm_mode_destroy_dumb>(data).handle, file);
}
