using Sim.Drm.Drivers.Amdgpu;

namespace Sim.Reliability.Use;

/// <summary>The machine random use runs on: the board, its DRM devices, whether kvmfr is loaded, whether the DMA-BUF heaps are (the system heap; the CMA heap "reserved" too on the board).</summary>
public sealed record UseConfig(bool Arm, IReadOnlyList<string> Devices, bool Kvmfr, bool Heaps = false)
{
    /// <summary>
    /// stress's machine: even seeds an x86_64 machine with two vgem devices, a virtio-gpu device, the page-array
    /// exporter and the kvmfr module (a 4 MiB static device); odd seeds the ARM vexpress board with its PL111 (GEM
    /// DMA helpers over CMA), a vgem device and the page-array exporter; both with the DMA-BUF heaps.
    /// </summary>
    public static UseConfig ForSeed(int seed) => (seed & 1) != 0
        ? new UseConfig(true, ["vgem", AmdgpuDmaBuf.DRIVER_NAME], Kvmfr: false, Heaps: true)
        : new UseConfig(false, ["vgem", "vgem", "virtio_gpu", AmdgpuDmaBuf.DRIVER_NAME], Kvmfr: true, Heaps: true);

    /// <summary>Two vgem devices on the x86_64 machine, nothing else (the GEM handle and name properties).</summary>
    public static UseConfig TwoVgem { get; } = new(false, ["vgem", "vgem"], Kvmfr: false);
}
