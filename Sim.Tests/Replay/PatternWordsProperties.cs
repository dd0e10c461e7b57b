using FsCheck.Xunit;
using Sim.Drm.Replay;
using Xunit;

namespace Sim.Tests.Replay;

/// <summary>
/// The vectorised pattern fills and checks the cma-arm and vgem replays use (<see cref="PatternWords"/>) against the
/// plain word-by-word loops they replace: same counts and same bytes on random buffers of every length (whole words
/// and ragged tails), random seeds and tags, and buffers that already hold the pattern with a few words broken.
/// The expected values of the fixed cases come from the README's formula, worked by hand.
/// </summary>
public sealed class PatternWordsProperties
{
    [Property(MaxTest = 300)]
    public bool FillSeedCountingNonzero_equals_the_plain_loop(byte[] data, uint seed)
    {
        var fast = (byte[])data.Clone();
        var plain = (byte[])data.Clone();
        ulong a = PatternWords.FillSeedCountingNonzero(fast, seed);
        ulong b = PatternWords.FillSeedCountingNonzeroPlain(plain, seed);
        return a == b && fast.AsSpan().SequenceEqual(plain);
    }

    [Property(MaxTest = 300)]
    public bool CountSeedMismatches_equals_the_plain_loop(byte[] data, uint seed, ushort words, byte[] broken)
    {
        // Mostly the pattern (the common case), a few words broken at positions from `broken`, plus the random data.
        var buf = new byte[words * 4 + data.Length % 4];
        PatternWords.FillSeedCountingNonzeroPlain(buf, seed);
        foreach (byte x in broken)
        {
            if (buf.Length > 0)
            {
                buf[x * 7 % buf.Length] ^= (byte)(x | 1);
            }
        }
        return PatternWords.CountSeedMismatches(buf, seed) == PatternWords.CountSeedMismatchesPlain(buf, seed) &&
            PatternWords.CountSeedMismatches(data, seed) == PatternWords.CountSeedMismatchesPlain(data, seed);
    }

    [Property(MaxTest = 300)]
    public bool FillTag_equals_the_plain_loop(byte[] data, uint tag)
    {
        var fast = (byte[])data.Clone();
        var plain = (byte[])data.Clone();
        PatternWords.FillTag(fast, tag);
        PatternWords.FillTagPlain(plain, tag);
        return fast.AsSpan().SequenceEqual(plain);
    }

    [Fact]
    public void The_formulas_by_hand()
    {
        // Word 1 of seed 0 is 2654435761 = 0x9e3779b1; word 2 is 2 * 0x9e3779b1 mod 2^32 = 0x3c6ef362.
        var buf = new byte[12 + 3];
        Array.Fill(buf, (byte)0xff);
        buf[4] = 0; buf[5] = 0; buf[6] = 0; buf[7] = 0;
        Assert.Equal(2UL, PatternWords.FillSeedCountingNonzero(buf, 0));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0xb1, 0x79, 0x37, 0x9e, 0x62, 0xf3, 0x6e, 0x3c, 0xff, 0xff, 0xff }, buf);
        Assert.Equal(0UL, PatternWords.CountSeedMismatches(buf, 0));
        Assert.Equal(3UL, PatternWords.CountSeedMismatches(buf, 1));
        // Tag 1: t = 0x01000193; the word at byte offset 4 is t ^ 4 = 0x01000197; the ragged tail is zeroed.
        var tagBuf = new byte[9];
        Array.Fill(tagBuf, (byte)0xee);
        PatternWords.FillTag(tagBuf, 1);
        Assert.Equal(new byte[] { 0x93, 0x01, 0x00, 0x01, 0x97, 0x01, 0x00, 0x01, 0 }, tagBuf);
    }
}
