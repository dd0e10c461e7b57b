// Models include/linux/kref.h.
using Sim.Core.Debug;

namespace Sim.Core.Lib;

/// <summary>
/// <c>struct kref</c>: an explicit reference count whose last <see cref="Put"/> runs the release callback.
/// Lifetimes are never left to the GC, so leaks can be counted.
/// </summary>
[Kernel("kref", "include/linux/kref.h")]
public struct Kref
{
    private int _refcount;

    /// <summary>The current count (<c>kref_read</c>).</summary>
    public readonly int Read => _refcount;

    /// <summary><c>kref_init</c>: the count becomes 1.</summary>
    public void Init() => _refcount = 1;

    /// <summary><c>kref_get</c>. Getting a dead object is a simulator bug.</summary>
    public void Get()
    {
        KernelBugException.On(_refcount <= 0, "kref_get on a released object");
        _refcount++;
    }

    /// <summary><c>kref_get_unless_zero</c>.</summary>
    public bool GetUnlessZero()
    {
        if (_refcount == 0)
        {
            return false;
        }
        _refcount++;
        return true;
    }

    /// <summary><c>kref_put</c>: drops one reference; runs <paramref name="release"/> and returns true at zero.</summary>
    public bool Put(Action release)
    {
        KernelBugException.On(_refcount <= 0, "kref_put underflow");
        if (--_refcount == 0)
        {
            release();
            return true;
        }
        return false;
    }
}
