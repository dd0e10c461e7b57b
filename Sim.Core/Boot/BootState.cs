// The boot-wide kernel state a machine starts with (a trace header's machine_config.boot_state,
// modules_at_start, extra_nodes): taint, one-time messages and WARN sites already used, the warn_alloc rate
// limit, the last unloaded module, the modules already loaded and device nodes made by hand.
using System.Text.Json;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;

namespace Sim.Core.Boot;

/// <summary>Sets the machine's kernel state from its options, as the boot before the trace left it.</summary>
public sealed class BootState(MachineOptions options, Printk printk, Taint taint, Bug bug, WarnAlloc warnAlloc,
    ModuleLoader modules, Vfs vfs, Ktime clock, CurrentTask current)
{
    private bool _applied;

    /// <summary>
    /// Applies the state once: taint and one-time flags first, then the modules at start in load order (modelled
    /// images are really loaded with their parameters; others are recorded as present), then the hand-made
    /// nodes, then the rate limits; the kernel log is empty afterwards.
    /// </summary>
    public void Apply()
    {
        if (_applied)
        {
            return;
        }
        _applied = true;
        var mc = options.MachineConfig;
        bool hasConfig = mc.ValueKind == JsonValueKind.Object;
        JsonElement bs = default;
        bool hasBoot = hasConfig && mc.TryGetProperty("boot_state", out bs) && bs.ValueKind == JsonValueKind.Object;
        if (hasBoot)
        {
            if (bs.TryGetProperty("taint_flags", out var tf) && tf.ValueKind == JsonValueKind.String)
            {
                taint.SetFromLetters(tf.GetString()!);
            }
            if (bs.TryGetProperty("taint_messages_already_printed", out var tm) && tm.ValueKind == JsonValueKind.Array)
            {
                foreach (var m in tm.EnumerateArray())
                {
                    if (m.GetString()?.StartsWith("module verification failed", StringComparison.Ordinal) == true)
                    {
                        modules.SignatureNoticePrinted = true;
                    }
                }
            }
            if (bs.TryGetProperty("once_warnings_fired", out var ow) && ow.ValueKind == JsonValueKind.Array)
            {
                foreach (var w in ow.EnumerateArray())
                {
                    if (w.ValueKind == JsonValueKind.String)
                    {
                        bug.MarkOnceFired(w.GetString()!);
                    }
                }
            }
            if (bs.TryGetProperty("last_unloaded", out var lu))
            {
                modules.SetLastUnloaded(lu.ValueKind == JsonValueKind.String ? lu.GetString() : null);
            }
        }
        // Modules at start, in load order.
        using (current.Enter(1, "insmod"))
        {
            if (options.ModulesAtStart.Count > 0)
            {
                foreach (var (name, prm) in options.ModulesAtStart)
                {
                    if (modules.FindImage(name) is { } image)
                    {
                        modules.LoadModule(image, prm ?? "");
                    }
                    else
                    {
                        modules.List.AddPresent(name);
                    }
                }
            }
            else if (options.KvmfrLoaded && modules.FindImage("kvmfr") is { } kvmfr)
            {
                modules.LoadModule(kvmfr, options.KvmfrStaticSizeMb is null ? "" : "static_size_mb=" + options.KvmfrStaticSizeMb);
            }
        }
        if (hasConfig && mc.TryGetProperty("extra_nodes", out var nodes) && nodes.ValueKind == JsonValueKind.Array)
        {
            foreach (var n in nodes.EnumerateArray())
            {
                uint mode = n.TryGetProperty("mode", out var md) && md.ValueKind == JsonValueKind.String
                    ? Convert.ToUInt32(md.GetString(), 8) : 0x1a4;
                vfs.Mknod(n.GetProperty("path").GetString()!, mode, n.GetProperty("major").GetUInt32(), n.GetProperty("minor").GetUInt32());
            }
        }
        if (hasBoot && bs.TryGetProperty("ratelimits", out var rl) && rl.ValueKind == JsonValueKind.Object
            && rl.TryGetProperty("warn_alloc", out var wa) && wa.TryGetProperty("printed_in_current_interval", out var pr))
        {
            warnAlloc.Ratelimit.SetState(clock.Jiffies, pr.GetInt32());
        }
        if (!hasBoot || !bs.TryGetProperty("kernel_log_empty", out var le) || le.ValueKind != JsonValueKind.False)
        {
            printk.Clear();
        }
    }
}
