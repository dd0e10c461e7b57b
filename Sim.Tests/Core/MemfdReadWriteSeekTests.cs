using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// write, read and lseek on a memfd (mm/shmem.c of 6.1: <c>shmem_file_operations</c> has
/// <c>generic_file_write_iter</c>, <c>shmem_file_read_iter</c> and <c>shmem_file_llseek</c>; mm/filemap.c
/// <c>mapping_seek_hole_data</c>; fs/read_write.c <c>generic_file_llseek_size</c> and <c>vfs_setpos</c>). The
/// bad-input campaign found all three answering -EINVAL in the simulator.
/// </summary>
public sealed class MemfdReadWriteSeekTests : IDisposable
{
    private const int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2, SEEK_DATA = 3, SEEK_HOLE = 4;
    private readonly ServiceProvider _sp;
    private readonly Process _p;
    private readonly int _fd;

    public MemfdReadWriteSeekTests()
    {
        _sp = Composition.BuildMachine(Composition.ParseMachine("vgem"));
        _p = _sp.GetRequiredService<ProcessTable>().Spawn("memfd");
        _fd = (int)_sp.GetRequiredService<Memfd>().Create(_p, "m", Memfd.MFD_CLOEXEC | Memfd.MFD_ALLOW_SEALING);
        Assert.True(_fd >= 0);
    }

    public void Dispose() => _sp.Dispose();

    [Fact]
    public void Write_appends_at_the_position_and_grows_the_file()
    {
        Assert.Equal(0, _p.Write(_fd, []));                    // nothing to write: 0, position unchanged
        Assert.Equal(16, _p.Write(_fd, new byte[16]));
        Assert.Equal(16, _p.Lseek(_fd, 0, SEEK_CUR));
        Assert.Equal(4096, _p.Lseek(_fd, 4096, SEEK_SET));
        Assert.Equal(16, _p.Write(_fd, new byte[16]));
        Assert.Equal(4112, _p.Lseek(_fd, 0, SEEK_END));        // i_size is the end written
        Assert.Equal(0, _p.Lseek(_fd, 0, SEEK_SET));
        var back = new byte[32];
        Assert.Equal(32, _p.Read(_fd, back));
        Assert.Equal(32, _p.Lseek(_fd, 0, SEEK_CUR));
    }

    [Fact]
    public void Write_is_refused_by_the_write_seal_but_not_when_empty()
    {
        Assert.Equal(0, _p.Fcntl(_fd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_WRITE));
        Assert.Equal(-(long)Errno.EPERM, _p.Write(_fd, new byte[1]));
        Assert.Equal(0, _p.Write(_fd, []));
    }

    [Fact]
    public void Seek_data_and_hole_follow_the_page_cache_up_to_i_size()
    {
        // empty file: both -ENXIO (end <= start); a negative offset -ENXIO before anything
        Assert.Equal(-(long)Errno.ENXIO, _p.Lseek(_fd, 0, SEEK_DATA));
        Assert.Equal(-(long)Errno.ENXIO, _p.Lseek(_fd, 0, SEEK_HOLE));
        Assert.Equal(-(long)Errno.ENXIO, _p.Lseek(_fd, -1, SEEK_DATA));
        // page 1 written, page 0 a hole: i_size 4112
        Assert.Equal(4096, _p.Lseek(_fd, 4096, SEEK_SET));
        Assert.Equal(16, _p.Write(_fd, new byte[16]));
        Assert.Equal(4096, _p.Lseek(_fd, 0, SEEK_DATA));
        Assert.Equal(4100, _p.Lseek(_fd, 4100, SEEK_DATA));
        Assert.Equal(0, _p.Lseek(_fd, 0, SEEK_HOLE));
        Assert.Equal(4112, _p.Lseek(_fd, 4096, SEEK_HOLE));   // the implicit hole at i_size
        Assert.Equal(4112, _p.Lseek(_fd, 0, SEEK_CUR));       // the position moved there
        Assert.Equal(-(long)Errno.ENXIO, _p.Lseek(_fd, 4112, SEEK_DATA));
        Assert.Equal(-(long)Errno.ENXIO, _p.Lseek(_fd, 4112, SEEK_HOLE));
    }

    [Fact]
    public void Seek_set_cur_end_refuse_a_negative_position()
    {
        Assert.Equal(-(long)Errno.EINVAL, _p.Lseek(_fd, -1, SEEK_SET));
        Assert.Equal(-(long)Errno.EINVAL, _p.Lseek(_fd, -1, SEEK_END));
        Assert.Equal(long.MaxValue, _p.Lseek(_fd, long.MaxValue, SEEK_SET));
        Assert.Equal(long.MaxValue, _p.Lseek(_fd, 0, SEEK_CUR));
        Assert.Equal(-(long)Errno.EINVAL, _p.Lseek(_fd, 1, SEEK_CUR)); // wraps negative
        Assert.Equal(-(long)Errno.EINVAL, _p.Lseek(_fd, 5, 5));
    }
}
