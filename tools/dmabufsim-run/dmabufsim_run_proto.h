/* The channel between libdmabufsim-run.so (in the program) and `dmabufsim run` (the host), one connection per
 * program thread: a Unix stream socket and a shared memory area (a memfd of the preload's, 2 x RUN_CHAN_REGION
 * bytes: region 0 program -> host, region 1 host -> program). The socket carries one RUN_ATTACH request (the
 * memfd's descriptor number) and then only wake-up bytes and the end of the session; the messages (fixed
 * little-endian headers and their payloads) go through the regions. Each side's turn is one packet of messages in
 * its region: the program's is an optional RUN_ORIGIN then one request (or one RUN_CB_REPLY), the host's one reply.
 * Mirrored in Sim.Run/RunProtocol.cs. */
#ifndef DMABUFSIM_RUN_PROTO_H
#define DMABUFSIM_RUN_PROTO_H
#include <stdint.h>

/* program -> host: a request, then `len` payload bytes */
struct run_req {
	uint32_t op;
	uint32_t len;
	int64_t a[7];
};

/* host -> program: a final reply or a callback, then `len` payload bytes */
struct run_rep {
	uint32_t kind;
	uint32_t len;
	int64_t ret;
	int64_t a[6];
};

enum run_op {
	RUN_HELLO = 1,      /* a0 kind (0 image start, 1 fork child, 2 thread), a1 token/ppid; payload comm */
	RUN_OPEN = 2,       /* a0 flags, a1 mode; payload path */
	RUN_CLOSE = 3,      /* a0 fd */
	RUN_IOCTL = 4,      /* a0 fd, a1 cmd, a2 arg */
	RUN_MMAP = 5,       /* a0 addr (reserved), a1 len, a2 prot, a3 flags, a4 fd, a5 offset */
	RUN_MUNMAP = 6,     /* a0 addr, a1 len */
	RUN_DUP = 7,        /* a0 oldfd, a1 newfd (-1: lowest free at >= a2), a2 start, a3 cloexec */
	RUN_FCNTL = 8,      /* a0 fd, a1 cmd, a2 arg */
	RUN_LSEEK = 9,      /* a0 fd, a1 offset, a2 whence */
	RUN_READ = 10,      /* a0 fd, a1 count; reply payload: the bytes */
	RUN_WRITE = 11,     /* a0 fd; payload: the bytes */
	RUN_FSTAT = 12,     /* a0 fd; reply a0 ino, a1 mode, a2 major, a3 minor, a5 size */
	RUN_STAT = 13,      /* a0 AT_SYMLINK_NOFOLLOW; payload path; reply as RUN_FSTAT */
	RUN_FORK = 14,      /* reply ret: token for the child */
	RUN_FORK_ABORT = 15,/* a0 token */
	RUN_EXEC = 16,      /* about to execve */
	RUN_EXEC_FAILED = 17,
	RUN_POLL = 18,      /* a0 timeout (ms, simulated descriptors only); payload: n x (int32 fd, uint32 events); reply payload n x uint32 revents */
	RUN_ADOPT = 19,     /* a0 fd, a1 ino: a descriptor received with SCM_RIGHTS */
	RUN_SEND = 20,      /* a0 fd: a descriptor about to be sent with SCM_RIGHTS */
	RUN_MKNOD = 21,     /* a0 mode, a1 major, a2 minor; payload path */
	RUN_CB_REPLY = 22,  /* a0 fd or -errno, a1 ino */
	RUN_MEMFD = 23,     /* a0 flags; payload name */
	RUN_FTRUNCATE = 24, /* a0 fd, a1 length */
	RUN_MREMAP = 25,    /* a0 addr, a1 old_len, a2 new_len, a3 flags */
	RUN_UNLINK = 26,    /* payload path */
	RUN_LISTDIR = 27,   /* payload path; reply ret = entries, payload "name\0type\0ino\n" each */
	RUN_ORIGIN = 28,    /* --check only, no reply: the program's return addresses (payload n x uint64, n <= RUN_MAX_FRAMES)
	                       of the call whose request follows on this connection */
	RUN_EXIT = 29,      /* exit(): the simulated do_exit now, before the real process ends (its parent's wait
	                       returns after the simulated exit, as on Linux) */
	RUN_READLINK = 30,  /* payload path; reply ret = length, payload the target */
	RUN_REALPATH = 31,  /* payload path; reply payload the canonical path */
	RUN_ATTACH = 32,    /* on the socket, first: a0 the channel memfd's descriptor, a1 RUN_CHAN_REGION */
};

enum run_rep_kind {
	RUN_REP_FINAL = 0,  /* ret; a4 = number of (int32 fd, int32 action) entries that start the payload */
	RUN_REP_NEWFD = 1,  /* callback: make a descriptor >= a0 (a1 cloexec; a2 >= 0: a dup of that fd) */
};

enum run_fd_action { RUN_FD_CLOSE = 0, RUN_FD_KEEP = 1, RUN_FD_KEEP_CLOEXEC = 2 };

#define RUN_RET_PASS (-100000L)    /* not simulated: the real system answers */
#define RUN_RET_CONTENT (-100001L) /* a simulated seq_file: the payload is its text */
#define RUN_MAX_PAYLOAD (1u << 20)
#define RUN_MAX_FRAMES 32

/* A region of the shared area: the writer fills data[0..len), then increments seq; the reader spins on seq for a
 * while, then sets sleeping and waits for a wake-up byte on the socket (the writer sends one when it sees sleeping
 * after its increment). seq and len at offset 0, sleeping at 64 (its own cache line), the packet at 128. */
#define RUN_CHAN_SEQ 0
#define RUN_CHAN_LEN 4
#define RUN_CHAN_SLEEPING 64
#define RUN_CHAN_DATA 128
#define RUN_CHAN_REGION (RUN_MAX_PAYLOAD + 8192)
#define RUN_CHAN_CAP (RUN_CHAN_REGION - RUN_CHAN_DATA)

#endif
