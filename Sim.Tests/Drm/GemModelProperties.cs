using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Reliability.Use;
using Sim.Tests.Reliability;

namespace Sim.Tests.Drm;

/// <summary>
/// Random sequences of open/close/CREATE_DUMB/DESTROY_DUMB/GEM_CLOSE/FLINK/GEM_OPEN (stress's commands,
/// <see cref="UseCommand"/>) over two processes and two vgem devices against their model (per-file handle →
/// object, per-device name → object): the kernel's results, lowest-free handles, a flinked object's one name
/// (else the lowest free), a name dying with the object's last handle, and nothing left alive once every
/// process has exited.
/// </summary>
public class GemModelProperties
{
    // stress's numbers of open (0-7), close (8-13), MODE_CREATE_DUMB (17-31), DESTROY_DUMB/GEM_CLOSE (32-39),
    // GEM_FLINK (40-44) and GEM_OPEN (45-49).
    private static readonly int[] s_gemOps = [.. Enumerable.Range(0, 14), .. Enumerable.Range(17, 33)];

    [Property(MaxTest = 60)]
    public Property Random_gem_sequences_match_the_model_and_leak_nothing() =>
        Prop.ForAll(UseSequences.Of(s_gemOps, 0, 120), steps => UseSequences.Holds(UseConfig.TwoVgem, steps));
}
