using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// Tests that measure the managed heap with <see cref="GC.GetTotalMemory(bool)"/>: the figure is process-wide, so
/// these tests run alone (after the parallel ones), never beside tests that allocate.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurement
{
    /// <summary>The collection's name.</summary>
    public const string Name = "managed heap measurements";
}
