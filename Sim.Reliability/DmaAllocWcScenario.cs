using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// A driver's coherent buffers on the ARM vexpress board (the PL111 path): <c>dma_alloc_wc</c> of a few sizes from
/// the CMA area, written, freed in another order.
/// </summary>
public sealed class DmaAllocWcScenario : SweepScenario
{
    private static readonly ulong[] s_sizes = [4096, 65536, 1 << 20, 12288];

    /// <inheritdoc/>
    public override string Name => "dma_alloc_wc (ARM CMA)";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.Apply("board=vexpress cma=16M", strict: true);
        return Composition.BuildMachine(o);
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var arm = machine.GetRequiredService<Sim.Core.Dma.ArmDmaMapping>();
        var bufs = new List<(ulong Size, ulong Cpu, ulong Dma)>();
        (long, string) result = (0, "");
        foreach (ulong size in s_sizes)
        {
            ulong cpu = arm.AllocWc(size, out ulong dma, Gfp.GFP_KERNEL);
            if (cpu == 0)
            {
                result = (-(long)Errno.ENOMEM, "dma_alloc_wc " + size.ToString(CultureInfo.InvariantCulture));
                break;
            }
            bufs.Add((size, cpu, dma));
        }
        for (int k = bufs.Count - 1; k >= 0; k--)
        {
            arm.FreeWc(bufs[k].Size, bufs[k].Cpu, bufs[k].Dma);
        }
        return result;
    }
}
