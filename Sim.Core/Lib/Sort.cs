// Models lib/sort.c (Linux 6.1): sort_r, the kernel's in-place bottom-up heapsort. It is not stable, so the order
// of elements that compare equal is the heapsort's, which callers that keep "the first of equals" depend on
// (dma_fence_unwrap_merge keeps the first fence of each context after sorting).
namespace Sim.Core.Lib;

/// <summary><c>sort()</c>/<c>sort_r()</c> of lib/sort.c over a span, element by element as the kernel swaps them.</summary>
public static class Sort
{
    /// <summary>
    /// <c>sort(base, num, size, cmp_func, NULL)</c>: Floyd's bottom-up heapsort exactly as lib/sort.c runs it
    /// (sift down to a leaf choosing the larger child, <c>cmp &gt;= 0</c> to the left, then back up to where the
    /// element belongs), so equal elements end in the kernel's order.
    /// </summary>
    [Kernel("sort_r", "lib/sort.c")]
    public static void Heapsort<T>(Span<T> items, Comparison<T> cmp)
    {
        ArgumentNullException.ThrowIfNull(cmp);
        // Indices in elements: size = 1, lsbit = 1.
        int n = items.Length;
        int a = n / 2;
        if (a == 0)
        {
            return;
        }
        for (; ; )
        {
            int b, c, d;
            if (a != 0)
            {
                a -= 1;
            }
            else if ((n -= 1) != 0)
            {
                (items[0], items[n]) = (items[n], items[0]);
            }
            else
            {
                break;
            }
            for (b = a; (d = (c = 2 * b + 1) + 1) < n;)
            {
                b = cmp(items[c], items[d]) >= 0 ? c : d;
            }
            if (d == n)
            {
                b = c;
            }
            while (b != a && cmp(items[a], items[b]) >= 0)
            {
                b = Parent(b);
            }
            c = b;
            while (b != a)
            {
                b = Parent(b);
                (items[b], items[c]) = (items[c], items[b]);
            }
        }
    }

    // parent(i, lsbit = 1, size = 1): i -= size; i -= size & -(i & lsbit); return i / 2.
    private static int Parent(int i)
    {
        i -= 1;
        i -= 1 & -(i & 1);
        return i / 2;
    }
}
