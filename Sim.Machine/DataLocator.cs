namespace Sim.Machine;

/// <summary>Finds the bundled ground truth (<c>data/traces</c>, <c>data/vectors</c>) of the repository.</summary>
public static class DataLocator
{
    /// <summary>
    /// The repository's <c>data</c> folder: <c>$DMABUFSIM_DATA</c> if set, else the first <c>data</c> folder with
    /// <c>traces/README.md</c> found walking up from the current directory or from the program's own folder.
    /// </summary>
    public static string? FindDataDir()
    {
        var env = Environment.GetEnvironmentVariable("DMABUFSIM_DATA");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return Path.GetFullPath(env);
        }
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null)
            {
                var candidate = Path.Combine(dir.FullName, "data");
                if (File.Exists(Path.Combine(candidate, "traces", "README.md")))
                {
                    return candidate;
                }
                dir = dir.Parent;
            }
        }
        return null;
    }

    /// <summary>The default replay set: every trace family and the vectors, in a stable order.</summary>
    public static List<string> DefaultReplayPaths(string dataDir) =>
        [Path.Combine(dataDir, "traces"), Path.Combine(dataDir, "vectors")];

    /// <summary>A short name for messages: relative to the current directory when inside it.</summary>
    public static string DisplayName(string path)
    {
        var full = Path.GetFullPath(path);
        var rel = Path.GetRelativePath(Directory.GetCurrentDirectory(), full);
        return rel.StartsWith("..", StringComparison.Ordinal) ? full : rel;
    }
}
