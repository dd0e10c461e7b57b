// Models include/linux/align.h, include/linux/math.h, include/linux/overflow.h helpers (unsigned arithmetic).
namespace Sim.Core.Lib;

/// <summary>ALIGN, ALIGN_DOWN, PAGE_ALIGN, DIV_ROUND_UP, get_order and check_add_overflow, all wrapping as in C.</summary>
public static class Align
{
    /// <summary>PAGE_SHIFT on every modelled machine.</summary>
    public const int PAGE_SHIFT = 12;

    /// <summary>PAGE_SIZE (4096).</summary>
    public const ulong PAGE_SIZE = 1UL << PAGE_SHIFT;

    /// <summary><c>ALIGN(x, a)</c> for a power of two, wrapping modulo 2^64.</summary>
    [Kernel("ALIGN")]
    public static ulong Up(ulong x, ulong a) => unchecked((x + (a - 1)) & ~(a - 1));

    /// <summary><c>ALIGN_DOWN(x, a)</c>.</summary>
    [Kernel("ALIGN_DOWN")]
    public static ulong Down(ulong x, ulong a) => x & ~(a - 1);

    /// <summary><c>PAGE_ALIGN(x)</c> in 64-bit arithmetic.</summary>
    [Kernel("PAGE_ALIGN")]
    public static ulong PageAlign(ulong x) => Up(x, PAGE_SIZE);

    /// <summary><c>PAGE_ALIGN(x)</c> in 32-bit arithmetic (wraps to 0 above 0xfffff000).</summary>
    public static uint PageAlign32(uint x) => unchecked((x + 4095u) & ~4095u);

    /// <summary><c>DIV_ROUND_UP(n, d)</c> (64-bit).</summary>
    [Kernel("DIV_ROUND_UP")]
    public static ulong DivRoundUp(ulong n, ulong d) => n / d + (n % d != 0 ? 1UL : 0UL);

    /// <summary><c>DIV_ROUND_UP(n, d)</c> in u32 as C evaluates <c>((n) + (d) - 1) / (d)</c> (wraps).</summary>
    public static uint DivRoundUp32(uint n, uint d) => unchecked((n + d - 1) / d);

    /// <summary><c>get_order(size)</c>: the smallest order with 4096 &lt;&lt; order &gt;= size (size 0 gives 52 as in the kernel).</summary>
    [Kernel("get_order", "include/asm-generic/getorder.h")]
    public static int GetOrder(ulong size)
    {
        if (size == 0)
        {
            return 64 - PAGE_SHIFT;
        }
        size--;
        size >>= PAGE_SHIFT;
        return size == 0 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount(size);
    }

    /// <summary><c>check_add_overflow(a, b, &amp;sum)</c> for unsigned 64-bit values.</summary>
    [Kernel("check_add_overflow", "include/linux/overflow.h")]
    public static bool CheckAddOverflow(ulong a, ulong b, out ulong sum)
    {
        sum = unchecked(a + b);
        return sum < a;
    }
}
