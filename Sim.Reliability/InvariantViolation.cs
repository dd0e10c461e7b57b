namespace Sim.Reliability;

/// <summary>One broken invariant: the seed and step that reproduce it and what was wrong.</summary>
public sealed record InvariantViolation(int Seed, long Step, string Operation, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"seed {Seed} step {Step} ({Operation}): {Message}";
}
