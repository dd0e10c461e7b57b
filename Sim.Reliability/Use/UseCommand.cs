namespace Sim.Reliability.Use;

/// <summary>
/// One operation of random use: a small type with a precondition on the model, its arguments drawn from the
/// state's random source, the system calls it makes on the machine, the postcondition (the machine's result
/// against what the model expects) and the model's update. <c>stress</c> (<see cref="RandomUse"/>) draws one
/// command after another from one seed; the FsCheck properties generate, run and shrink sequences of them.
/// </summary>
public abstract class UseCommand
{
    /// <summary>The process (index into <see cref="UseState.Procs"/>) that makes the call.</summary>
    public int Proc { get; init; }

    /// <summary>The operation's name in the statistics and the violations.</summary>
    public abstract string Name { get; }

    /// <summary>Draws the arguments the precondition looks at (the descriptor the call goes to), if any.</summary>
    public virtual void DrawTarget(UseState s)
    {
    }

    /// <summary>False when the command would exceed the model's bounds; it then does nothing (and counts as a failed call).</summary>
    public virtual bool Pre(UseState s) => true;

    /// <summary>Draws the other arguments from <see cref="UseState.Rng"/> (the model picks open descriptors and handles).</summary>
    public virtual void Draw(UseState s)
    {
    }

    /// <summary>Makes the system calls; returns the result the postcondition judges.</summary>
    public abstract long Run(UseState s);

    /// <summary>Checks the result against the model before the model changes (violations go to <see cref="UseState.Violation"/>).</summary>
    public abstract void Post(UseState s, long ret);

    /// <summary>Updates the model with what the call did.</summary>
    public abstract void Update(UseState s, long ret);

    /// <summary>Whether the call succeeded (counted per operation).</summary>
    public virtual bool Succeeded(long ret) => ret >= 0;

    /// <summary>Draw of the target, precondition, draw, run, postcondition, model update; returns whether the call succeeded.</summary>
    public bool Execute(UseState s)
    {
        ArgumentNullException.ThrowIfNull(s);
        DrawTarget(s);
        if (!Pre(s))
        {
            return false;
        }
        Draw(s);
        long r = Run(s);
        Post(s, r);
        Update(s, r);
        return Succeeded(r);
    }

    /// <summary>The process of the command.</summary>
    protected UseProc P(UseState s) => s.Procs[Proc];
}
