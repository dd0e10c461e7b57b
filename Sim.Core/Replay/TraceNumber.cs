// Number forms of the trace and vector files: JSON numbers, "0x..." hex strings and decimal strings.
using System.Globalization;
using System.Text.Json;

namespace Sim.Core.Replay;

/// <summary>
/// Reads an integer field in any of the three forms the data uses (JSON number, <c>"0x..."</c> hex string,
/// decimal string) into <c>ulong</c>/<c>long</c> without loss. Negative numbers read as <c>long</c> and, for
/// <c>ulong</c>, as their two's complement (C's conversion), so <c>-1</c> and <c>"0xffffffffffffffff"</c> agree.
/// </summary>
public static class TraceNumber
{
    /// <summary>Reads an unsigned 64-bit value; false if the element is not an integer in a known form.</summary>
    public static bool TryGetU64(JsonElement e, out ulong value)
    {
        value = 0;
        switch (e.ValueKind)
        {
            case JsonValueKind.Number:
                if (e.TryGetUInt64(out value))
                {
                    return true;
                }
                if (e.TryGetInt64(out long l))
                {
                    value = unchecked((ulong)l);
                    return true;
                }
                return false;
            case JsonValueKind.String:
                return TryParse(e.GetString()!, out value);
            default:
                return false;
        }
    }

    /// <summary>Reads a signed 64-bit value (hex strings above long.MaxValue wrap, as C's cast does).</summary>
    public static bool TryGetI64(JsonElement e, out long value)
    {
        if (e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value))
        {
            return true;
        }
        if (e.ValueKind == JsonValueKind.String && e.GetString() is { } s && s.StartsWith('-') &&
            long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }
        if (TryGetU64(e, out ulong u))
        {
            value = unchecked((long)u);
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Parses <c>"0x1f"</c> (hex) or <c>"123"</c> (decimal) or <c>"-5"</c>.</summary>
    public static bool TryParse(string s, out ulong value)
    {
        value = 0;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return s.Length > 2 && s.Length <= 18 && ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        if (s.StartsWith('-'))
        {
            if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l))
            {
                value = unchecked((ulong)l);
                return true;
            }
            return false;
        }
        return s.Length > 0 && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
