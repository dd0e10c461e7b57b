// Models fs/namei.c (Linux 6.1): mknodat (do_mknodat) for character nodes.
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>mknodat(AT_FDCWD, path, mode, makedev(major, minor))</c> of a character node: 0 or <c>-EEXIST</c>. Other
    /// node types (regular files, fifos, sockets, block nodes) are not modelled: <c>-ENOSYS</c>.
    /// </summary>
    [Kernel("do_mknodat", "fs/namei.c")]
    public int Mknodat(Process caller, string path, uint mode, uint major, uint minor)
    {
        if ((mode & Inode.S_IFMT) != Inode.S_IFCHR)
        {
            return (int)Enosys;
        }
        using var syscall = Enter(caller);
        return _vfs.Mknod(path, mode, major, minor);
    }
}
