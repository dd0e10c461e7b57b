// The data patterns the traced user programs write and check through their mappings (data/traces/README.md, "Data
// patterns"): the cma-arm checks' word k = pattern_seed XOR (k * 2654435761 mod 2^32), and the vgem fill's word at
// byte offset o = (tag * 0x01000193) XOR o. Each has the plain loop (the reference, word by word as the programs do)
// and a vectorised one the replay uses; PatternWordsProperties proves them equal.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Sim.Drm.Replay;

/// <summary>Pattern fills and checks over little-endian 32-bit words, plain and vectorised.</summary>
public static class PatternWords
{
    /// <summary>The cma-arm checks' multiplier (Knuth's multiplicative hash).</summary>
    public const uint Multiplier = 2654435761u;

    /// <summary>Word k of the cma-arm pattern: <c>seed XOR ((k * 2654435761) mod 2^32)</c>.</summary>
    public static uint SeedWord(uint seed, uint k) => seed ^ unchecked(k * Multiplier);

    /// <summary>
    /// Reference: counts the words of <paramref name="buf"/> (whole words only) that are not zero, then overwrites
    /// each with <see cref="SeedWord"/>; the tail bytes past the last whole word stay as they are.
    /// </summary>
    public static ulong FillSeedCountingNonzeroPlain(Span<byte> buf, uint seed)
    {
        ulong nonzero = 0;
        for (int k = 0; k + 4 <= buf.Length; k += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buf.Slice(k)) != 0)
            {
                nonzero++;
            }
            BinaryPrimitives.WriteUInt32LittleEndian(buf.Slice(k), SeedWord(seed, (uint)(k / 4)));
        }
        return nonzero;
    }

    /// <summary>Reference: the whole words of <paramref name="buf"/> that differ from <see cref="SeedWord"/>.</summary>
    public static ulong CountSeedMismatchesPlain(ReadOnlySpan<byte> buf, uint seed)
    {
        ulong mismatched = 0;
        for (int k = 0; k + 4 <= buf.Length; k += 4)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(buf.Slice(k)) != SeedWord(seed, (uint)(k / 4)))
            {
                mismatched++;
            }
        }
        return mismatched;
    }

    /// <summary>Reference: the vgem fill, word at byte offset o = <c>(tag * 0x01000193) XOR o</c>; tail bytes zeroed.</summary>
    public static void FillTagPlain(Span<byte> buf, uint tag)
    {
        buf.Clear();
        uint t = unchecked(tag * 0x01000193u);
        for (uint o = 0; o + 4 <= (uint)buf.Length; o += 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buf.Slice((int)o), t ^ o);
        }
    }

    /// <summary><see cref="FillSeedCountingNonzeroPlain"/>, vectorised.</summary>
    public static ulong FillSeedCountingNonzero(Span<byte> buf, uint seed)
    {
        if (!BitConverter.IsLittleEndian || !Vector.IsHardwareAccelerated)
        {
            return FillSeedCountingNonzeroPlain(buf, seed);
        }
        var words = MemoryMarshal.Cast<byte, uint>(buf);
        int w = Vector<uint>.Count;
        var k = Index(w);
        var step = new Vector<uint>((uint)w);
        var mul = new Vector<uint>(Multiplier);
        var vseed = new Vector<uint>(seed);
        var zeros = Vector<uint>.Zero;
        int i = 0;
        for (; i + w <= words.Length; i += w)
        {
            var slot = MemoryMarshal.Cast<uint, Vector<uint>>(words.Slice(i, w));
            // Equals gives all-ones lanes (uint.MaxValue) for zero words: subtracting counts them.
            zeros -= Vector.Equals(slot[0], Vector<uint>.Zero);
            slot[0] = vseed ^ (k * mul);
            k += step;
        }
        ulong zero = 0;
        for (int l = 0; l < w; l++)
        {
            zero += zeros[l];
        }
        ulong nonzero = (ulong)i - zero;
        for (; i < words.Length; i++)
        {
            if (words[i] != 0)
            {
                nonzero++;
            }
            words[i] = SeedWord(seed, (uint)i);
        }
        return nonzero;
    }

    /// <summary><see cref="CountSeedMismatchesPlain"/>, vectorised.</summary>
    public static ulong CountSeedMismatches(ReadOnlySpan<byte> buf, uint seed)
    {
        if (!BitConverter.IsLittleEndian || !Vector.IsHardwareAccelerated)
        {
            return CountSeedMismatchesPlain(buf, seed);
        }
        var words = MemoryMarshal.Cast<byte, uint>(buf);
        int w = Vector<uint>.Count;
        var k = Index(w);
        var step = new Vector<uint>((uint)w);
        var mul = new Vector<uint>(Multiplier);
        var vseed = new Vector<uint>(seed);
        var equal = Vector<uint>.Zero;
        int i = 0;
        for (; i + w <= words.Length; i += w)
        {
            equal -= Vector.Equals(new Vector<uint>(words.Slice(i, w)), vseed ^ (k * mul));
            k += step;
        }
        ulong same = 0;
        for (int l = 0; l < w; l++)
        {
            same += equal[l];
        }
        ulong mismatched = (ulong)i - same;
        for (; i < words.Length; i++)
        {
            if (words[i] != SeedWord(seed, (uint)i))
            {
                mismatched++;
            }
        }
        return mismatched;
    }

    /// <summary><see cref="FillTagPlain"/>, vectorised.</summary>
    public static void FillTag(Span<byte> buf, uint tag)
    {
        if (!BitConverter.IsLittleEndian || !Vector.IsHardwareAccelerated)
        {
            FillTagPlain(buf, tag);
            return;
        }
        var words = MemoryMarshal.Cast<byte, uint>(buf);
        buf.Slice(words.Length * 4).Clear();
        uint t = unchecked(tag * 0x01000193u);
        int w = Vector<uint>.Count;
        var o = Index(w) * new Vector<uint>(4u);
        var step = new Vector<uint>((uint)w * 4);
        var vt = new Vector<uint>(t);
        int i = 0;
        for (; i + w <= words.Length; i += w)
        {
            (vt ^ o).CopyTo(words.Slice(i, w));
            o += step;
        }
        for (; i < words.Length; i++)
        {
            words[i] = t ^ (uint)(i * 4);
        }
    }

    private static Vector<uint> Index(int w)
    {
        Span<uint> k = stackalloc uint[w];
        for (int l = 0; l < w; l++)
        {
            k[l] = (uint)l;
        }
        return new Vector<uint>(k);
    }
}
