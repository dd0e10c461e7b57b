using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>
/// One convention for every verb's options (issue 20): a placeholder that says what goes there (<c>--at &lt;EVENT&gt;</c>),
/// defaults shown one way (<c>[default: ...]</c>), numbers checked against their range with a message naming the option
/// and the range (never a .NET type name), output file names checked before any work, and parse errors printed as
/// <c>dmabufsim VERB: ...</c> with a suggestion (exit 2). A new verb builds its options here.
/// </summary>
internal static class Conventions
{
    /// <summary>
    /// A whole-number option from <paramref name="min"/> to <paramref name="max"/>. <paramref name="defaultValue"/> is shown
    /// as <c>[default: N]</c>; <paramref name="defaultText"/> instead describes a default that is computed (then the value is
    /// null when the option is absent).
    /// </summary>
    internal static Option<T> Number<T>(string name, string placeholder, string description, T defaultValue, T min, T max, params string[] aliases)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        var o = new Option<T>(name, aliases) { Description = description, HelpName = placeholder, DefaultValueFactory = _ => defaultValue };
        o.CustomParser = r => ParseNumber(r, name, min, max);
        return o;
    }

    /// <summary>A whole-number option with no fixed default (null when absent); <paramref name="defaultText"/> says what happens then.</summary>
    internal static Option<T?> OptionalNumber<T>(string name, string placeholder, string description, string? defaultText, T min, T max, params string[] aliases)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        var o = new Option<T?>(name, aliases) { Description = WithDefault(description, defaultText), HelpName = placeholder };
        o.CustomParser = r => ParseNumber(r, name, min, max);
        return o;
    }

    private static T ParseNumber<T>(ArgumentResult r, string name, T min, T max)
        where T : struct, IBinaryInteger<T>, IMinMaxValue<T>
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (!T.TryParse(token, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out T v) || v < min || v > max)
        {
            r.AddError($"{name} {(token.Length == 0 ? "''" : token)}: expected {Range(min, max)}");
            return default;
        }
        return v;
    }

    /// <summary>How a range reads in a message: "a whole number from 1 to 256", "a whole number of at least 0".</summary>
    internal static string Range<T>(T min, T max) where T : struct, IBinaryInteger<T>, IMinMaxValue<T> =>
        max == T.MaxValue && min != T.MinValue
            ? string.Create(CultureInfo.InvariantCulture, $"a whole number of at least {min}")
            : string.Create(CultureInfo.InvariantCulture, $"a whole number from {min} to {max}");

    /// <summary>A text option: <paramref name="placeholder"/> in the help, <paramref name="defaultText"/> as <c>[default: ...]</c>.</summary>
    internal static Option<string?> Text(string name, string placeholder, string description, string? defaultText = null, params string[] aliases) =>
        new(name, aliases) { Description = WithDefault(description, defaultText), HelpName = placeholder };

    /// <summary>
    /// An output file option (<c>--html</c>, <c>--timeline</c>, <c>-o</c>): an empty name, a folder or a missing parent
    /// folder is a usage error before any work (<see cref="VerbConventions.OutputFileProblem"/>). <paramref name="allowDash"/>:
    /// <c>-</c> means standard output.
    /// </summary>
    internal static Option<string?> OutputFile(string name, string description, bool allowDash = false, string? defaultText = null, params string[] aliases)
    {
        var o = Text(name, "FILE", description, defaultText, aliases);
        o.Validators.Add(r =>
        {
            string value = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            if (allowDash && value == "-")
            {
                return;
            }
            if (VerbConventions.OutputFileProblem(name, value) is { } problem)
            {
                r.AddError(problem);
            }
        });
        return o;
    }

    /// <summary>The <c>--machine &lt;OPTIONS&gt;</c> option: options added to the verb's default machine.</summary>
    internal static Option<string?> Machine(string verbDefault, string example) =>
        Text("--machine", "OPTIONS", $"machine options (kernel command line style) added to {verbDefault}, e.g. \"{example}\"");

    /// <summary>The <c>--json</c> flag: JSON Lines, one object per item, then the summary object.</summary>
    internal static Option<bool> Json(string items) =>
        new("--json") { Description = $"JSON Lines: one object per {items}, then a last {{\"passed\":N,\"failed\":M,\"skipped\":K,...}} object" };

    /// <summary>
    /// A token that Ctrl-C (SIGINT) cancels instead of killing the process, so a long verb (stress, sweep) stops between
    /// steps, prints its partial summary with the seed and exits 130 (<see cref="VerbConventions.Interrupted"/>).
    /// </summary>
    internal static CancellationToken CancelOnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        return cts.Token;
    }

    internal static string WithDefault(string description, string? defaultText) =>
        defaultText is null ? description : $"{description} [default: {defaultText}]";

    /// <summary>
    /// Makes every verb refuse option-like words as its PATH/TRACE arguments (<c>replay --jsn</c> was taken as a file):
    /// an argument that starts with '-' and names no existing file is an unknown option, with a suggestion.
    /// </summary>
    internal static void RefuseUnknownOptionsAsArguments(RootCommand root)
    {
        foreach (var cmd in root.Subcommands)
        {
            // run's arguments are a program's command line (`run -- ls -l`): its options are the program's own.
            if (cmd.Name == "run")
            {
                continue;
            }
            foreach (var arg in cmd.Arguments)
            {
                arg.Validators.Add(r =>
                {
                    foreach (var t in r.Tokens)
                    {
                        if (t.Value.Length > 1 && t.Value[0] == '-' && !File.Exists(t.Value) && !Directory.Exists(t.Value))
                        {
                            r.AddError($"unknown option '{t.Value}'{Suggest(t.Value, OptionNames(cmd))}; see dmabufsim {cmd.Name} --help");
                        }
                    }
                });
            }
        }
    }

    private static IEnumerable<string> OptionNames(Command cmd) =>
        cmd.Options.SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal));

    /// <summary>" (did you mean X?)" for the closest of <paramref name="candidates"/>, or "" when none is close.</summary>
    internal static string Suggest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            int d = Distance(word, c);
            if (d < bestDistance || (d == bestDistance && best is not null && string.CompareOrdinal(c, best) < 0))
            {
                best = c;
                bestDistance = d;
            }
        }
        return best is not null && (bestDistance <= Math.Max(2, word.Length / 3) || best.StartsWith(word, StringComparison.Ordinal))
            ? $" (did you mean {best}?)"
            : "";
    }

    // Optimal string alignment distance (Levenshtein with adjacent transpositions: "replya" is one step from "replay").
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (int j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>
    /// Prints the parse errors as <c>dmabufsim VERB: ...</c> (unknown verbs and options with a suggestion; no verb or an
    /// unknown one: the list of verbs too) and returns <see cref="VerbConventions.Usage"/>.
    /// </summary>
    internal static int ReportParseErrors(RootCommand root, ParseResult parse, TextWriter stderr)
    {
        var cmd = parse.CommandResult.Command;
        string verb = ReferenceEquals(cmd, root) ? "" : cmd.Name;
        bool listVerbs = false;
        bool unknownVerb = verb.Length == 0 && parse.Errors.Any(e => e.Message.StartsWith("Unrecognized command or argument '", StringComparison.Ordinal));
        foreach (var e in parse.Errors)
        {
            if (unknownVerb && e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            {
                continue;
            }
            string message = e.Message;
            if (e.Message.StartsWith("Unrecognized command or argument '", StringComparison.Ordinal))
            {
                string word = e.Message["Unrecognized command or argument '".Length..].TrimEnd('.').TrimEnd('\'');
                if (verb.Length == 0 && !word.StartsWith('-'))
                {
                    message = $"unknown verb '{word}'{Suggest(word, root.Subcommands.Select(c => c.Name))}";
                    listVerbs = true;
                }
                else if (word.StartsWith('-'))
                {
                    message = $"unknown option '{word}'{Suggest(word, OptionNames(cmd))}; see dmabufsim {(verb.Length == 0 ? "" : verb + " ")}--help";
                }
                else
                {
                    message = $"unexpected argument '{word}'; see dmabufsim {verb} --help";
                }
            }
            else if (verb.Length == 0 && e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal))
            {
                message = "no verb given";
                listVerbs = true;
            }
            stderr.WriteLine(VerbConventions.Prefix(verb) + message);
        }
        if (listVerbs)
        {
            stderr.WriteLine("usage: dmabufsim VERB [OPTIONS]; the verbs:");
            foreach (var c in root.Subcommands.Where(c => !c.Hidden))
            {
                stderr.WriteLine($"  {c.Name,-14} {c.Description}");
            }
            stderr.WriteLine("dmabufsim VERB --help describes a verb's options.");
        }
        return VerbConventions.Usage;
    }

    /// <summary>
    /// Runs a help request with the top-level list fixed: <c>replay [PATH...]</c> for an optional, repeatable argument
    /// (System.CommandLine writes <c>replay &lt;PATH&gt;</c>, as if a PATH were required), <c>show &lt;TRACE&gt;</c> for a
    /// required one; no trailing blanks.
    /// </summary>
    internal static int WriteHelp(RootCommand root, ParseResult parse, TextWriter stdout)
    {
        var text = new StringWriter();
        int status = parse.Invoke(new InvocationConfiguration { Output = text });
        var lines = text.ToString().Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n').ToList();
        for (int k = 0; k < lines.Count; k++)
        {
            foreach (var cmd in root.Subcommands)
            {
                foreach (var a in cmd.Arguments.Where(a => a.Arity.MinimumNumberOfValues == 0))
                {
                    string old = $"  {cmd.Name} <{a.Name}>";
                    string now = $"  {cmd.Name} [{a.Name}{(a.Arity.MaximumNumberOfValues > 1 ? "..." : "")}]";
                    string pad = new(' ', now.Length - old.Length + 2);
                    if (lines[k].StartsWith(old + pad, StringComparison.Ordinal))
                    {
                        lines[k] = now + lines[k][(old.Length + pad.Length - 2)..];
                    }
                }
            }
            lines[k] = lines[k].TrimEnd();
        }
        stdout.Write(string.Join('\n', lines));
        return status;
    }
}
