// The messages between libdmabufsim-run.so and the host (tools/dmabufsim-run/dmabufsim_run_proto.h): fixed
// little-endian headers of 64 bytes, then a payload, sent as packets through a shared memory area (RunChannel).
// Everything that arrives is untrusted input: the decoder checks the op and the lengths before anything else looks
// at a message.
using System.Buffers.Binary;

namespace Sim.Run;

/// <summary>The ops of <c>enum run_op</c>.</summary>
public enum RunOp : uint
{
#pragma warning disable CS1591 // the C names, documented in dmabufsim_run_proto.h
    Hello = 1, Open, Close, Ioctl, Mmap, Munmap, Dup, Fcntl, Lseek, Read, Write, Fstat, Stat, Fork, ForkAbort, Exec,
    ExecFailed, Poll, Adopt, Send, Mknod, CbReply, Memfd, Ftruncate, Mremap, Unlink, Listdir, Origin, Exit, Readlink, Realpath,
    Attach,
#pragma warning restore CS1591
}

/// <summary>A decoded request header (<c>struct run_req</c>).</summary>
public readonly record struct RunRequest(RunOp Op, uint Length, long A0, long A1, long A2, long A3, long A4, long A5, long A6)
{
    /// <summary>Bytes of a header.</summary>
    public const int HeaderSize = 64;

    /// <summary>The most return addresses a <c>RUN_ORIGIN</c> message carries (<c>RUN_MAX_FRAMES</c>).</summary>
    public const int MaxFrames = 32;

    /// <summary>The largest payload either side sends (<c>RUN_MAX_PAYLOAD</c>).</summary>
    public const uint MaxPayload = 1u << 20;

    /// <summary><c>RUN_RET_PASS</c>: not simulated, the real system answers.</summary>
    public const long RetPass = -100000;

    /// <summary><c>RUN_RET_CONTENT</c>: a simulated seq_file, the payload is its text.</summary>
    public const long RetContent = -100001;

    /// <summary>Argument <paramref name="k"/> (0..6).</summary>
    public long Arg(int k) => k switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, _ => A6 };

    /// <summary>Decodes a header: false with a reason for an unknown op or a payload over the limit.</summary>
    public static bool TryParse(ReadOnlySpan<byte> header, out RunRequest request, out string error)
    {
        request = default;
        if (header.Length != HeaderSize)
        {
            error = $"header of {header.Length} bytes";
            return false;
        }
        uint op = BinaryPrimitives.ReadUInt32LittleEndian(header);
        uint len = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
        if (op < (uint)RunOp.Hello || op > (uint)RunOp.Attach)
        {
            error = $"unknown op {op}";
            return false;
        }
        if (len > MaxPayload)
        {
            error = $"payload of {len} bytes (limit {MaxPayload})";
            return false;
        }
        Span<long> a = stackalloc long[7];
        for (int k = 0; k < 7; k++)
        {
            a[k] = BinaryPrimitives.ReadInt64LittleEndian(header[(8 + 8 * k)..]);
        }
        request = new RunRequest((RunOp)op, len, a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
        error = "";
        return true;
    }
}

/// <summary>
/// One turn of the program: the bytes of a packet in its region of the shared area, an optional <c>RUN_ORIGIN</c>
/// (the return addresses of the call, <c>--check</c>), then exactly one request with its payload, and nothing after.
/// </summary>
public static class RunPacket
{
    /// <summary>Decodes a packet: false with a reason when it is not one origin at most and then one request.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> packet, out RunRequest request, out ReadOnlySpan<byte> origin, out ReadOnlySpan<byte> payload, out string error)
    {
        origin = default;
        payload = default;
        request = default;
        int at = 0;
        if (!TakeMessage(packet, ref at, out var first, out error))
        {
            return false;
        }
        if (first.Op == RunOp.Origin)
        {
            if (first.Length % 8 != 0 || first.Length > 8 * RunRequest.MaxFrames)
            {
                error = $"an origin of {first.Length} bytes";
                return false;
            }
            origin = packet.Slice(at - (int)first.Length, (int)first.Length);
            if (!TakeMessage(packet, ref at, out request, out error))
            {
                return false;
            }
            if (request.Op == RunOp.Origin)
            {
                error = "an origin after an origin";
                return false;
            }
        }
        else
        {
            request = first;
        }
        if (at != packet.Length)
        {
            error = $"{packet.Length - at} bytes after the {request.Op} request";
            return false;
        }
        payload = packet.Slice(at - (int)request.Length, (int)request.Length);
        return true;
    }

    // The message at packet[at..]: its header checked and its payload inside the packet; at moves past it.
    private static bool TakeMessage(ReadOnlySpan<byte> packet, ref int at, out RunRequest request, out string error)
    {
        int rest = packet.Length - at;
        if (rest < RunRequest.HeaderSize)
        {
            request = default;
            error = $"a message of {rest} bytes (a header is {RunRequest.HeaderSize})";
            return false;
        }
        if (!RunRequest.TryParse(packet.Slice(at, RunRequest.HeaderSize), out request, out error))
        {
            return false;
        }
        rest -= RunRequest.HeaderSize;
        if (request.Length > rest)
        {
            error = $"{request.Op} with a payload of {request.Length} bytes in {rest}";
            return false;
        }
        at += RunRequest.HeaderSize + (int)request.Length;
        return true;
    }
}

/// <summary>A reply header (<c>struct run_rep</c>).</summary>
public static class RunReply
{
    /// <summary><c>RUN_REP_FINAL</c>.</summary>
    public const uint Final = 0;

    /// <summary><c>RUN_REP_NEWFD</c>.</summary>
    public const uint NewFd = 1;

    /// <summary>Encodes a header.</summary>
    public static void Write(Span<byte> header, uint kind, uint length, long ret, ReadOnlySpan<long> args)
    {
        header[..RunRequest.HeaderSize].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header, kind);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], ret);
        for (int k = 0; k < args.Length && k < 6; k++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(header[(16 + 8 * k)..], args[k]);
        }
    }
}
