// Models the kernel command line split of lib/cmdline.c (next_arg) and memparse, as init/main.c and
// kernel/params.c use them (Linux 6.1).
using System.Globalization;

namespace Sim.Core.Boot;

/// <summary>One <c>param</c> or <c>param=value</c> of a command line.</summary>
public readonly record struct CmdlineParam(string Name, string? Value)
{
    /// <inheritdoc/>
    public override string ToString() => Value is null ? Name : Name + "=" + Value;
}

/// <summary>Splits and parses kernel command lines the way Linux does.</summary>
public static class KernelCmdline
{
    /// <summary>
    /// <c>next_arg</c> over the whole line: words separated by spaces, <c>"..."</c> quoting (quotes removed),
    /// the first <c>=</c> splits name and value. Dashes and underscores in names are left as written here;
    /// <see cref="NormalizeName"/> folds them as <c>parameq</c> does.
    /// </summary>
    [Kernel("next_arg", "lib/cmdline.c")]
    public static List<CmdlineParam> Split(string line)
    {
        var result = new List<CmdlineParam>();
        int i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            if (i >= line.Length)
            {
                break;
            }
            bool inQuote = false;
            var word = new System.Text.StringBuilder();
            int equals = -1;
            while (i < line.Length && (inQuote || !char.IsWhiteSpace(line[i])))
            {
                char c = line[i++];
                if (c == '"')
                {
                    inQuote = !inQuote;
                    continue;
                }
                if (c == '=' && equals < 0)
                {
                    equals = word.Length;
                }
                word.Append(c);
            }
            string w = word.ToString();
            result.Add(equals < 0 ? new CmdlineParam(w, null) : new CmdlineParam(w[..equals], w[(equals + 1)..]));
        }
        return result;
    }

    /// <summary><c>parameq</c>: dashes and underscores are the same in parameter names.</summary>
    public static string NormalizeName(string name) => name.Replace('-', '_');

    /// <summary>
    /// <c>memparse</c>: a number (decimal, 0x hex or 0 octal) with an optional K, M, G, T, P or E suffix.
    /// Returns false when the text has no number or trailing junk.
    /// </summary>
    [Kernel("memparse", "lib/cmdline.c")]
    public static bool TryMemparse(string text, out ulong bytes)
    {
        bytes = 0;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }
        int end = text.Length;
        int shift = 0;
        switch (char.ToUpperInvariant(text[^1]))
        {
            case 'K': shift = 10; end--; break;
            case 'M': shift = 20; end--; break;
            case 'G': shift = 30; end--; break;
            case 'T': shift = 40; end--; break;
            case 'P': shift = 50; end--; break;
            case 'E': shift = 60; end--; break;
        }
        if (!TryParseCInteger(text[..end], out ulong n))
        {
            return false;
        }
        if (shift > 0 && n > (ulong.MaxValue >> shift))
        {
            return false;
        }
        bytes = n << shift;
        return true;
    }

    /// <summary>Parses an integer the way <c>simple_strtoull(s, NULL, 0)</c> reads it (0x hex, leading-0 octal, decimal).</summary>
    public static bool TryParseCInteger(string s, out ulong value)
    {
        value = 0;
        if (s.Length == 0)
        {
            return false;
        }
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return s.Length > 2 && ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }
        if (s.Length > 1 && s[0] == '0')
        {
            ulong v = 0;
            foreach (char c in s.AsSpan(1))
            {
                if (c < '0' || c > '7' || v > (ulong.MaxValue >> 3))
                {
                    return false;
                }
                v = (v << 3) | (uint)(c - (char)48);
            }
            value = v;
            return true;
        }
        return ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
