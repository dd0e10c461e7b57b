using Microsoft.Extensions.DependencyInjection;

namespace Sim.Reliability;

/// <summary>The tour (<see cref="Sim.Teaching.Tour"/>) on its default machine: every step, then its teardown.</summary>
public sealed class TourScenario : SweepScenario
{
    private Sim.Teaching.Tour? _tour;

    /// <inheritdoc/>
    public override string Name => "tour";

    /// <inheritdoc/>
    public override bool Repeatable => false;

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        _tour = new Sim.Teaching.Tour(Sim.Teaching.Tour.DefaultMachine());
        return (ServiceProvider)_tour.Machine;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        (long, string) first = (0, "");
        foreach (var step in _tour!.Run())
        {
            foreach (var n in step.Notes)
            {
                if (n.StartsWith("simulator exception", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"tour step {step.Number}: {n}");
                }
            }
            if (step.Error is { } e && first.Item1 == 0)
            {
                first = (e, $"step {step.Number}: {step.ErrorWhere}");
            }
        }
        return first;
    }

    /// <inheritdoc/>
    public override void Cleanup(ServiceProvider machine)
    {
        base.Cleanup(machine);
        // Tour.Dispose drops what the tour still holds (umem, importer reference, fence), then disposes the machine.
        _tour?.Dispose();
        _tour = null;
    }
}
