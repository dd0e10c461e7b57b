// Deliberate rule breaks for testing the testers (no kernel counterpart): a machine built with a mutation
// answers one rule wrongly on purpose, so a differential test can prove it finds and shrinks such a bug.
namespace Sim.Core.Boot;

/// <summary>
/// The rule breaks a machine is composed with (<see cref="MachineOptions.Mutations"/>): none by default, never
/// read from a trace header or a kernel command line, and not a fault site (the failure sweep does not iterate
/// them). Each is read by the model where its rule is, from the machine it runs in, so two machines in one
/// process never see each other's.
/// </summary>
public sealed record Mutations
{
    /// <summary>No rule broken: what every machine gets unless a test asks otherwise.</summary>
    public static Mutations None { get; } = new();

    /// <summary>The mutations by name (<c>dmabufsim difftest --fault NAME</c>).</summary>
    public static IReadOnlyList<string> Names { get; } = ["bpp-limit"];

    /// <summary><c>bpp-limit</c>: <c>drm_mode_create_dumb</c> skips its <c>bpp &gt; U32_MAX - 8</c> check.</summary>
    public bool SkipDumbBppLimit { get; init; }

    /// <summary>Whether any rule is broken.</summary>
    public bool Any => SkipDumbBppLimit;

    /// <summary>The mutation called <paramref name="name"/>; <see cref="ArgumentException"/> for an unknown name.</summary>
    public static Mutations Parse(string name) => name switch
    {
        "bpp-limit" => new Mutations { SkipDumbBppLimit = true },
        _ => throw new ArgumentException($"unknown fault '{name}' (known: {string.Join(", ", Names)})", nameof(name)),
    };
}
