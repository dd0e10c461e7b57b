// Models kernel/params.c (parse_args, parse_one, param_array, param_set_int), lib/cmdline.c (next_arg)
// and lib/kstrtox.c (kstrtoll/kstrtoint with base 0).
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

/// <summary>
/// <c>kernel_param_ops.set</c>: parses <paramref name="val"/> (null = the parameter had no '=') into the
/// module's variable; returns 0 or a negative errno. A setter may shorten <paramref name="val"/> as the C code
/// writes NULs into the argument string (param_array does), which the error message then shows.
/// </summary>
public delegate int ParamSetter(ref string? val);

/// <summary><c>struct kernel_param</c>: a module parameter's name and setter.</summary>
[Kernel("struct kernel_param", "include/linux/moduleparam.h")]
public sealed record KernelParam(string Name, ParamSetter Set, bool NoArg = false);

/// <summary>Module parameter parsing as kernel/params.c does it.</summary>
public static class Params
{
    /// <summary>
    /// <c>parse_args(doing, args, params, ..., unknown)</c>: every "name[=value]" word in order; errors are
    /// logged and parsing goes on; the last error is returned (0 = none). <paramref name="unknown"/> handles
    /// names that match no parameter (null: <c>-ENOENT</c>, "Unknown parameter").
    /// </summary>
    [Kernel("parse_args", "kernel/params.c")]
    public static int ParseArgs(Printk printk, string doing, string args, IReadOnlyList<KernelParam> parameters,
        Func<string, string?, string, int>? unknown)
    {
        int err = 0;
        int pos = SkipSpaces(args, 0);
        while (pos < args.Length)
        {
            pos = NextArg(args, pos, out string param, out string? val);
            if (val is null && param == "--")
            {
                return err;
            }
            int ret = ParseOne(param, ref val, parameters, doing, unknown);
            switch (ret)
            {
                case 0:
                    continue;
                case -(int)Errno.ENOENT:
                    printk.Err($"{doing}: Unknown parameter `{param}'\n");
                    break;
                case -(int)Errno.ENOSPC:
                    printk.Err($"{doing}: `{val ?? ""}' too large for parameter `{param}'\n");
                    break;
                default:
                    printk.Err($"{doing}: `{val ?? ""}' invalid for parameter `{param}'\n");
                    break;
            }
            err = ret;
        }
        return err;
    }

    private static int ParseOne(string param, ref string? val, IReadOnlyList<KernelParam> parameters, string doing,
        Func<string, string?, string, int>? unknown)
    {
        foreach (var p in parameters)
        {
            if (ParamEq(param, p.Name))
            {
                if (val is null && !p.NoArg)
                {
                    return -(int)Errno.EINVAL;
                }
                return p.Set(ref val);
            }
        }
        return unknown is not null ? unknown(param, val, doing) : -(int)Errno.ENOENT;
    }

    /// <summary><c>parameq</c>: names equal with '-' and '_' the same.</summary>
    [Kernel("parameq", "kernel/params.c")]
    public static bool ParamEq(string a, string b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }
        for (int k = 0; k < a.Length; k++)
        {
            char x = a[k] == '-' ? '_' : a[k];
            char y = b[k] == '-' ? '_' : b[k];
            if (x != y)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary><c>next_arg</c>: one "param[=val]" word with the kernel's quote handling; returns the next position.</summary>
    [Kernel("next_arg", "lib/cmdline.c")]
    public static int NextArg(string args, int pos, out string param, out string? val)
    {
        bool inQuote = false, quoted = false;
        if (pos < args.Length && args[pos] == '"')
        {
            pos++;
            inQuote = true;
            quoted = true;
        }
        int i = pos;
        int equals = -1;
        for (; i < args.Length; i++)
        {
            if (IsSpace(args[i]) && !inQuote)
            {
                break;
            }
            if (equals < 0 && args[i] == '=')
            {
                equals = i;
            }
            if (args[i] == '"')
            {
                inQuote = !inQuote;
            }
        }
        int end = i;
        if (equals < 0)
        {
            val = null;
            int pend = quoted && end > pos && args[end - 1] == '"' ? end - 1 : end;
            param = args[pos..pend];
        }
        else
        {
            param = args[pos..equals];
            int vs = equals + 1;
            int ve = end;
            if (vs < args.Length && vs < end && args[vs] == '"')
            {
                vs++;
                if (args[end - 1] == '"')
                {
                    ve = end - 1;
                }
            }
            else if (quoted && end > pos && args[end - 1] == '"')
            {
                ve = end - 1;
            }
            val = ve >= vs ? args[vs..ve] : "";
        }
        if (end < args.Length)
        {
            end++;
        }
        return SkipSpaces(args, end);
    }

    /// <summary>
    /// <c>param_array</c> for a <c>module_param_array(name, int, &amp;num, ...)</c>: a comma-separated list of at
    /// most <c>elems.Length</c> ints ("&lt;name&gt;: can only take N arguments" beyond that), each parsed with
    /// <see cref="KstrToInt"/>; <paramref name="setNum"/> receives the count parsed so far. The argument string is
    /// cut at its first comma (the NUL the C code writes), which is what an error message shows.
    /// </summary>
    [Kernel("param_array", "kernel/params.c")]
    public static int IntArray(Printk printk, string name, string val, int[] elems, Action<int> setNum, out string shownVal)
    {
        int comma0 = val.IndexOf(',', StringComparison.Ordinal);
        shownVal = comma0 < 0 ? val : val[..comma0];
        int num = 0;
        setNum(0);
        int pos = 0;
        bool more;
        do
        {
            if (num == elems.Length)
            {
                printk.Err($"{name}: can only take {elems.Length} arguments\n");
                return -(int)Errno.EINVAL;
            }
            int comma = val.IndexOf(',', pos);
            int len = (comma < 0 ? val.Length : comma) - pos;
            more = comma >= 0;
            int ret = KstrToInt(val.Substring(pos, len), out int v);
            if (ret != 0)
            {
                return ret;
            }
            elems[num] = v;
            pos += len + 1;
            num++;
            setNum(num);
        }
        while (more);
        return 0;
    }

    /// <summary><c>kstrtoint(s, 0, &amp;res)</c>: 0, <c>-EINVAL</c> (no digits or trailing junk) or <c>-ERANGE</c>.</summary>
    [Kernel("kstrtoint", "lib/kstrtox.c")]
    public static int KstrToInt(string s, out int result)
    {
        result = 0;
        int ret = KstrToLl(s, out long tmp);
        if (ret != 0)
        {
            return ret;
        }
        if (tmp != (int)tmp)
        {
            return -(int)Errno.ERANGE;
        }
        result = (int)tmp;
        return 0;
    }

    /// <summary><c>kstrtoll(s, 0, &amp;res)</c>.</summary>
    [Kernel("kstrtoll", "lib/kstrtox.c")]
    public static int KstrToLl(string s, out long result)
    {
        result = 0;
        if (s.Length > 0 && s[0] == '-')
        {
            int r = KstrToUll(s, 1, out ulong u);
            if (r < 0)
            {
                return r;
            }
            if ((long)(0UL - u) > 0)
            {
                return -(int)Errno.ERANGE;
            }
            result = (long)(0UL - u);
            return 0;
        }
        int r2 = KstrToUll(s, s.Length > 0 && s[0] == '+' ? 1 : 0, out ulong v);
        if (r2 < 0)
        {
            return r2;
        }
        if ((long)v < 0)
        {
            return -(int)Errno.ERANGE;
        }
        result = (long)v;
        return 0;
    }

    // _kstrtoull with base 0: radix fixup, digits with overflow detection, one optional trailing newline.
    private static int KstrToUll(string s, int pos, out ulong result)
    {
        result = 0;
        uint b;
        if (At(s, pos) == '0')
        {
            b = (char)(At(s, pos + 1) | 0x20) == 'x' && Uri.IsHexDigit(At(s, pos + 2)) ? 16u : 8u;
        }
        else
        {
            b = 10;
        }
        if (b == 16 && At(s, pos) == '0' && (char)(At(s, pos + 1) | 0x20) == 'x')
        {
            pos += 2;
        }
        ulong res = 0;
        int rv = 0;
        bool overflow = false;
        while (pos < s.Length)
        {
            char c = s[pos];
            char lc = (char)(c | 0x20);
            uint v;
            if (c >= '0' && c <= '9')
            {
                v = (uint)(c - '0');
            }
            else if (lc >= 'a' && lc <= 'f')
            {
                v = (uint)(lc - 'a' + 10);
            }
            else
            {
                break;
            }
            if (v >= b)
            {
                break;
            }
            if ((res & (~0UL << 60)) != 0 && res > (ulong.MaxValue - v) / b)
            {
                overflow = true;
            }
            res = unchecked(res * b + v);
            rv++;
            pos++;
        }
        if (overflow)
        {
            return -(int)Errno.ERANGE;
        }
        if (rv == 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (At(s, pos) == '\n')
        {
            pos++;
        }
        if (pos < s.Length)
        {
            return -(int)Errno.EINVAL;
        }
        result = res;
        return 0;
    }

    private static char At(string s, int k) => k < s.Length ? s[k] : '\0';

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static int SkipSpaces(string s, int pos)
    {
        while (pos < s.Length && IsSpace(s[pos]))
        {
            pos++;
        }
        return pos;
    }
}
