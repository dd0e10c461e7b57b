// The kernel a simulated machine runs: the profile the models consult where Debian's 6.1.192 and 6.12.118
// builds behave differently (include/generated/uapi/linux/version.h: LINUX_VERSION_CODE, KERNEL_VERSION(a,b,c)).
using System.Globalization;

namespace Sim.Core.Boot;

/// <summary>
/// A Linux version, compared like <c>LINUX_VERSION_CODE &gt;= KERNEL_VERSION(6, 12, 0)</c>. The simulator models
/// two profiles: <see cref="V6_1"/> (Debian 6.1.192, the x86 captures; the ARM captures ran Debian's 6.1.176 armmp
/// build, which differs from 6.1.192 in nothing the simulator models, see docs/kernel-versions.md) and
/// <see cref="V6_12"/> (Debian 6.12.118). Models ask <c>options.Kernel &gt;= KernelVersion.V6_12</c>, never a static.
/// </summary>
[Kernel("LINUX_VERSION_CODE", "include/generated/uapi/linux/version.h")]
public readonly record struct KernelVersion(int Major, int Minor, int Patch) : IComparable<KernelVersion>
{
    /// <summary>Debian's 6.1.192 (bookworm; <c>6.1.0-56-amd64</c>): the default profile.</summary>
    public static readonly KernelVersion V6_1 = new(6, 1, 192);

    /// <summary>Debian's 6.12.118 (<c>6.12.118+deb12-amd64</c> / <c>-armmp</c> from bookworm-security).</summary>
    public static readonly KernelVersion V6_12 = new(6, 12, 118);

    /// <summary>The profiles, oldest first.</summary>
    public static IReadOnlyList<KernelVersion> Profiles { get; } = [V6_1, V6_12];

    /// <summary><c>KERNEL_VERSION(a, b, c)</c>: <c>(a &lt;&lt; 16) + (b &lt;&lt; 8) + min(c, 255)</c>.</summary>
    public int Code => (Major << 16) + (Minor << 8) + Math.Min(Patch, 255);

    /// <summary>The profile's short name: <c>6.1</c> or <c>6.12</c>.</summary>
    public string Profile => $"{Major}.{Minor}";

    /// <inheritdoc/>
    public int CompareTo(KernelVersion other) => Code.CompareTo(other.Code);

    /// <summary>Version order.</summary>
    public static bool operator <(KernelVersion a, KernelVersion b) => a.CompareTo(b) < 0;

    /// <summary>Version order.</summary>
    public static bool operator >(KernelVersion a, KernelVersion b) => a.CompareTo(b) > 0;

    /// <summary>Version order.</summary>
    public static bool operator <=(KernelVersion a, KernelVersion b) => a.CompareTo(b) <= 0;

    /// <summary>Version order.</summary>
    public static bool operator >=(KernelVersion a, KernelVersion b) => a.CompareTo(b) >= 0;

    /// <summary>
    /// The profile of a kernel release string or a profile name: <c>6.1</c>, <c>6.1.0-56-amd64</c>,
    /// <c>6.1.192</c> → 6.1; <c>6.12</c>, <c>6.12.118+deb12-armmp</c> → 6.12. False for any other line.
    /// </summary>
    public static bool TryParseProfile(string? release, out KernelVersion profile)
    {
        profile = V6_1;
        if (string.IsNullOrEmpty(release))
        {
            return false;
        }
        var parts = release.Split('.', 3);
        if (parts.Length < 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major))
        {
            return false;
        }
        int end = 0;
        while (end < parts[1].Length && char.IsAsciiDigit(parts[1][end]))
        {
            end++;
        }
        if (end == 0 || !int.TryParse(parts[1].AsSpan(0, end), NumberStyles.None, CultureInfo.InvariantCulture, out int minor))
        {
            return false;
        }
        foreach (var p in Profiles)
        {
            if (p.Major == major && p.Minor == minor)
            {
                profile = p;
                return true;
            }
        }
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}
