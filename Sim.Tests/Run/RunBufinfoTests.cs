// dmabufsim run: /sys/kernel/debug/dma_buf/bufinfo (dma_buf_debug_show) read by a program, against the snapshots the
// real-kernel captures took at the same points (data/traces/linux-6.1-vgem/*.bufinfo.txt).
using Sim.Machine;
using Xunit;

namespace Sim.Tests.RunVerb;

public sealed class RunBufinfoTests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private static readonly string Data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    // The capture's snapshots as "### snapshot N" and the text, renumbered from 0 (the headers name the scenario,
    // event and label; the text is the file's bytes as read in the guest).
    private static string Snapshots(string file, params int[] numbers)
    {
        var text = File.ReadAllText(Path.Combine(Data, "traces", "linux-6.1-vgem", file));
        var parts = text.Split("### scenario ", StringSplitOptions.RemoveEmptyEntries);
        var sb = new System.Text.StringBuilder();
        for (int k = 0; k < numbers.Length; k++)
        {
            var part = parts.Single(p => p.Contains($", snapshot {numbers[k]}: ", StringComparison.Ordinal));
            sb.Append("### snapshot ").Append(k).Append('\n').Append(part[(part.IndexOf('\n', StringComparison.Ordinal) + 1)..]);
        }
        return sb.ToString();
    }

    [Fact]
    public void ExportOnVgemIsListedAsTheRealKernelListsIt()
    {
        // Two dumb buffers, nothing exported: an empty list; the first exported with flags 0: its size, flags 0,
        // the read-only file's f_mode, count 3 (the fd; obj->dma_buf, export_and_register_object; the file's
        // handle entry, drm_prime_add_buf_handle), exporter drm, inode 1.
        var (status, stdout, stderr, _) = programs.Run(null, programs.Own("bufinfo"), 300, "prime");
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
        Assert.Equal(Snapshots("vgem-prime.bufinfo.txt", 0, 1), stdout);
    }

    [Fact]
    public void ACrossDeviceImportIsListedAsAnAttachedDevice()
    {
        // A virtio-gpu buffer and a vgem buffer exported; then the virtio-gpu one imported by vgem: count 6 and
        // "vgem" under its attached devices.
        var (status, stdout, stderr, _) = programs.Run("virtio-gpu", programs.Own("bufinfo"), 300, "xdev");
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
        Assert.Equal(Snapshots("vgem-virtio-xdev.bufinfo.txt", 0, 1), stdout);
    }
}
