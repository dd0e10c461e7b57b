using Sim.Core.Dma;

namespace Sim.Core.Replay;

/// <summary>
/// The devices of one replayed file by <c>dev_name</c>, as the traces name them: every family that maps for a device
/// (the sg core's <c>dma_map_sgtable</c>, the dma-buf importer's <c>dma_buf_attach</c>, the umem's ib device) asks for
/// it here, and the first ask makes it (<see cref="DmaMapping.CreateDevice"/>), so they share one
/// <c>struct device</c>.
/// </summary>
public sealed class ReplayDevices
{
    /// <summary>The capture machine's DMA device: QEMU's edu PCI device at 00:01.0, which the sgcap module maps for.</summary>
    public const string Edu = "0000:00:01.0";

    private readonly Func<DmaMapping> _dma;
    private readonly Dictionary<string, Device> _byName = new(StringComparer.Ordinal);

    internal ReplayDevices(Func<DmaMapping> dma) => _dma = dma;

    /// <summary>The device named <paramref name="name"/>, made on first use with the given PCI ids.</summary>
    public Device GetOrCreate(string name, ushort pciVendor = 0x1234, ushort pciDevice = 0x11e8)
    {
        if (!_byName.TryGetValue(name, out var dev))
        {
            dev = _dma().CreateDevice(name, pciVendor, pciDevice);
            _byName.Add(name, dev);
        }
        return dev;
    }

    /// <summary>The device named <paramref name="name"/> if one was made, or null.</summary>
    public Device? Find(string name) => _byName.GetValueOrDefault(name);
}
