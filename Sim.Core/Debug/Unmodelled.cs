// The simulator's own record of calls that reached a kernel path it does not model (no kernel counterpart): the
// answer such a call gets (-EINVAL from a DRM ioctl of a KMS driver, for example) is not Linux's, and whoever
// drives the machine (replay, `dmabufsim run`) reports the names and counts so nobody mistakes it for Linux's.
namespace Sim.Core.Debug;

/// <summary>Counts of calls that reached an unmodelled kernel path, by name (the kernel function or ioctl).</summary>
public sealed class UnmodelledCalls
{
    private readonly SortedDictionary<string, int> _counts = new(StringComparer.Ordinal);

    /// <summary>Name to count, sorted by name.</summary>
    public IReadOnlyDictionary<string, int> Counts => _counts;

    /// <summary>Total number of unmodelled calls.</summary>
    public int Total { get; private set; }

    /// <summary>Records one call of <paramref name="what"/>.</summary>
    public void Record(string what)
    {
        _counts[what] = _counts.GetValueOrDefault(what) + 1;
        Total++;
    }

    /// <summary>The one-line summary: <c>name xN, ...</c> (empty when nothing was recorded).</summary>
    public string Summary() => string.Join(", ", _counts.Select(kv => $"{kv.Key} x{kv.Value}"));
}
