using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// The importer test (<see cref="ImporterTest"/>: a dumb buffer of the ARM board's PL111 (CMA) or of the
/// page-array exporter, exported and mapped by the kernel importer's importer_test2, then everything dropped).
/// </summary>
public sealed class ImporterTestScenario(string exporter) : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "importer-test --exporter " + exporter;

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var options = new MachineOptions().ApplyArmBoard();
        if (exporter == "pages")
        {
            options.AddDrmDevice(Sim.Drm.Drivers.Amdgpu.AmdgpuDmaBuf.DRIVER_NAME);
        }
        return Composition.BuildMachine(options);
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var (ret, _, step) = ImporterTest.CreateExportImport(machine, exporter == "pages" ? "/dev/dri/card1" : "/dev/dri/card0", 640, 480, 32);
        return (ret, ret == 0 ? "" : step);
    }
}
