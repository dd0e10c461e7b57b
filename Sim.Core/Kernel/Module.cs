// Models kernel/module/main.c (load_module, do_init_module, delete_module, try_module_get/module_put,
// module_flags, print_modules), kernel/module/procfs.c (/proc/modules) and the module images on disk.
using System.Text;
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

/// <summary><c>enum module_state</c>.</summary>
public enum ModuleState
{
    /// <summary>MODULE_STATE_LIVE.</summary>
    Live,
    /// <summary>MODULE_STATE_COMING (init running).</summary>
    Coming,
    /// <summary>MODULE_STATE_GOING.</summary>
    Going,
    /// <summary>MODULE_STATE_UNFORMED.</summary>
    Unformed,
}

/// <summary>A module file a simulated <c>insmod</c> can load (a <c>.ko</c>): its identity and a factory for its code.</summary>
public interface IModuleImage
{
    /// <summary>The module's name (<c>kvmfr</c>).</summary>
    string Name { get; }

    /// <summary>True when built in tree (no O taint).</summary>
    bool InTree { get; }

    /// <summary>True when signed with a trusted key (no E taint).</summary>
    bool Signed { get; }

    /// <summary>init_layout.size + core_layout.size: the size column of /proc/modules.</summary>
    uint Size { get; }

    /// <summary>A fresh instance of the module's code and static data (each load starts from zero).</summary>
    IModuleCode Instantiate();
}

/// <summary>The code of one loaded module: its parameters, <c>module_init</c> and <c>module_exit</c>.</summary>
public interface IModuleCode
{
    /// <summary>The module's parameters (<c>mod-&gt;kp</c>).</summary>
    IReadOnlyList<KernelParam> Params { get; }

    /// <summary>True when the module has an exit function (it can be unloaded).</summary>
    bool HasExit => true;

    /// <summary><c>module_init</c>: 0 or a negative errno.</summary>
    int Init(Module module);

    /// <summary><c>module_exit</c>.</summary>
    void Exit();
}

/// <summary><c>struct module</c>: a loaded (or loading) module.</summary>
[Kernel("struct module", "include/linux/module.h")]
public sealed class Module
{
    internal Module(string name, IModuleImage? image, IModuleCode? code, uint size)
    {
        Name = name;
        Image = image;
        Code = code;
        Size = size;
    }

    /// <summary><c>name</c>.</summary>
    public string Name { get; }

    /// <summary>The image it came from (null for modules present at start that are not modelled as code).</summary>
    public IModuleImage? Image { get; }

    /// <summary>Its code instance.</summary>
    public IModuleCode? Code { get; }

    /// <summary>The /proc/modules size.</summary>
    public uint Size { get; }

    /// <summary><c>state</c>.</summary>
    public ModuleState State { get; internal set; }

    /// <summary><c>taints</c> (TAINT_* bits).</summary>
    public ulong Taints { get; internal set; }

    /// <summary><c>module_refcount(mod)</c>.</summary>
    public int Refcount { get; internal set; }

    /// <summary>Names of modules that use this one (<c>source_list</c>).</summary>
    public List<string> UsedBy { get; } = [];

    /// <summary><c>module_flags(mod, buf, show_state)</c>: "(OE+)" and the like, "" when nothing to show.</summary>
    [Kernel("module_flags", "kernel/module/main.c")]
    public string Flags(bool showState)
    {
        if (Taints == 0 && !showState)
        {
            return "";
        }
        if (Taints == 0 && State is not (ModuleState.Going or ModuleState.Coming))
        {
            return "";
        }
        var sb = new StringBuilder("(");
        sb.Append(Taint.ModuleLetters(Taints));
        if (State == ModuleState.Going && showState)
        {
            sb.Append('-');
        }
        if (State == ModuleState.Coming && showState)
        {
            sb.Append('+');
        }
        return sb.Append(')').ToString();
    }
}

/// <summary>
/// The kernel's <c>modules</c> list with the state other subsystems use: <c>find_module</c>, module reference
/// counts (<c>try_module_get</c>/<c>module_put</c>, taken by open files of a module's char devices and by its
/// dma-bufs), <c>last_unloaded_module</c> and the "Modules linked in:" text.
/// </summary>
[Kernel("modules", "kernel/module/main.c")]
public sealed class ModuleList
{
    private readonly List<Module> _modules = [];

    /// <summary>Loaded modules, most recently loaded first.</summary>
    public IReadOnlyList<Module> Modules => _modules;

    /// <summary><c>last_unloaded_module</c>: name and taint flags ("(OE)"), or null.</summary>
    public (string Name, string Taints)? LastUnloaded { get; set; }

    internal void AddFirst(Module m) => _modules.Insert(0, m);

    internal void Remove(Module m) => _modules.Remove(m);

    /// <summary><c>find_module(name)</c>: the module, also while it is loading.</summary>
    [Kernel("find_module", "kernel/module/main.c")]
    public Module? Find(string name)
    {
        foreach (var m in _modules)
        {
            if (m.Name == name && m.State != ModuleState.Unformed)
            {
                return m;
            }
        }
        return null;
    }

    /// <summary>Records a module as loaded and live without modelling its code (modules present at start, e.g. drm).</summary>
    public Module AddPresent(string name, uint size = 0)
    {
        var m = new Module(name, null, null, size) { State = ModuleState.Live };
        _modules.Insert(0, m);
        return m;
    }

    /// <summary><c>try_module_get(owner)</c> by module name (null = built in: always succeeds).</summary>
    [Kernel("try_module_get", "kernel/module/main.c")]
    public bool TryModuleGet(string? owner)
    {
        if (owner is null)
        {
            return true;
        }
        var m = Find(owner);
        if (m is null || m.State == ModuleState.Going)
        {
            return false;
        }
        m.Refcount++;
        return true;
    }

    /// <summary><c>module_put(owner)</c>.</summary>
    [Kernel("module_put", "kernel/module/main.c")]
    public void ModulePut(string? owner)
    {
        if (owner is null)
        {
            return;
        }
        var m = Find(owner);
        if (m is not null)
        {
            m.Refcount--;
        }
    }

    /// <summary>The text <c>print_modules</c> prints: "Modules linked in: a(OE+) b c [last unloaded: m]".</summary>
    public string ModulesLinkedIn()
    {
        var sb = new StringBuilder("Modules linked in:");
        foreach (var m in _modules)
        {
            if (m.State == ModuleState.Unformed)
            {
                continue;
            }
            sb.Append(' ').Append(m.Name).Append(m.Flags(true));
        }
        if (LastUnloaded is { } lu)
        {
            sb.Append(" [last unloaded: ").Append(lu.Name).Append(lu.Taints).Append(']');
        }
        return sb.ToString();
    }
}

/// <summary>
/// The module loader: <c>finit_module</c>/<c>init_module</c> (load_module's taint, signature, parameter and init
/// steps in the kernel's order), <c>delete_module</c>, module reference counts (<c>try_module_get</c>/<c>module_put</c>,
/// taken by open files of a module's char devices and by its dma-bufs), <c>/proc/modules</c> and "Modules linked in:".
/// </summary>
[Kernel("load_module", "kernel/module/main.c")]
public sealed class ModuleLoader(ModuleList list, Printk printk, Taint taint, IEnumerable<IModuleImage> images, LiveObjects live)
{
    /// <summary>O_NONBLOCK as delete_module's flags use it.</summary>
    public const uint O_NONBLOCK = 0x800;
    /// <summary>O_TRUNC (forced unload, not configured).</summary>
    public const uint O_TRUNC = 0x200;

    private readonly Dictionary<Module, long> _liveIds = [];
    private bool _sigNoticePrinted;


    /// <summary>The module list.</summary>
    public ModuleList List => list;

    /// <summary><c>find_module(name)</c>.</summary>
    public Module? Find(string name) => list.Find(name);

    /// <summary>The module images this machine has on disk.</summary>
    public IEnumerable<IModuleImage> Images => images;


    /// <summary>True once the one-time "module verification failed" notice has been printed in this boot.</summary>
    public bool SignatureNoticePrinted { get => _sigNoticePrinted; set => _sigNoticePrinted = value; }


    /// <summary>The image named <paramref name="nameOrPath"/> (<c>kvmfr</c>, <c>kvmfr.ko</c>, <c>/mods/kvmfr.ko</c>).</summary>
    public IModuleImage? FindImage(string nameOrPath)
    {
        string file = Path.GetFileName(nameOrPath);
        if (file.EndsWith(".ko", StringComparison.Ordinal))
        {
            file = file[..^3];
        }
        foreach (var i in images)
        {
            if (i.Name == file || i.Name.Replace('-', '_') == file.Replace('-', '_'))
            {
                return i;
            }
        }
        return null;
    }


    /// <summary>
    /// <c>finit_module(fd of path, args, flags)</c>: loads the image at <paramref name="path"/> with the parameter
    /// string; 0 or a negative errno (<c>-ENOENT</c> for a file that is not there).
    /// </summary>
    [Kernel("finit_module", "kernel/module/main.c")]
    public int FinitModule(string path, string args, int flags = 0)
    {
        var image = FindImage(path);
        return image is null ? -(int)Errno.ENOENT : LoadModule(image, args);
    }

    /// <summary><c>init_module(image, len, args)</c>: the same load from a copy in user memory.</summary>
    [Kernel("init_module", "kernel/module/main.c")]
    public int InitModule(string path, string args) => FinitModule(path, args);

    /// <summary><c>load_module</c> + <c>do_init_module</c>.</summary>
    public int LoadModule(IModuleImage image, string args)
    {
        // module_sig_check: unsigned modules are accepted (no enforcement); sig_ok = false.
        var code = image.Instantiate();
        var mod = new Module(image.Name, image, code, image.Size) { State = ModuleState.Unformed };
        // layout_and_allocate -> check_modinfo: out-of-tree taint.
        if (!image.InTree)
        {
            if (!taint.Test(Taint.TAINT_OOT_MODULE))
            {
                printk.Warn($"{mod.Name}: loading out-of-tree module taints kernel.\n");
            }
            AddTaintModule(mod, Taint.TAINT_OOT_MODULE);
        }
        // add_unformed_module.
        var old = Find(mod.Name);
        if (old is not null)
        {
            return old.State == ModuleState.Live ? -(int)Errno.EEXIST : -(int)Errno.EBUSY;
        }
        list.AddFirst(mod);
        if (!image.Signed)
        {
            if (!_sigNoticePrinted)
            {
                _sigNoticePrinted = true;
                printk.Notice($"{mod.Name}: module verification failed: signature and/or required key missing - tainting kernel\n");
            }
            AddTaintModule(mod, Taint.TAINT_UNSIGNED_MODULE);
        }
        // prepare_coming_module, then parse_args.
        mod.State = ModuleState.Coming;
        int err = Params.ParseArgs(printk, mod.Name, args, code.Params, UnknownModuleParam);
        if (err != 0)
        {
            mod.State = ModuleState.Going;
            list.Remove(mod);
            return err;
        }
        // do_init_module.
        int ret = code.Init(mod);
        if (ret < 0)
        {
            mod.State = ModuleState.Going;
            Unlink(mod);
            return ret;
        }
        mod.State = ModuleState.Live;
        return 0;
    }

    // unknown_module_param_cb: async_probe and dyndbg are the module loader's own; others are warned and ignored.
    [Kernel("unknown_module_param_cb", "kernel/module/main.c")]
    private int UnknownModuleParam(string param, string? val, string modname)
    {
        if (param == "async_probe" || param == "dyndbg" || param.EndsWith(".dyndbg", StringComparison.Ordinal))
        {
            return 0;
        }
        printk.Warn($"{modname}: unknown parameter '{param}' ignored\n");
        return 0;
    }

    private void AddTaintModule(Module mod, int flag)
    {
        taint.Add(flag);
        mod.Taints |= 1UL << flag;
    }

    /// <summary>
    /// <c>delete_module(name, flags)</c>: <c>-ENOENT</c> (not loaded), <c>-EWOULDBLOCK</c> (used by another module,
    /// or references held: <c>try_stop_module</c> without forced unload), <c>-EBUSY</c> (not live, or no exit);
    /// otherwise runs <c>module_exit</c>, records it as last unloaded and frees it.
    /// </summary>
    [Kernel("delete_module", "kernel/module/main.c")]
    public int DeleteModule(string name, uint flags)
    {
        if (name.Length == 0 || name.Length >= 56)
        {
            return -(int)Errno.ENOENT;
        }
        var mod = Find(name);
        if (mod is null)
        {
            return -(int)Errno.ENOENT;
        }
        if (mod.UsedBy.Count > 0)
        {
            return -(int)Errno.EAGAIN;
        }
        if (mod.State != ModuleState.Live)
        {
            return -(int)Errno.EBUSY;
        }
        if (mod.Code is not null && !mod.Code.HasExit)
        {
            return -(int)Errno.EBUSY;
        }
        if (mod.Refcount != 0)
        {
            return -(int)Errno.EAGAIN;
        }
        mod.State = ModuleState.Going;
        mod.Code?.Exit();
        list.LastUnloaded = (mod.Name, mod.Flags(false));
        Unlink(mod);
        return 0;
    }

    private void Unlink(Module mod)
    {
        list.Remove(mod);
        if (_liveIds.Remove(mod, out long id))
        {
            live.Unregister(id);
        }
    }



    /// <summary>
    /// Sets <see cref="ModuleList.LastUnloaded"/> from a name (a trace's <c>boot_state.last_unloaded</c>); its taint flags
    /// follow from the image when this machine has one (kvmfr: out of tree and unsigned, "(OE)").
    /// </summary>
    public void SetLastUnloaded(string? name)
    {
        if (name is null)
        {
            list.LastUnloaded = null;
            return;
        }
        var image = FindImage(name);
        string letters = image is null ? "" : (image.InTree ? "" : "O") + (image.Signed ? "" : "E");
        list.LastUnloaded = (name, letters.Length == 0 ? "" : "(" + letters + ")");
    }

    /// <summary>
    /// One line of <c>/proc/modules</c> (<c>m_show</c>): "name size refcount used_by state address [(taints)]"
    /// with the address shown as 0x0000000000000000 (a reader without CAP_SYSLOG sees that too).
    /// </summary>
    [Kernel("m_show", "kernel/module/procfs.c")]
    public static string ProcModulesLine(Module m)
    {
        string used = m.UsedBy.Count > 0 ? string.Join(",", m.UsedBy) + "," : (m.Code is not null && !m.Code.HasExit ? "[permanent]," : "-");
        string state = m.State switch { ModuleState.Going => "Unloading", ModuleState.Coming => "Loading", _ => "Live" };
        string line = $"{m.Name} {m.Size} {m.Refcount} {used} {state} 0x0000000000000000";
        return m.Taints != 0 ? line + " " + m.Flags(true) : line;
    }
}
