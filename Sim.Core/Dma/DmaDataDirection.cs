// Models enum dma_data_direction (include/linux/dma-direction.h, Linux 6.1).
namespace Sim.Core.Dma;

/// <summary><c>enum dma_data_direction</c>, spelled as in the kernel (the traces print these names).</summary>
[Kernel("enum dma_data_direction", "include/linux/dma-direction.h")]
public enum DmaDataDirection
{
    /// <summary>DMA_BIDIRECTIONAL.</summary>
    DMA_BIDIRECTIONAL = 0,
    /// <summary>DMA_TO_DEVICE.</summary>
    DMA_TO_DEVICE = 1,
    /// <summary>DMA_FROM_DEVICE.</summary>
    DMA_FROM_DEVICE = 2,
    /// <summary>DMA_NONE.</summary>
    DMA_NONE = 3,
}
