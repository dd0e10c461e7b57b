// The machine a replay or a command runs on, configured like a kernel command line plus module parameters
// (init/main.c, kernel/params.c) and from the trace header's machine_config.
using System.Globalization;
using System.Text.Json;

namespace Sim.Core.Boot;

/// <summary>How the DMA device reaches memory (kernel/dma/direct.c, drivers/iommu/dma-iommu.c, kernel/dma/swiotlb.c).</summary>
public enum DmaPath
{
    /// <summary>dma-direct: DMA address = physical address.</summary>
    Direct,
    /// <summary>iommu-dma with a DMA (lazy, FQ) domain: IOVAs.</summary>
    Iommu,
    /// <summary>dma-direct with <c>swiotlb=force</c>: every streaming mapping bounced.</summary>
    Swiotlb,
}

/// <summary>A DRM device of the machine (one driver instance: card and render minors).</summary>
public sealed record DrmDeviceConfig(string Driver, int CardMinor, int? RenderMinor, ulong? MmapOffsetStart,
    IReadOnlyList<(ulong Start, ulong Pages)> MmapOffsetsInUse);

/// <summary>Thrown for an option a person typed that the simulator cannot accept.</summary>
public sealed class MachineOptionException(string message) : Exception(message)
{
    /// <summary>Creates the exception.</summary>
    public MachineOptionException() : this("bad machine option") { }

    /// <summary>Creates the exception.</summary>
    public MachineOptionException(string message, Exception inner) : this(message + ": " + inner.Message) { }
}

/// <summary>
/// Everything a simulated machine is built from. Read like a kernel command line
/// (<c>mem=1G cma=16M iommu=on swiotlb=force vgem kvmfr.static_size_mb=1,1</c>) and from a trace header's
/// <c>machine_config</c>; the defaults are those of the traces README for a minimal header
/// (x86_64, 1 GiB, dma-direct, no CMA, no DRM device, kvmfr not loaded, HZ 250).
/// </summary>
public sealed class MachineOptions
{
    /// <summary><c>x86_64</c> or <c>arm</c> (32-bit: fake mmap offsets from 0x10000000).</summary>
    public string Arch { get; set; } = "x86_64";

    /// <summary>
    /// The kernel profile (<c>kernel=6.1</c>, the default, or <c>kernel=6.12</c>; from a trace header's
    /// <c>machine_config.kernel_release</c>). Models compare it: <c>options.Kernel &gt;= KernelVersion.V6_12</c>.
    /// </summary>
    public KernelVersion Kernel { get; set; } = KernelVersion.V6_1;

    /// <summary>PAGE_SIZE.</summary>
    public int PageSize { get; set; } = 4096;

    /// <summary>CONFIG_HZ.</summary>
    public int Hz { get; set; } = 250;

    /// <summary>RAM size in bytes (<c>mem=</c>).</summary>
    public ulong RamBytes { get; set; } = 1UL << 30;

    /// <summary>
    /// <c>hugepages=N</c>: the default hstate's (2 MiB) pool, allocated at boot (mm/hugetlb.c
    /// <c>hugetlb_nrpages_setup</c>); 0 by default, as Debian boots. A hugetlb memfd's mapping needs pool pages.
    /// </summary>
    public int HugePages { get; set; }

    /// <summary>
    /// The QEMU machine type of an x86 machine, <c>pc</c> (i440fx, QEMU's default; the vgem and kvmfr captures)
    /// or <c>q35</c> (the sg captures): it decides the e820 map (<see cref="E820Table"/>).
    /// </summary>
    public string QemuMachine { get; set; } = "pc";

    /// <summary>Physical address where RAM starts (0x60000000 on the ARM vexpress board).</summary>
    public ulong RamBase { get; set; }

    /// <summary>The CMA area size in bytes as requested (<c>cma=</c>); null = no CMA.</summary>
    public ulong? CmaBytes { get; set; }

    /// <summary>The CMA area's first pfn when known (trace header); null = placed by the model.</summary>
    public ulong? CmaBasePfn { get; set; }

    /// <summary>Pages of the CMA area already taken at boot (the ARM DMA atomic pool: 64).</summary>
    public int CmaPagesUsedAtStart { get; set; }

    /// <summary>CONFIG_CMA_ALIGNMENT (8).</summary>
    public int CmaMaxAlignOrder { get; set; } = 8;

    /// <summary>The DMA path of devices.</summary>
    public DmaPath DmaPath { get; set; } = DmaPath.Direct;

    /// <summary>swiotlb bounce pool base address, when the header gives it.</summary>
    public ulong? SwiotlbBase { get; set; }

    /// <summary>swiotlb bounce pool size (64 MiB default).</summary>
    public ulong SwiotlbBytes { get; set; } = 64UL << 20;

    /// <summary>DRM devices in minor order.</summary>
    public List<DrmDeviceConfig> DrmDevices { get; } = [];

    /// <summary>True when the kvmfr module is loaded at start.</summary>
    public bool KvmfrLoaded { get; set; }

    /// <summary><c>kvmfr.static_size_mb</c> as given (null = no parameter).</summary>
    public string? KvmfrStaticSizeMb { get; set; }

    /// <summary>The kvmfr char major when known (246 in the traces).</summary>
    public int? KvmfrMajor { get; set; }

    /// <summary>
    /// Dynamic char majors (254 downwards) taken by built-in drivers at boot. Machine fact of the traced x86_64
    /// Debian 6.1 kernel under QEMU <c>pc</c>: 8 (254..247), so the first module's <c>register_chrdev(0)</c>
    /// gets 246 (kvmfr traces); set from a header's <c>kvmfr.major</c> as 254 - major; 0 on ARM.
    /// </summary>
    public int BootDynamicMajors
    {
        get => _bootDynamicMajors ?? (KvmfrMajor is int m and >= 234 and <= 254 ? 254 - m : Is32Bit ? 0 : 8);
        set => _bootDynamicMajors = value;
    }

    private int? _bootDynamicMajors;

    /// <summary>Modules loaded at start, in load order (name, parameters or null).</summary>
    public List<(string Name, string? Params)> ModulesAtStart { get; } = [];

    /// <summary>The seed of the "pages" DRM driver's page scattering (<c>pages.seed=N</c>; default 1).</summary>
    public int PagesSeed { get; set; } = 1;

    /// <summary>
    /// <c>sw_sync</c>: CONFIG_SW_SYNC, the debugfs file <c>/sys/kernel/debug/sync/sw_sync</c> (Debian builds it on
    /// neither kernel; modelled from the upstream source). Off by default.
    /// </summary>
    public bool SwSync { get; set; }

    /// <summary>
    /// CONFIG_DMABUF_HEAPS_SYSTEM: <c>/dev/dma_heap/system</c>. On by default for <c>kernel=6.12</c> (Debian's
    /// 6.12.118 amd64 config has DMABUF_HEAPS=y and DMABUF_HEAPS_SYSTEM=y); off for 6.1 (Debian's 6.1 has no
    /// DMABUF_HEAPS), where option <c>dma_heap</c> models the upstream 6.1 code.
    /// </summary>
    public bool DmaHeapSystem
    {
        get => _dmaHeapSystem ?? Kernel >= KernelVersion.V6_12;
        set => _dmaHeapSystem = value;
    }

    private bool? _dmaHeapSystem;

    /// <summary>
    /// CONFIG_DMABUF_HEAPS_CMA: the CMA heap on the default CMA area (named after it: <c>/dev/dma_heap/reserved</c>
    /// for an area from <c>cma=</c>). Debian builds it on neither kernel: option only (<c>dma_heap</c>, <c>dma_heap=cma</c>).
    /// </summary>
    public bool DmaHeapCma { get; set; }

    /// <summary>CONFIG_DMABUF_HEAPS: the dma_heap char device class (any heap configured).</summary>
    public bool DmaHeapEnabled => DmaHeapSystem || DmaHeapCma;

    /// <summary>
    /// <c>udmabuf</c>: CONFIG_UDMABUF, <c>/dev/udmabuf</c>. On by default for <c>kernel=6.12</c> (Debian's 6.12.118
    /// amd64 has CONFIG_UDMABUF=y; its 6.1 does not build it); <c>udmabuf=off</c> turns it off.
    /// </summary>
    public bool Udmabuf
    {
        get => _udmabuf ?? Kernel >= KernelVersion.V6_12;
        set => _udmabuf = value;
    }

    private bool? _udmabuf;

    /// <summary><c>udmabuf.size_limit_mb</c> (default 64).</summary>
    public int UdmabufSizeLimitMb { get; set; } = 64;

    /// <summary><c>udmabuf.list_limit</c> (default 1024).</summary>
    public int UdmabufListLimit { get; set; } = 1024;

    /// <summary>
    /// The kernel has <c>SYNC_IOC_SET_DEADLINE</c> and <c>dma_fence_set_deadline</c> (Linux 6.4+, so the 6.12
    /// profile: on there by default); on 6.1 the ioctl is <c>-ENOTTY</c> unless option <c>sync_set_deadline</c> asks.
    /// </summary>
    public bool SyncIocSetDeadline
    {
        get => _syncIocSetDeadline ?? Kernel >= KernelVersion.V6_12;
        set => _syncIocSetDeadline = value;
    }

    private bool? _syncIocSetDeadline;

    /// <summary>The program runs as root (every DRM file authenticated).</summary>
    public bool Root { get; set; } = true;

    /// <summary>Command-line words the simulator does not model (ignored, as Linux passes them to init).</summary>
    public List<string> Ignored { get; } = [];

    /// <summary>Deliberate rule breaks for testing the testers (<see cref="Boot.Mutations"/>); never set from a header or command line.</summary>
    public Mutations Mutations { get; set; } = Mutations.None;

    /// <summary>The header's <c>machine_config</c> object, for family-specific details (undefined when none).</summary>
    public JsonElement MachineConfig { get; set; }

    /// <summary>True on the 32-bit ARM board.</summary>
    public bool Is32Bit => Arch == "arm";

    /// <summary>The first fake mmap offset of a DRM device: DRM_FILE_PAGE_OFFSET_START.</summary>
    public ulong DefaultMmapOffsetStart => Is32Bit ? 0x10000000UL : 0x100000000UL;

    /// <summary>
    /// Applies a command line. <paramref name="strict"/> (options a person typed): unknown or malformed
    /// words throw <see cref="MachineOptionException"/>. Otherwise (a kernel command line from a trace
    /// header) unknown words are ignored as Linux ignores them and malformed values keep the defaults.
    /// </summary>
    public MachineOptions Apply(string commandLine, bool strict)
    {
        foreach (var p in KernelCmdline.Split(commandLine))
        {
            if (!ApplyOne(p, out string? error))
            {
                if (strict)
                {
                    throw new MachineOptionException(error ?? $"unknown machine option '{p}'");
                }
                Ignored.Add(p.ToString());
            }
        }
        return this;
    }

    private bool ApplyOne(CmdlineParam p, out string? error)
    {
        error = null;
        string name = KernelCmdline.NormalizeName(p.Name);
        string? v = p.Value;
        switch (name)
        {
            case "mem":
                if (v is null || !KernelCmdline.TryMemparse(v, out ulong mem) || mem < (4UL << 20) || mem > (1UL << 40))
                {
                    error = $"mem={v}: expected a size from 4M to 1T (K, M, G, T suffixes)";
                    return false;
                }
                RamBytes = mem;
                return true;
            case "cma":
                if (v is null || !KernelCmdline.TryMemparse(v, out ulong cma))
                {
                    error = $"cma={v}: expected a size such as 16M";
                    return false;
                }
                CmaBytes = cma == 0 ? null : cma;
                CmaBasePfn = null;
                return true;
            case "iommu":
                switch (v)
                {
                    case "on" or "force" or "nopt" or "strict=0" or "1":
                        DmaPath = DmaPath.Iommu;
                        return true;
                    case "off" or "pt" or "0":
                        if (DmaPath == DmaPath.Iommu)
                        {
                            DmaPath = DmaPath.Direct;
                        }
                        return true;
                    default:
                        error = $"iommu={v}: expected on, off, pt or nopt";
                        return false;
                }
            case "intel_iommu" or "amd_iommu":
                if (v is "on" or "1")
                {
                    DmaPath = DmaPath.Iommu;
                    return true;
                }
                if (v is "off" or "0")
                {
                    DmaPath = DmaPath == DmaPath.Iommu ? DmaPath.Direct : DmaPath;
                    return true;
                }
                error = $"{p.Name}={v}: expected on or off";
                return false;
            case "swiotlb":
                if (v is not null && (v == "force" || v.EndsWith(",force", StringComparison.Ordinal)))
                {
                    DmaPath = DmaPath.Swiotlb;
                    return true;
                }
                if (v is not null && KernelCmdline.TryParseCInteger(v.Split(',')[0], out ulong slabs))
                {
                    SwiotlbBytes = slabs * 2048;
                    return true;
                }
                error = $"swiotlb={v}: expected force or a slab count";
                return false;
            case "kernel":
                if (KernelVersion.TryParseProfile(v, out var kv))
                {
                    Kernel = kv;
                    return true;
                }
                error = $"kernel={v}: expected 6.1 or 6.12";
                return false;
            case "machine":
                if (v is "pc" or "q35")
                {
                    QemuMachine = v;
                    return true;
                }
                error = $"machine={v}: expected pc or q35";
                return false;
            case "arch":
                if (v is "arm" or "x86_64")
                {
                    Arch = v;
                    return true;
                }
                error = $"arch={v}: expected arm or x86_64";
                return false;
            case "hugepages":
                if (v is not null && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int hp) && hp <= 1 << 20)
                {
                    HugePages = hp;
                    return true;
                }
                error = $"hugepages={v}: expected a count of 2 MiB pages";
                return false;
            case "hz":
                if (v is not null && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int hz) && hz is 100 or 250 or 300 or 1000)
                {
                    Hz = hz;
                    return true;
                }
                error = $"hz={v}: expected 100, 250, 300 or 1000";
                return false;
            case "vgem" or "virtio_gpu" or "pl111" or "pl111_drm" or "pages":
                if (v is not null)
                {
                    error = $"{p.Name} takes no value";
                    return false;
                }
                string driver = name switch { "pl111" => "pl111_drm", _ => name };
                AddDrmDevice(driver);
                return true;
            case "pages.seed":
                if (v is not null && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int seed))
                {
                    PagesSeed = seed;
                    return true;
                }
                error = $"pages.seed={v}: expected a non-negative integer";
                return false;
            case "kvmfr":
                if (v is not null)
                {
                    error = "kvmfr takes no value (use kvmfr.static_size_mb=1,2)";
                    return false;
                }
                KvmfrLoaded = true;
                return true;
            case "kvmfr.static_size_mb":
                if (v is null || v.Length == 0)
                {
                    error = "kvmfr.static_size_mb needs a value such as 1,2";
                    return false;
                }
                KvmfrLoaded = true;
                KvmfrStaticSizeMb = v;
                return true;
            case "udmabuf" when v is not null:
                if (v is "off" or "on")
                {
                    Udmabuf = v == "on";
                    return true;
                }
                error = $"udmabuf={v}: expected on or off";
                return false;
            case "dma_heap" when v is not null:
                bool sys = false, cmaHeap = false;
                foreach (var w in v.Split(','))
                {
                    switch (w)
                    {
                        case "system":
                            sys = true;
                            break;
                        case "cma":
                            cmaHeap = true;
                            break;
                        case "off" when v == "off":
                            break;
                        default:
                            error = $"dma_heap={v}: expected system, cma, system,cma or off";
                            return false;
                    }
                }
                DmaHeapSystem = sys;
                DmaHeapCma = cmaHeap;
                return true;
            case "sw_sync" or "dma_heap" or "udmabuf" or "sync_set_deadline":
                if (v is not null)
                {
                    error = $"{p.Name} takes no value";
                    return false;
                }
                switch (name)
                {
                    case "sw_sync":
                        SwSync = true;
                        break;
                    case "dma_heap":
                        // Both upstream heaps: the system heap, and the CMA heap when the machine has a CMA area.
                        DmaHeapSystem = true;
                        DmaHeapCma = true;
                        break;
                    case "udmabuf":
                        Udmabuf = true;
                        break;
                    default:
                        SyncIocSetDeadline = true;
                        break;
                }
                return true;
            case "udmabuf.size_limit_mb" or "udmabuf.list_limit":
                if (v is null || !int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int lim))
                {
                    error = $"{p.Name}={v}: expected an integer";
                    return false;
                }
                Udmabuf = true;
                if (name == "udmabuf.list_limit")
                {
                    UdmabufListLimit = lim;
                }
                else
                {
                    UdmabufSizeLimitMb = lim;
                }
                return true;
            case "board":
                if (v is "vexpress" or "pl111")
                {
                    ApplyArmBoard();
                    return true;
                }
                if (v is "pc")
                {
                    ApplyPc();
                    return true;
                }
                error = $"board={v}: expected vexpress or pc";
                return false;
            default:
                error = $"unknown machine option '{p}' (known: kernel=6.1|6.12 mem= cma= iommu= intel_iommu= swiotlb= arch= hz= machine=pc|q35 board=vexpress|pc vgem virtio-gpu pl111 pages pages.seed= kvmfr kvmfr.static_size_mb= sw_sync dma_heap[=system,cma|off] udmabuf[=off] udmabuf.size_limit_mb= udmabuf.list_limit= sync_set_deadline)";
                return false;
        }
    }

    /// <summary>Adds a DRM device with the next free card minor.</summary>
    public void AddDrmDevice(string driver)
    {
        int minor = DrmDevices.Count;
        int? render = driver == "pl111_drm" ? null : 128 + minor;
        DrmDevices.Add(new DrmDeviceConfig(driver, minor, render, null, []));
    }

    /// <summary>
    /// The README's default machine (x86_64, 1 GiB of RAM from 0, dma-direct, no CMA area, no DRM device): undoes
    /// <see cref="ApplyArmBoard"/>, so a verb whose default machine is the board (<c>tour</c>) can run on the PC.
    /// </summary>
    public MachineOptions ApplyPc()
    {
        Arch = "x86_64";
        RamBytes = 1UL << 30;
        RamBase = 0;
        CmaBytes = null;
        CmaBasePfn = null;
        CmaPagesUsedAtStart = 0;
        DmaPath = DmaPath.Direct;
        DrmDevices.RemoveAll(d => d.Driver == "pl111_drm");
        return this;
    }

    /// <summary>
    /// The ARM vexpress-a9 board of the cma-arm traces: 32-bit, 512 MiB at 0x60000000, a 16 MiB CMA area at
    /// pfn 0x7f000 whose first 64 pages hold the DMA atomic pool, no IOMMU, a PL111 display.
    /// </summary>
    public MachineOptions ApplyArmBoard()
    {
        Arch = "arm";
        RamBytes = 512UL << 20;
        RamBase = 0x60000000;
        CmaBytes = 16UL << 20;
        CmaBasePfn = null;
        CmaPagesUsedAtStart = 64;
        DmaPath = DmaPath.Direct;
        if (DrmDevices.Count == 0)
        {
            AddDrmDevice("pl111_drm");
        }
        return this;
    }

    /// <summary>
    /// Reads a trace header: its structured <c>machine_config</c> (any field may be missing: the README's
    /// defaults apply), and the options of <c>kernel_cmdline</c> that the simulator models.
    /// </summary>
    public static MachineOptions FromHeader(JsonElement header)
    {
        var o = new MachineOptions();
        if (header.ValueKind != JsonValueKind.Object || !header.TryGetProperty("machine_config", out var mc) || mc.ValueKind != JsonValueKind.Object)
        {
            return o;
        }
        o.MachineConfig = mc.Clone();
        if (mc.TryGetProperty("kernel_release", out var rel) && rel.ValueKind == JsonValueKind.String &&
            KernelVersion.TryParseProfile(rel.GetString(), out var kernel))
        {
            o.Kernel = kernel;
        }
        if (mc.TryGetProperty("arch", out var arch) && arch.ValueKind == JsonValueKind.String)
        {
            o.Arch = arch.GetString()!;
        }
        if (TryU64(mc, "page_size", out ulong ps))
        {
            o.PageSize = (int)ps;
        }
        if (TryU64(mc, "hz", out ulong hz))
        {
            o.Hz = (int)hz;
        }
        if (TryU64(mc, "ram_mib", out ulong ram))
        {
            o.RamBytes = ram << 20;
        }
        if (mc.TryGetProperty("machine", out var qm) && qm.ValueKind == JsonValueKind.String && qm.GetString() is "pc" or "q35")
        {
            o.QemuMachine = qm.GetString()!;
        }
        if (TryU64(mc, "ram_base", out ulong rb))
        {
            o.RamBase = rb;
        }
        if (mc.TryGetProperty("dma_path", out var dp) && dp.ValueKind == JsonValueKind.String)
        {
            o.DmaPath = dp.GetString() switch { "iommu" => DmaPath.Iommu, "swiotlb" => DmaPath.Swiotlb, _ => DmaPath.Direct };
        }
        if (mc.TryGetProperty("swiotlb", out var sw) && sw.ValueKind == JsonValueKind.Object)
        {
            if (TryU64(sw, "base", out ulong b))
            {
                o.SwiotlbBase = b;
            }
            if (TryU64(sw, "size_bytes", out ulong sz))
            {
                o.SwiotlbBytes = sz;
            }
        }
        if (mc.TryGetProperty("cma", out var cma) && cma.ValueKind == JsonValueKind.Object)
        {
            if (TryU64(cma, "count", out ulong count))
            {
                o.CmaBytes = count * 4096;
            }
            else if (TryU64(cma, "size_mib", out ulong mib))
            {
                o.CmaBytes = mib << 20;
            }
            if (TryU64(cma, "base_pfn", out ulong bp))
            {
                o.CmaBasePfn = bp;
            }
            if (TryU64(cma, "pages_used_at_start", out ulong used))
            {
                o.CmaPagesUsedAtStart = (int)used;
            }
            if (TryU64(cma, "max_align_order", out ulong mao))
            {
                o.CmaMaxAlignOrder = (int)mao;
            }
        }
        if (mc.TryGetProperty("drm_devices", out var devs) && devs.ValueKind == JsonValueKind.Array)
        {
            foreach (var d in devs.EnumerateArray())
            {
                string driver = d.TryGetProperty("driver", out var dr) && dr.ValueKind == JsonValueKind.String ? dr.GetString()! : "vgem";
                int card = TryU64(d, "card_minor", out ulong cm) ? (int)cm : o.DrmDevices.Count;
                int? render = TryU64(d, "render_minor", out ulong rm) ? (int)rm : null;
                ulong? start = TryU64(d, "mmap_offset_start", out ulong ms) ? ms : null;
                var inUse = new List<(ulong, ulong)>();
                if (d.TryGetProperty("mmap_offsets_in_use", out var iu) && iu.ValueKind == JsonValueKind.Array)
                {
                    foreach (var r in iu.EnumerateArray())
                    {
                        if (TryU64(r, "start", out ulong s) && TryU64(r, "pages", out ulong pg))
                        {
                            inUse.Add((s, pg));
                        }
                    }
                }
                o.DrmDevices.Add(new DrmDeviceConfig(driver, card, render, start, inUse));
            }
        }
        if (mc.TryGetProperty("kvmfr", out var kv) && kv.ValueKind == JsonValueKind.Object)
        {
            o.KvmfrLoaded = kv.TryGetProperty("loaded", out var l) && l.ValueKind == JsonValueKind.True;
            if (kv.TryGetProperty("params", out var kp) && kp.ValueKind == JsonValueKind.String)
            {
                string ps2 = kp.GetString()!;
                o.KvmfrStaticSizeMb = ps2.StartsWith("static_size_mb=", StringComparison.Ordinal) ? ps2["static_size_mb=".Length..] : ps2;
            }
            if (TryU64(kv, "major", out ulong maj))
            {
                o.KvmfrMajor = (int)maj;
            }
        }
        if (mc.TryGetProperty("modules_at_start", out var mods) && mods.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in mods.EnumerateArray())
            {
                if (m.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                {
                    string? prm = m.TryGetProperty("params", out var pv) && pv.ValueKind == JsonValueKind.String ? pv.GetString() : null;
                    o.ModulesAtStart.Add((n.GetString()!, prm));
                }
            }
        }
        if (mc.TryGetProperty("root", out var root) && root.ValueKind == JsonValueKind.False)
        {
            o.Root = false;
        }
        return o;
    }

    private static bool TryU64(JsonElement obj, string name, out ulong value)
    {
        value = 0;
        return obj.TryGetProperty(name, out var e) && Replay.TraceNumber.TryGetU64(e, out value);
    }

    /// <summary>A one-line summary for people (the replay table, the tour).</summary>
    public override string ToString()
    {
        var parts = new List<string> { Arch, "kernel=" + Kernel.Profile, $"mem={RamBytes >> 20}M" };
        if (CmaBytes is { } c)
        {
            parts.Add($"cma={c >> 20}M");
        }
        parts.Add(DmaPath switch { DmaPath.Iommu => "iommu=on", DmaPath.Swiotlb => "swiotlb=force", _ => "dma-direct" });
        foreach (var d in DrmDevices)
        {
            parts.Add(d.Driver);
        }
        if (HugePages > 0)
        {
            parts.Add($"hugepages={HugePages}");
        }
        if (KvmfrLoaded)
        {
            parts.Add(KvmfrStaticSizeMb is null ? "kvmfr" : "kvmfr.static_size_mb=" + KvmfrStaticSizeMb);
        }
        return string.Join(' ', parts);
    }
}
