using Sim.Core.Kernel;

namespace Sim.Core.Replay;

/// <summary>
/// Per-file replay state: the traced program's process (<c>ctx.State&lt;TracedProcess&gt;()</c>). The process-level
/// replay (Sim.Drm's file-start hook: the header's <c>open_fds</c>, <c>openat</c>, <c>close</c>, <c>mmap</c>, ...)
/// fills it; handlers of every project act on its fds and mappings. Tests may fill it themselves.
/// </summary>
public sealed class TracedProcess
{
    /// <summary>The traced process, or null before the file-start hook made it.</summary>
    public Process? Process { get; set; }
}
