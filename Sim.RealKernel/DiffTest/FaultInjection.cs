using Sim.Drm;

namespace Sim.RealKernel.DiffTest;

/// <summary>Test-only switches that break one simulator rule on purpose, to show that the differential test finds it.</summary>
public static class FaultInjection
{
    /// <summary>The known faults.</summary>
    public static readonly string[] Names = ["bpp-limit"];

    /// <summary>Turns a fault on for the current async flow; disposing turns it off.</summary>
    public static IDisposable Enable(string name)
    {
        switch (name)
        {
            case "bpp-limit":
                DrmDumbBuffers.FaultSkipBppLimit = true;
                return new Off(() => DrmDumbBuffers.FaultSkipBppLimit = false);
            default:
                throw new ArgumentException($"unknown fault '{name}' (known: {string.Join(", ", Names)})");
        }
    }

    private sealed class Off(Action off) : IDisposable
    {
        public void Dispose() => off();
    }
}
