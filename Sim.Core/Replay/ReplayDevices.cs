namespace Sim.Core.Replay;

/// <summary>
/// Per-file replay state: the machine's devices by <c>dev_name</c> (e.g. the sg traces' edu device
/// <c>"0000:00:01.0"</c>), for events that name a device (<c>dma_buf_attach</c> <c>dev</c>). The model that creates a
/// device (the DMA mapping model's file-start hook) registers it here; the objects are that model's
/// <c>struct device</c>.
/// </summary>
public sealed class ReplayDevices
{
    /// <summary>Devices by name.</summary>
    public Dictionary<string, object> ByName { get; } = new(StringComparer.Ordinal);
}
