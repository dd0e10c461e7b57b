using System.CommandLine;
using System.Diagnostics;
using Sim.Cli.RealKernel;

namespace Sim.Cli;

/// <summary>
/// <c>dmabufsim realkernel [--prepare-only] [--mem MIB]</c>: prepares a genuine Debian Linux 6.1 (kernel package,
/// modules, busybox, the guest agent, an initramfs), boots it under QEMU (TCG), runs a smoke script through the
/// agent, and reports the boot time.
/// </summary>
public static class RealKernelCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Create()
    {
        var prepareOnly = new Option<bool>("--prepare-only") { Description = "prepare the kernel, tools and initramfs, do not boot" };
        var mem = new Option<int>("--mem") { Description = "guest RAM in MiB", DefaultValueFactory = _ => 512 };
        var cmd = new Command("realkernel", "Prepare and boot a genuine Linux 6.1 kernel under QEMU with the DmaBufSim guest agent")
        {
            prepareOnly, mem,
        };
        cmd.SetAction(pr => Run(pr.GetValue(prepareOnly), pr.GetValue(mem), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>The smoke script: open card0, VERSION, one dumb buffer, close.</summary>
    public static readonly string[] SmokeScript =
    [
        "openat path=/dev/dri/card0 flags=524290",
        "DRM_IOCTL_VERSION on=4 name_len=63 date_len=63 desc_len=255",
        "DRM_IOCTL_MODE_CREATE_DUMB on=4 height=64 width=64 bpp=32",
        "close fd=4",
    ];

    /// <summary>Runs the verb; returns the exit status.</summary>
    public static int Run(bool prepareOnly, int memMib, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var sw = Stopwatch.StartNew();
            var image = RealKernelImage.Locate();
            image.Prepare(stdout);
            stdout.WriteLine($"realkernel: prepared {image.KernelPackage} in {sw.Elapsed.TotalSeconds:F1} s (cache {image.CacheDir})");
            if (prepareOnly)
            {
                return 0;
            }
            using var guest = GuestSession.Boot(image, memMib);
            stdout.WriteLine($"realkernel: booted {guest.KernelRelease} in {guest.BootTime.TotalSeconds:F1} s (QEMU TCG, {memMib} MiB)");
            var t = Stopwatch.StartNew();
            var answer = guest.RunScript("smoke", SmokeScript);
            stdout.Write(answer.Trace);
            stdout.WriteLine($"realkernel: smoke script {answer.Events} calls in {t.Elapsed.TotalMilliseconds:F0} ms, vgem unload {answer.RmmodResult}");
            return answer.Events == SmokeScript.Length && answer.RmmodResult == 0 ? 0 : 1;
        }
        catch (RealKernelException ex)
        {
            stderr.WriteLine($"dmabufsim realkernel: {ex.Message}");
            return 2;
        }
    }
}
