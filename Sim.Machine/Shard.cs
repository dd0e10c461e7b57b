using System.Globalization;

namespace Sim.Machine;

/// <summary>
/// <c>--shard K/N</c>: part K (1-based) of N of a list of files or cases, so that a CI matrix of N runners spreads a
/// corpus or a campaign. Item i of the list (in its stable, sorted order) belongs to shard <c>i mod N + 1</c>:
/// the N shards cover every item exactly once and differ in size by at most one.
/// </summary>
public readonly record struct Shard(int K, int N)
{
    /// <summary>The whole list (1/1).</summary>
    public static Shard All => new(1, 1);

    /// <summary>True when item <paramref name="index"/> of the list belongs to this shard.</summary>
    public bool Contains(int index) => index % N == K - 1;

    /// <summary>This shard's items, in list order.</summary>
    public List<T> Select<T>(IReadOnlyList<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var mine = new List<T>();
        for (int i = K - 1; i < items.Count; i += N)
        {
            mine.Add(items[i]);
        }
        return mine;
    }

    /// <summary>Parses <c>K/N</c> (1 &lt;= K &lt;= N); false with a message otherwise.</summary>
    public static bool TryParse(string? text, out Shard shard, out string error)
    {
        shard = All;
        error = "";
        var parts = (text ?? "").Split('/');
        if (parts.Length != 2 ||
            !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int k) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) ||
            n < 1 || k < 1 || k > n)
        {
            error = $"--shard: expected K/N with 1 <= K <= N, got \"{text}\"";
            return false;
        }
        shard = new Shard(k, n);
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{K}/{N}");
}
