// Models the module syscalls of kernel/module/main.c (Linux 6.1): finit_module and delete_module, run as the caller.
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary><c>finit_module(fd of path, params, flags)</c>: 0 or -errno (<c>-ENOSYS</c> on a machine without a module loader).</summary>
    [Kernel("__do_sys_finit_module", "kernel/module/main.c")]
    public int FinitModule(Process caller, string path, string paramValues, int flags = 0)
    {
        if (_modules is null)
        {
            return (int)Enosys;
        }
        using var syscall = Enter(caller);
        return _modules().FinitModule(path, paramValues, flags);
    }

    /// <summary><c>delete_module(name, flags)</c>: 0 or -errno.</summary>
    [Kernel("__do_sys_delete_module", "kernel/module/main.c")]
    public int DeleteModule(Process caller, string name, uint flags)
    {
        if (_modules is null)
        {
            return -(int)Errno.ENOSYS;
        }
        using var syscall = Enter(caller);
        return _modules().DeleteModule(name, flags);
    }
}
