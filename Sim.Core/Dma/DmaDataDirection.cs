// Models include/linux/dma-direction.h (Linux 6.1).
namespace Sim.Core.Dma;

/// <summary><c>enum dma_data_direction</c>.</summary>
[Kernel("enum dma_data_direction", "include/linux/dma-direction.h")]
public enum DmaDataDirection
{
    /// <summary><c>DMA_BIDIRECTIONAL</c>.</summary>
    DMA_BIDIRECTIONAL = 0,
    /// <summary><c>DMA_TO_DEVICE</c>.</summary>
    DMA_TO_DEVICE = 1,
    /// <summary><c>DMA_FROM_DEVICE</c>.</summary>
    DMA_FROM_DEVICE = 2,
    /// <summary><c>DMA_NONE</c>.</summary>
    DMA_NONE = 3,
}

/// <summary>DMA attribute bits and constants of include/linux/dma-mapping.h.</summary>
public static class DmaAttrs
{
    /// <summary><c>DMA_ATTR_SKIP_CPU_SYNC</c>.</summary>
    public const ulong DMA_ATTR_SKIP_CPU_SYNC = 1UL << 5;

    /// <summary><c>DMA_ATTR_NO_WARN</c>.</summary>
    public const ulong DMA_ATTR_NO_WARN = 1UL << 8;

    /// <summary><c>DMA_MAPPING_ERROR</c> (<c>~(dma_addr_t)0</c>).</summary>
    public const ulong DMA_MAPPING_ERROR = ulong.MaxValue;

    /// <summary><c>DMA_BIT_MASK(n)</c>.</summary>
    public static ulong DMA_BIT_MASK(int n) => n >= 64 ? ulong.MaxValue : (1UL << n) - 1;

    /// <summary>Parses a trace's direction name (<c>DMA_BIDIRECTIONAL</c>, ...).</summary>
    public static DmaDataDirection ParseDirection(string? name) =>
        Enum.TryParse<DmaDataDirection>(name, out var d) ? d : DmaDataDirection.DMA_NONE;
}
