// The replay engine's one observation point: who wants to see a replay happen (a timeline, a profiler) listens
// here, and nothing in the handlers or the models changes for it.
using Sim.Core.Debug;

namespace Sim.Core.Replay;

/// <summary>
/// Watches a replay: the engine calls it when a file's machine is ready, around every user event (and every
/// end-of-file step), for every kernel trace record the models fire (<see cref="KernelTrace"/>), and when the
/// file ends (before its machine is disposed). Observers only look: they never change the outcome.
/// </summary>
public interface IReplayObserver
{
    /// <summary>The file's machine is built and its file-start steps ran.</summary>
    void FileStarted(ReplaySession context);

    /// <summary>A user event is about to be executed (<paramref name="exitStep"/> names an end-of-file step, else null).</summary>
    void EventStarting(ReplaySession context, TraceEvent ev, string? exitStep);

    /// <summary>A kernel trace record fired while the current event executes.</summary>
    void KernelRecord(ReplaySession context, KernelTraceRecord record);

    /// <summary>The event ran and was compared: <paramref name="check"/> holds its outcome.</summary>
    void EventFinished(ReplaySession context, TraceEvent ev, string? exitStep, ReplayCheck check);

    /// <summary>The file ended (all events and exit steps, or the stop event of a partial replay).</summary>
    void FileFinished(ReplaySession context, FileResult result);
}
