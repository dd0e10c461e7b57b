// The fuzz target of the `dmabufsim run` protocol decoder (Fuzz/, beside the trace readers'): any bytes as a
// program's packet (RunPacket.TryDecode) and as the first message of a socket (RunRequest.TryParse). Every input
// decodes into a message that keeps the decoder's promises or is refused with a reason; anything else (an
// exception, a payload outside the input, a refusal without a reason) is a finding.
namespace Sim.Run;

/// <summary>The decoder's fuzz target.</summary>
public static class RunProtocolFuzzTarget
{
    /// <summary>Decodes <paramref name="input"/>; throws <see cref="InvalidOperationException"/> on a finding.</summary>
    public static void Run(ReadOnlySpan<byte> input)
    {
        if (RunPacket.TryDecode(input, out var request, out var origin, out var payload, out string error))
        {
            if (request.Op is < RunOp.Hello or > RunOp.Attach || request.Op == RunOp.Origin)
            {
                throw new InvalidOperationException($"decoded op {(uint)request.Op}");
            }
            if (payload.Length != request.Length || request.Length > RunRequest.MaxPayload)
            {
                throw new InvalidOperationException($"payload of {payload.Length} bytes for a length of {request.Length}");
            }
            if (origin.Length % 8 != 0 || origin.Length > 8 * RunRequest.MaxFrames)
            {
                throw new InvalidOperationException($"origin of {origin.Length} bytes");
            }
            if (RunRequest.HeaderSize + payload.Length + (origin.Length == 0 ? 0 : RunRequest.HeaderSize + origin.Length) != input.Length)
            {
                throw new InvalidOperationException("a decoded packet that does not cover its input");
            }
        }
        else if (error.Length == 0)
        {
            throw new InvalidOperationException("a packet refused without a reason");
        }
        if (input.Length >= RunRequest.HeaderSize && !RunRequest.TryParse(input[..RunRequest.HeaderSize], out _, out error) && error.Length == 0)
        {
            throw new InvalidOperationException("a header refused without a reason");
        }
    }

    /// <summary>What <see cref="Run"/> found for <paramref name="input"/>: null when nothing, else the exception.</summary>
    public static Exception? Check(byte[] input)
    {
        try
        {
            Run(input);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e;
        }
    }
}
