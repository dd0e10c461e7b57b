// Cross-reference tag: the kernel function or struct a C# member models.
using System.Runtime.CompilerServices;

namespace Sim.Core;

/// <summary>
/// Names the Linux kernel function, struct or file that a type or member models, so a kernel engineer can
/// find <c>dma_buf_map_attachment</c> by grep and tools can list C name to C# member.
/// </summary>
[AttributeUsage(AttributeTargets.All, AllowMultiple = true, Inherited = false)]
public sealed class KernelAttribute : Attribute
{
    /// <summary>Tags a member with the kernel symbol it models.</summary>
    /// <param name="name">The C name.</param>
    /// <param name="file">The kernel source file, when given.</param>
    /// <param name="sourcePath">Filled in by the compiler: the C# file the attribute is written in.</param>
    public KernelAttribute(string name, string? file = null, [CallerFilePath] string sourcePath = "")
    {
        Name = name;
        File = file;
        SourcePath = sourcePath;
    }

    /// <summary>The C name (<c>dma_buf_map_attachment</c>).</summary>
    public string Name { get; }

    /// <summary>The kernel source file (<c>drivers/dma-buf/dma-buf.c</c>), when given.</summary>
    public string? File { get; }

    /// <summary>The C# file the attribute is written in, as the compiler saw it (absolute, or path-mapped).</summary>
    public string SourcePath { get; }
}
