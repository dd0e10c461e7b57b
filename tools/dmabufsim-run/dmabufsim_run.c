/* libdmabufsim-run.so: makes the simulated kernel of `dmabufsim run` the kernel of an unmodified, dynamically
 * linked program. Calls on simulated paths and descriptors go to the host over a private channel (one connection
 * per thread: a Unix socket and a shared memory area, see dmabufsim_run_proto.h); everything else goes to the real
 * system untouched.
 *
 * - A simulated open file is a real descriptor of the program with the same number: a placeholder memfd the host
 *   asks for (lowest free real fd, as get_unused_fd_flags) whenever the simulated kernel installs a file.
 * - Simulated physical memory is a memfd shared with the host: an mmap of a simulated file maps the frames the
 *   simulated fault handler gives, MAP_FIXED over a reserved range; a page whose fault fails maps past the end of
 *   an empty memfd, so touching it raises SIGBUS as on Linux.
 * - Pointers inside ioctl structs are read and written by the host in this process's memory.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <limits.h>
#include <unistd.h>
#include "dmabufsim_run_proto.h"

#define MAXFD 65536
#define PAGE 4096UL

static long (*real_syscall)(long, ...);
static FILE *(*real_fopen)(const char *, const char *);
static FILE *(*real_fopen64)(const char *, const char *);
static pid_t (*real_fork)(void);
static int (*real_execve)(const char *, char *const[], char *const[]);

static int g_active;
static int g_check;                       /* --check: send the program's backtrace with each call */
static uintptr_t g_self_lo, g_self_hi;    /* this library's loaded range (its frames are not the program's) */
static char g_sock[108];
static int g_physfd = -1, g_sigbusfd = -1;
static int g_fdbase;
static unsigned char g_sim[MAXFD];
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
/* The socket of a connection and its shared area (see dmabufsim_run_proto.h). */
struct chan {
	int sock, fd;
	unsigned char *map;
};
static __thread int t_conn = -1;
static __thread struct chan t_chan = { -1, -1, NULL };
static struct chan g_conns[256];
static int g_nconns;
static pthread_key_t g_key;

struct simmap { unsigned long start, len; };
static struct simmap g_maps[4096];
static int g_nmaps;

/* libc's syscall(): -1 with errno set on failure (never pass its result to ret_errno) */
#define RSYS(...) real_syscall(__VA_ARGS__)

static void resolve(void)
{
	if (real_syscall)
		return;
	real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	real_fopen = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
	real_fopen64 = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen64");
	real_fork = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
	real_execve = (int (*)(const char *, char *const[], char *const[]))dlsym(RTLD_NEXT, "execve");
}

static void die(const char *msg)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "dmabufsim run: %s (pid %d): the simulated kernel is gone\n", msg, (int)getpid());
	RSYS(SYS_write, 2, buf, (long)n);
	RSYS(SYS_exit_group, 125);
}

static uint32_t *chan_word(unsigned char *region, int off) { return (uint32_t *)(region + off); }

static long mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* How long a side spins on the other's packet before it sleeps: a cheap call comes back well within the longest
 * spin when the other side has a CPU. The spin adapts, like an adaptive mutex: it grows after a wait the spin
 * ended and halves after one that had to sleep, so a loaded machine (where spinning only takes the CPU from the
 * side it waits for) soon sleeps at once; a short spin now and then finds out when the CPUs are free again. */
#define CHAN_SPIN_MAX_NS 50000L
#define CHAN_SPIN_MIN_NS 1000L
static __thread long t_spin = CHAN_SPIN_MAX_NS;

/* Publishes the packet of len bytes written at region + RUN_CHAN_DATA; wakes the reader when it sleeps. */
static void chan_post(int sock, unsigned char *region, uint32_t len)
{
	uint32_t *seq = chan_word(region, RUN_CHAN_SEQ);
	*chan_word(region, RUN_CHAN_LEN) = len;
	__atomic_store_n(seq, *seq + 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(chan_word(region, RUN_CHAN_SLEEPING), __ATOMIC_SEQ_CST)) {
		char b = 0;
		RSYS(SYS_sendto, sock, &b, 1L, MSG_NOSIGNAL | MSG_DONTWAIT, 0, 0);
	}
}

/* Waits until the region's seq differs from last; -1 when the host is gone. */
static int chan_wait(int sock, unsigned char *region, uint32_t last)
{
	uint32_t *seq = chan_word(region, RUN_CHAN_SEQ), *sleeping = chan_word(region, RUN_CHAN_SLEEPING);
	long t0 = 0, budget = t_spin < CHAN_SPIN_MIN_NS ? CHAN_SPIN_MIN_NS : t_spin;
	for (unsigned k = 1;; k++) {
		if (__atomic_load_n(seq, __ATOMIC_ACQUIRE) != last) {
			t_spin = t_spin + CHAN_SPIN_MAX_NS / 8 > CHAN_SPIN_MAX_NS ? CHAN_SPIN_MAX_NS : t_spin + CHAN_SPIN_MAX_NS / 8;
			return 0;
		}
		if ((k & 63) == 0) {
			long t = mono_ns();
			if (!t0)
				t0 = t;
			else if (t - t0 > budget)
				break;
		}
		cpu_relax();
	}
	t_spin /= 2;
	for (;;) {
		__atomic_store_n(sleeping, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(seq, __ATOMIC_SEQ_CST) != last) {
			__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
			return 0;
		}
		char b[64];
		long r = RSYS(SYS_recvfrom, sock, b, sizeof b, 0, 0, 0);
		__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
	}
}

/* memcpy that gives -EFAULT instead of SIGSEGV for a bad pointer of the program's (read and write buffers). */
static int user_copy(void *dst, const void *src, size_t n)
{
	if (!n)
		return 0;
	struct iovec l = { dst, n }, r = { (void *)src, n };
	return RSYS(SYS_process_vm_readv, (long)getpid(), &l, 1L, &r, 1L, 0L) == (long)n ? 0 : -EFAULT;
}

/* Moves a descriptor into the preload's own range at the top of the table (so program fds keep Linux's numbers). */
static int tohigh(int fd, int cloexec)
{
	int h = (int)RSYS(SYS_fcntl, fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, g_fdbase);
	RSYS(SYS_close, fd);
	return h;
}

static int is_internal(int fd)
{
	if (fd == g_physfd || fd == g_sigbusfd)
		return 1;
	for (int k = 0; k < g_nconns; k++)
		if (g_conns[k].sock == fd || g_conns[k].fd == fd)
			return 1;
	return 0;
}

static int hello(int conn, long kind, long arg);

static void conn_destroy(void *p)
{
	(void)p;
	if (t_conn >= 0) {
		pthread_mutex_lock(&g_lock);
		for (int k = 0; k < g_nconns; k++)
			if (g_conns[k].sock == t_conn)
				g_conns[k] = g_conns[--g_nconns];
		pthread_mutex_unlock(&g_lock);
		RSYS(SYS_close, t_conn);
		RSYS(SYS_munmap, t_chan.map, 2L * RUN_CHAN_REGION);
		RSYS(SYS_close, t_chan.fd);
		t_conn = -1;
		t_chan = (struct chan){ -1, -1, NULL };
	}
}

static int conn_open(long kind, long arg)
{
	int s = (int)RSYS(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, g_sock, sizeof a.sun_path - 1);
	if (RSYS(SYS_connect, s, &a, sizeof a) < 0)
		die("connect");
	s = tohigh(s, 1);
	/* the shared area, announced to the host (which maps it through /proc/PID/fd) */
	int m = (int)RSYS(SYS_memfd_create, "dmabufsim-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0)
		die("channel");
	m = tohigh(m, 1);
	/* sealed at its size: the host maps it too, and a shrunk file would fault there */
	if (RSYS(SYS_ftruncate, m, 2L * RUN_CHAN_REGION) < 0 ||
	    RSYS(SYS_fcntl, m, F_ADD_SEALS, (long)(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) < 0)
		die("channel");
	void *map = (void *)RSYS(SYS_mmap, 0L, 2L * RUN_CHAN_REGION, (long)(PROT_READ | PROT_WRITE), (long)MAP_SHARED, (long)m, 0L);
	if (map == MAP_FAILED)
		die("channel");
	struct run_req at = { .op = RUN_ATTACH, .len = 0 };
	at.a[0] = m;
	at.a[1] = RUN_CHAN_REGION;
	if (RSYS(SYS_sendto, s, &at, sizeof at, MSG_NOSIGNAL, 0, 0) != (long)sizeof at)
		die("send");
	pthread_mutex_lock(&g_lock);
	if (g_nconns < 256)
		g_conns[g_nconns++] = (struct chan){ s, m, map };
	pthread_mutex_unlock(&g_lock);
	t_conn = s;
	t_chan = (struct chan){ s, m, map };
	pthread_setspecific(g_key, (void *)1);
	hello(s, kind, arg);
	return s;
}

static int conn(void)
{
	if (t_conn < 0)
		conn_open(2, 0);
	return t_conn;
}

static void sim_set(int fd, int on)
{
	if (fd >= 0 && fd < MAXFD)
		g_sim[fd] = (unsigned char)on;
}

static int is_sim(int fd)
{
	return g_active && fd >= 0 && fd < MAXFD && g_sim[fd];
}

/* --check: the loaded range of this library, so a backtrace starts at the program's call. */
static int self_range(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t base = (uintptr_t)data, lo = UINTPTR_MAX, hi = 0;
	for (int k = 0; k < info->dlpi_phnum; k++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + ph->p_memsz > hi)
			hi = a + ph->p_memsz;
	}
	if (info->dlpi_addr != base)
		return 0;
	g_self_lo = lo;
	g_self_hi = hi;
	return 1;
}

static void check_init(void)
{
	Dl_info di;
	if (!dladdr((void *)&check_init, &di))
		return;
	dl_iterate_phdr(self_range, di.dli_fbase);
	void *warm[4];
	backtrace(warm, 4); /* the unwinder (libgcc_s) is loaded now, not inside a call */
	g_check = 1;
}

/* --check: RUN_ORIGIN with the return addresses of the program's call (this library's frames dropped), written
 * at buf; returns its bytes. */
static size_t put_origin(unsigned char *buf)
{
	void *frames[RUN_MAX_FRAMES + 16];
	int n = backtrace(frames, RUN_MAX_FRAMES + 16);
	struct run_req q = { .op = RUN_ORIGIN };
	int k = 0, j = 0;
	while (k < n && (uintptr_t)frames[k] >= g_self_lo && (uintptr_t)frames[k] < g_self_hi)
		k++;
	for (; k < n && j < RUN_MAX_FRAMES; k++) {
		uint64_t a = (uint64_t)(uintptr_t)frames[k];
		memcpy(buf + sizeof q + 8 * (size_t)j++, &a, 8);
	}
	q.len = (uint32_t)(8 * j);
	memcpy(buf, &q, sizeof q);
	return sizeof q + q.len;
}

/* Sends a request and serves the host's callbacks until the final reply. The payload of the reply (after the fd
 * entries) is copied to out (at most outcap bytes); *outlen gets its length. RUN_WRITE's payload and RUN_READ's
 * out are the program's buffers: a bad pointer there is -EFAULT. */
static long call(uint32_t op, const int64_t *args, int nargs, const void *payload, uint32_t len, struct run_rep *rep,
		 void *out, size_t outcap, size_t *outlen)
{
	int c = conn();
	unsigned char *req = t_chan.map, *rsp = t_chan.map + RUN_CHAN_REGION, *d = req + RUN_CHAN_DATA;
	size_t at = 0;
	if (g_check && op != RUN_HELLO && op != RUN_FORK && op != RUN_FORK_ABORT && op != RUN_EXEC && op != RUN_EXEC_FAILED &&
	    op != RUN_ADOPT && op != RUN_SEND && op != RUN_EXIT)
		at = put_origin(d);
	struct run_req q = { .op = op, .len = len };
	for (int k = 0; k < nargs && k < 7; k++)
		q.a[k] = args[k];
	if (len > RUN_MAX_PAYLOAD)
		die("oversized request");
	memcpy(d + at, &q, sizeof q);
	if (op == RUN_WRITE ? user_copy(d + at + sizeof q, payload, len) : (memcpy(d + at + sizeof q, payload, len), 0))
		return -EFAULT;
	uint32_t last = *chan_word(rsp, RUN_CHAN_SEQ);
	chan_post(c, req, (uint32_t)(at + sizeof q + len));
	struct run_rep r;
	const unsigned char *p;
	for (;;) {
		if (chan_wait(c, rsp, last))
			die("receive");
		last = __atomic_load_n(chan_word(rsp, RUN_CHAN_SEQ), __ATOMIC_ACQUIRE);
		p = rsp + RUN_CHAN_DATA;
		memcpy(&r, p, sizeof r);
		p += sizeof r;
		if (r.kind == RUN_REP_NEWFD) {
			int fd;
			if (r.a[2] >= 0)
				fd = (int)RSYS(SYS_fcntl, (int)r.a[2], r.a[1] ? F_DUPFD_CLOEXEC : F_DUPFD, (int)r.a[0]);
			else {
				int m = (int)RSYS(SYS_memfd_create, "dmabufsim", r.a[1] ? MFD_CLOEXEC : 0);
				fd = m;
				if (m >= 0 && m < (int)r.a[0]) {
					fd = (int)RSYS(SYS_fcntl, m, r.a[1] ? F_DUPFD_CLOEXEC : F_DUPFD, (int)r.a[0]);
					RSYS(SYS_close, m);
				}
			}
			struct stat st = { 0 };
			if (fd >= 0)
				RSYS(SYS_fstat, fd, &st);
			struct run_req cb = { .op = RUN_CB_REPLY, .len = 0 };
			cb.a[0] = fd >= 0 ? fd : -errno;
			cb.a[1] = (int64_t)st.st_ino;
			memcpy(d, &cb, sizeof cb);
			chan_post(c, req, sizeof cb);
			continue;
		}
		if (r.kind != RUN_REP_FINAL || r.len > RUN_CHAN_CAP - sizeof r)
			die("bad reply");
		break;
	}
	uint32_t n = r.len;
	uint32_t nfd = (uint32_t)r.a[4];
	if (nfd > n / 8)
		die("bad reply");
	for (uint32_t k = 0; k < nfd; k++, p += 8) {
		int32_t e[2];
		memcpy(e, p, sizeof e);
		if (e[1] == RUN_FD_CLOSE) {
			RSYS(SYS_close, e[0]);
		} else {
			RSYS(SYS_fcntl, e[0], F_SETFD, e[1] == RUN_FD_KEEP_CLOEXEC ? FD_CLOEXEC : 0);
			sim_set(e[0], 1);
		}
	}
	n -= nfd * 8;
	size_t got = out ? (n < outcap ? n : outcap) : 0;
	if (got && (op == RUN_READ ? user_copy(out, p, got) : (memcpy(out, p, got), 0)))
		r.ret = -EFAULT;
	if (outlen)
		*outlen = got;
	if (rep)
		*rep = r;
	return r.ret;
}

static long ret_errno(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static int hello(int c, long kind, long arg)
{
	(void)c;
	char comm[16] = { 0 };
	RSYS(SYS_prctl, PR_GET_NAME, comm, 0, 0, 0);
	int64_t a[2] = { kind, arg };
	int32_t fds[1024];
	size_t n = 0;
	struct run_rep r;
	long ret = call(RUN_HELLO, a, 2, comm, (uint32_t)strlen(comm), &r, fds, sizeof fds, &n);
	if (ret < 0)
		die("refused");
	if (kind != 2) {
		memset(g_sim, 0, sizeof g_sim);
		for (size_t k = 0; k < n / 4; k++)
			sim_set(fds[k], 1);
	}
	return 0;
}

__attribute__((constructor)) static void run_init(void)
{
	resolve();
	const char *s = getenv("DMABUFSIM_RUN_SOCK");
	const char *p = getenv("DMABUFSIM_RUN_PHYSFD");
	if (!s || !p || strlen(s) >= sizeof g_sock)
		return;
	strcpy(g_sock, s);
	struct rlimit rl;
	g_fdbase = 900;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 1024 && rl.rlim_cur != RLIM_INFINITY)
		g_fdbase = (int)(rl.rlim_cur > 65536 ? 65536 - 128 : rl.rlim_cur - 128);
	int phys = atoi(p);
	if (phys < g_fdbase) {
		/* First image: move the inherited physical-memory fd out of the program's way (kept across exec). */
		phys = tohigh(phys, 0);
		char num[16];
		snprintf(num, sizeof num, "%d", phys);
		setenv("DMABUFSIM_RUN_PHYSFD", num, 1);
	}
	g_physfd = phys;
	g_sigbusfd = tohigh((int)RSYS(SYS_memfd_create, "dmabufsim-sigbus", MFD_CLOEXEC), 1);
	pthread_key_create(&g_key, conn_destroy);
	const char *chk = getenv("DMABUFSIM_RUN_CHECK");
	if (chk && strcmp(chk, "1") == 0)
		check_init();
	g_active = 1;
	conn_open(0, getppid());
}

/* exit() (the last destructor to run, after the program's atexit handlers): the simulated process exits now, so
 * what its exit releases happens before the parent's wait returns, as on Linux. _exit and fatal signals still end
 * it when the host sees the connection close. */
__attribute__((destructor)) static void run_fini(void)
{
	if (!g_active)
		return;
	call(RUN_EXIT, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
	g_active = 0;
}

/* ---- paths ---- */

static int sim_path(const char *p)
{
	if (!g_active || !p)
		return 0;
	static const char *const prefixes[] = { "/dev/dri/", "/dev/kvmfr", "/dev/dma_heap/", "/dev/udmabuf",
						"/sys/kernel/debug/", "/proc/devices", "/proc/meminfo", NULL };
	for (int k = 0; prefixes[k]; k++)
		if (strncmp(p, prefixes[k], strlen(prefixes[k])) == 0)
			return 1;
	/* the simulated sysfs (the host passes what it does not have back to the real one) */
	if (strncmp(p, "/sys/", 5) == 0 || strcmp(p, "/sys") == 0)
		return 1;
	/* /proc/PID/fdinfo/N: the host answers for simulated descriptors of the program */
	if (strncmp(p, "/proc/", 6) == 0 && strstr(p, "/fdinfo/"))
		return 1;
	return 0;
}

static int content_fd(const char *text, size_t n, int flags)
{
	int fd = (int)RSYS(SYS_memfd_create, "dmabufsim-seq", (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	RSYS(SYS_write, fd, text, n);
	RSYS(SYS_lseek, fd, 0, SEEK_SET);
	return fd;
}

/* RUN_RET_PASS: not ours */
static long sim_open(const char *path, int flags, mode_t mode)
{
	int64_t a[2] = { flags, mode };
	static __thread char text[1 << 16];
	size_t n = 0;
	long r = call(RUN_OPEN, a, 2, path, (uint32_t)strlen(path), NULL, text, sizeof text, &n);
	if (r == RUN_RET_CONTENT)
		return content_fd(text, n, flags);
	if (r == RUN_RET_PASS)
		return r;
	return ret_errno(r);
}

static int do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	resolve();
	if (sim_path(path) && (dirfd == AT_FDCWD || path[0] == '/')) {
		long r = sim_open(path, flags, mode);
		if (r != RUN_RET_PASS)
			return (int)r;
	}
	return (int)(RSYS(SYS_openat, dirfd, path, flags, mode));
}

#define MODE_ARG(flags)                                          \
	mode_t mode = 0;                                         \
	if ((flags) & (O_CREAT | __O_TMPFILE)) {                 \
		va_list ap;                                      \
		va_start(ap, flags);                             \
		mode = (mode_t)va_arg(ap, int);                  \
		va_end(ap);                                      \
	}

int open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(AT_FDCWD, path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(dirfd, path, flags, mode);
}
int __open_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return do_open(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return do_open(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) { return do_open(dirfd, path, flags, 0); }
int creat(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return do_open(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

static FILE *do_fopen(const char *path, const char *m, FILE *(*real)(const char *, const char *))
{
	resolve();
	if (sim_path(path)) {
		int flags = strchr(m, '+') ? O_RDWR : (m[0] == 'r' ? O_RDONLY : O_WRONLY);
		if (m[0] == 'w')
			flags |= O_CREAT | O_TRUNC;
		if (m[0] == 'a')
			flags |= O_CREAT | O_APPEND;
		if (strchr(m, 'e'))
			flags |= O_CLOEXEC;
		long r = sim_open(path, flags, 0666);
		if (r != RUN_RET_PASS) {
			if (r < 0)
				return NULL;
			return fdopen((int)r, m);
		}
	}
	return real(path, m);
}
FILE *fopen(const char *path, const char *m) { return do_fopen(path, m, real_fopen ? real_fopen : (resolve(), real_fopen)); }
FILE *fopen64(const char *path, const char *m) { return do_fopen(path, m, real_fopen64 ? real_fopen64 : (resolve(), real_fopen64)); }

/* ---- descriptors ---- */

static void ep_forget(int fd);

int close(int fd)
{
	resolve();
	if (g_active && is_internal(fd)) {
		errno = EBADF;
		return -1;
	}
	ep_forget(fd);
	if (is_sim(fd)) {
		int64_t a[1] = { fd };
		long r = call(RUN_CLOSE, a, 1, NULL, 0, NULL, NULL, 0, NULL);
		sim_set(fd, 0);
		RSYS(SYS_close, fd);
		return (int)ret_errno(r);
	}
	return (int)(RSYS(SYS_close, fd));
}

int close_range(unsigned int first, unsigned int last, int flags)
{
	resolve();
	if (!g_active)
		return (int)(RSYS(SYS_close_range, first, last, flags));
	if (first > last || (flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))) {
		errno = EINVAL;
		return -1;
	}
	unsigned int hi = last < (unsigned)MAXFD ? last : (unsigned)MAXFD - 1;
	for (unsigned int fd = first; fd <= hi && fd < (unsigned)MAXFD; fd++) {
		if (!is_sim((int)fd))
			continue;
		if (flags & CLOSE_RANGE_CLOEXEC) {
			int64_t a[3] = { fd, F_SETFD, FD_CLOEXEC };
			call(RUN_FCNTL, a, 3, NULL, 0, NULL, NULL, 0, NULL);
		} else {
			int64_t a[1] = { fd };
			call(RUN_CLOSE, a, 1, NULL, 0, NULL, NULL, 0, NULL);
			sim_set((int)fd, 0);
		}
	}
	/* The real close_range around the preload's own descriptors. */
	unsigned int from = first;
	for (;;) {
		unsigned int to = last;
		int next = -1;
		for (int fd = (int)from; fd < MAXFD && (unsigned)fd <= last; fd++)
			if (is_internal(fd)) {
				next = fd;
				break;
			}
		if (next >= 0)
			to = (unsigned)next - 1;
		if (next != (int)from && to >= from)
			RSYS(SYS_close_range, from, to, flags);
		if (next < 0 || (unsigned)next >= last)
			break;
		from = (unsigned)next + 1;
	}
	return 0;
}

static int sim_dup(int oldfd, int newfd, int start, int cloexec)
{
	int64_t a[4] = { oldfd, newfd, start, cloexec };
	return (int)ret_errno(call(RUN_DUP, a, 4, NULL, 0, NULL, NULL, 0, NULL));
}

int dup(int fd)
{
	resolve();
	if (is_sim(fd))
		return sim_dup(fd, -1, 0, 0);
	return (int)(RSYS(SYS_dup, fd));
}

static int do_dup3(int oldfd, int newfd, int flags, int is_dup2)
{
	resolve();
	if (g_active && is_internal(newfd)) {
		errno = EBADF;
		return -1;
	}
	if (!is_sim(oldfd) && !is_sim(newfd))
		return (int)ret_errno(is_dup2 ? RSYS(SYS_dup2, oldfd, newfd) : RSYS(SYS_dup3, oldfd, newfd, flags));
	if (is_sim(oldfd)) {
		if (oldfd == newfd) {
			if (is_dup2)
				return newfd;
			errno = EINVAL;
			return -1;
		}
		long r = is_dup2 ? RSYS(SYS_dup2, oldfd, newfd) : RSYS(SYS_dup3, oldfd, newfd, flags);
		if (r < 0)
			return -1;
		int64_t a[4] = { oldfd, newfd, 0, (flags & O_CLOEXEC) ? 1 : 0 };
		sim_set(newfd, 1);
		return (int)ret_errno(call(RUN_DUP, a, 4, NULL, 0, NULL, NULL, 0, NULL));
	}
	/* a real file over a simulated descriptor: the simulated file is closed */
	long r = is_dup2 ? RSYS(SYS_dup2, oldfd, newfd) : RSYS(SYS_dup3, oldfd, newfd, flags);
	if (r < 0)
		return -1;
	int64_t a[1] = { newfd };
	call(RUN_CLOSE, a, 1, NULL, 0, NULL, NULL, 0, NULL);
	sim_set(newfd, 0);
	return newfd;
}
int dup2(int oldfd, int newfd) { return do_dup3(oldfd, newfd, 0, 1); }
int dup3(int oldfd, int newfd, int flags) { return do_dup3(oldfd, newfd, flags, 0); }

static int do_fcntl(int fd, int cmd, long arg)
{
	resolve();
	if (!is_sim(fd))
		return (int)(RSYS(SYS_fcntl, fd, cmd, arg));
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		return sim_dup(fd, -1, (int)arg, cmd == F_DUPFD_CLOEXEC);
	case F_SETFD:
		RSYS(SYS_fcntl, fd, cmd, arg);
		break;
	}
	int64_t a[3] = { fd, cmd, arg };
	return (int)ret_errno(call(RUN_FCNTL, a, 3, NULL, 0, NULL, NULL, 0, NULL));
}
int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}
int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

int ioctl(int fd, unsigned long cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	resolve();
	if (!is_sim(fd))
		return (int)(RSYS(SYS_ioctl, fd, cmd, arg));
	int64_t a[3] = { fd, (int64_t)(uint32_t)cmd, arg };
	return (int)ret_errno(call(RUN_IOCTL, a, 3, NULL, 0, NULL, NULL, 0, NULL));
}

off_t lseek(int fd, off_t off, int whence)
{
	resolve();
	if (!is_sim(fd))
		return (off_t)(RSYS(SYS_lseek, fd, off, whence));
	int64_t a[3] = { fd, off, whence };
	return (off_t)ret_errno(call(RUN_LSEEK, a, 3, NULL, 0, NULL, NULL, 0, NULL));
}
off_t lseek64(int fd, off_t off, int whence) { return lseek(fd, off, whence); }

ssize_t read(int fd, void *buf, size_t n)
{
	resolve();
	if (!is_sim(fd))
		return (ssize_t)(RSYS(SYS_read, fd, buf, n));
	if (n > RUN_MAX_PAYLOAD)
		n = RUN_MAX_PAYLOAD;
	int64_t a[2] = { fd, (int64_t)n };
	size_t got = 0;
	long r = call(RUN_READ, a, 2, NULL, 0, NULL, buf, n, &got);
	return (ssize_t)ret_errno(r);
}
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	(void)buflen;
	return read(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	resolve();
	if (!is_sim(fd))
		return (ssize_t)(RSYS(SYS_write, fd, buf, n));
	if (n > RUN_MAX_PAYLOAD)
		n = RUN_MAX_PAYLOAD;
	int64_t a[1] = { fd };
	return (ssize_t)ret_errno(call(RUN_WRITE, a, 1, buf, (uint32_t)n, NULL, NULL, 0, NULL));
}

int ftruncate(int fd, off_t len)
{
	resolve();
	if (!is_sim(fd))
		return (int)(RSYS(SYS_ftruncate, fd, len));
	int64_t a[2] = { fd, len };
	return (int)ret_errno(call(RUN_FTRUNCATE, a, 2, NULL, 0, NULL, NULL, 0, NULL));
}
int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

int memfd_create(const char *name, unsigned int flags)
{
	resolve();
	if (g_active) {
		int64_t a[1] = { flags };
		long r = call(RUN_MEMFD, a, 1, name, (uint32_t)strlen(name), NULL, NULL, 0, NULL);
		if (r != RUN_RET_PASS)
			return (int)ret_errno(r);
	}
	return (int)(RSYS(SYS_memfd_create, name, flags));
}

/* ---- stat ---- */

static void fill_stat(struct stat *st, const struct run_rep *r)
{
	memset(st, 0, sizeof *st);
	st->st_dev = makedev(0, 5);
	st->st_ino = (ino_t)r->a[0];
	st->st_mode = (mode_t)r->a[1];
	st->st_nlink = 1;
	st->st_rdev = makedev((unsigned)r->a[2], (unsigned)r->a[3]);
	st->st_size = (off_t)r->a[5];
	st->st_blksize = 4096;
}

int fstat(int fd, struct stat *st)
{
	resolve();
	if (!is_sim(fd))
		return (int)(RSYS(SYS_fstat, fd, st));
	int64_t a[1] = { fd };
	struct run_rep r;
	long ret = call(RUN_FSTAT, a, 1, NULL, 0, &r, NULL, 0, NULL);
	if (ret < 0)
		return (int)ret_errno(ret);
	fill_stat(st, &r);
	return 0;
}
int fstat64(int fd, struct stat64 *st) { return fstat(fd, (struct stat *)st); }

static int sim_dir_path(const char *p);

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	resolve();
	if ((flags & AT_EMPTY_PATH) && path && !path[0])
		return fstat(dirfd, st);
	if (sim_dir_path(path) && strncmp(path, "/sys/", 5) != 0) {
		/* a directory the machine owns exists when it has entries */
		long r = call(RUN_LISTDIR, NULL, 0, path, (uint32_t)strlen(path), NULL, NULL, 0, NULL);
		if (r != RUN_RET_PASS) {
			if (r < 0)
				return (int)ret_errno(r);
			memset(st, 0, sizeof *st);
			st->st_dev = makedev(0, 5);
			st->st_ino = 1;
			st->st_mode = S_IFDIR | 0755;
			st->st_nlink = 2;
			st->st_blksize = 4096;
			return 0;
		}
	}
	if (sim_path(path) && (dirfd == AT_FDCWD || path[0] == '/')) {
		struct run_rep r;
		int64_t a[1] = { flags & AT_SYMLINK_NOFOLLOW };
		long ret = call(RUN_STAT, a, 1, path, (uint32_t)strlen(path), &r, NULL, 0, NULL);
		if (ret != RUN_RET_PASS) {
			if (ret < 0)
				return (int)ret_errno(ret);
			fill_stat(st, &r);
			/* sysfs is its own mount (0:20 in the real guest), the nodes live on devtmpfs (0:5) */
			if (strncmp(path, "/sys/", 5) == 0 && strncmp(path, "/sys/kernel/debug/", 18) != 0)
				st->st_dev = makedev(0, 20);
			return 0;
		}
	}
	return (int)(RSYS(SYS_newfstatat, dirfd, path, st, flags));
}
int stat(const char *p, struct stat *st) { return do_fstatat(AT_FDCWD, p, st, 0); }
int stat64(const char *p, struct stat64 *st) { return do_fstatat(AT_FDCWD, p, (struct stat *)st, 0); }
int lstat(const char *p, struct stat *st) { return do_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW); }
int lstat64(const char *p, struct stat64 *st) { return do_fstatat(AT_FDCWD, p, (struct stat *)st, AT_SYMLINK_NOFOLLOW); }
int fstatat(int d, const char *p, struct stat *st, int f) { return do_fstatat(d, p, st, f); }
int fstatat64(int d, const char *p, struct stat64 *st, int f) { return do_fstatat(d, p, (struct stat *)st, f); }
int __xstat(int v, const char *p, struct stat *st) { (void)v; return stat(p, st); }
int __xstat64(int v, const char *p, struct stat64 *st) { (void)v; return stat64(p, st); }
int __lxstat(int v, const char *p, struct stat *st) { (void)v; return lstat(p, st); }
int __lxstat64(int v, const char *p, struct stat64 *st) { (void)v; return lstat64(p, st); }
int __fxstat(int v, int fd, struct stat *st) { (void)v; return fstat(fd, st); }
int __fxstat64(int v, int fd, struct stat64 *st) { (void)v; return fstat64(fd, st); }
int __fxstatat(int v, int d, const char *p, struct stat *st, int f) { (void)v; return fstatat(d, p, st, f); }
int __fxstatat64(int v, int d, const char *p, struct stat64 *st, int f) { (void)v; return fstatat64(d, p, st, f); }

int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *sx)
{
	resolve();
	int simfd = (flags & AT_EMPTY_PATH) && !path[0] && is_sim(dirfd);
	if (simfd || sim_path(path) || sim_dir_path(path)) {
		struct stat st;
		int r = simfd ? fstat(dirfd, &st) : do_fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return r;
		memset(sx, 0, sizeof *sx);
		sx->stx_mask = STATX_BASIC_STATS;
		sx->stx_blksize = (uint32_t)st.st_blksize;
		sx->stx_nlink = (uint32_t)st.st_nlink;
		sx->stx_mode = (uint16_t)st.st_mode;
		sx->stx_ino = st.st_ino;
		sx->stx_size = (uint64_t)st.st_size;
		sx->stx_rdev_major = major(st.st_rdev);
		sx->stx_rdev_minor = minor(st.st_rdev);
		sx->stx_dev_major = major(st.st_dev);
		sx->stx_dev_minor = minor(st.st_dev);
		return 0;
	}
	return (int)(RSYS(SYS_statx, dirfd, path, flags, mask, sx));
}

int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	resolve();
	if (sim_path(path) && (dirfd == AT_FDCWD || path[0] == '/')) {
		int64_t a[3] = { mode, major(dev), minor(dev) };
		long r = call(RUN_MKNOD, a, 3, path, (uint32_t)strlen(path), NULL, NULL, 0, NULL);
		if (r != RUN_RET_PASS)
			return (int)ret_errno(r);
	}
	return (int)(RSYS(SYS_mknodat, dirfd, path, mode, dev));
}
int mknod(const char *path, mode_t mode, dev_t dev) { return mknodat(AT_FDCWD, path, mode, dev); }
int __xmknod(int v, const char *path, mode_t mode, dev_t *dev) { (void)v; return mknodat(AT_FDCWD, path, mode, *dev); }
int __xmknodat(int v, int d, const char *path, mode_t mode, dev_t *dev) { (void)v; return mknodat(d, path, mode, *dev); }

int unlink(const char *path)
{
	resolve();
	if (sim_path(path)) {
		long r = call(RUN_UNLINK, NULL, 0, path, (uint32_t)strlen(path), NULL, NULL, 0, NULL);
		if (r != RUN_RET_PASS)
			return (int)ret_errno(r);
	}
	return (int)(RSYS(SYS_unlink, path));
}

/* ---- symlinks of the simulated sysfs ---- */

/* RUN_RET_PASS when the path is not the machine's; else the length or -errno, text filled (not terminated) */
static long sim_link(uint32_t op, const char *path, char *text, size_t cap, size_t *got)
{
	if (!sim_path(path) || strncmp(path, "/sys/", 5) != 0)
		return RUN_RET_PASS;
	return call(op, NULL, 0, path, (uint32_t)strlen(path), NULL, text, cap, got);
}

ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t len)
{
	resolve();
	if (dirfd == AT_FDCWD || path[0] == '/') {
		char text[4096];
		size_t got = 0;
		long r = sim_link(RUN_READLINK, path, text, sizeof text, &got);
		if (r != RUN_RET_PASS) {
			if (r < 0)
				return ret_errno(r);
			size_t n = got < len ? got : len;
			memcpy(buf, text, n);
			return (ssize_t)n;
		}
	}
	return (ssize_t)RSYS(SYS_readlinkat, dirfd, path, buf, len);
}
ssize_t readlink(const char *path, char *buf, size_t len) { return readlinkat(AT_FDCWD, path, buf, len); }
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen) { (void)buflen; return readlink(path, buf, len); }
ssize_t __readlinkat_chk(int d, const char *path, char *buf, size_t len, size_t buflen) { (void)buflen; return readlinkat(d, path, buf, len); }

static char *(*real_realpath)(const char *, char *);

char *realpath(const char *path, char *resolved)
{
	resolve();
	if (!real_realpath)
		real_realpath = (char *(*)(const char *, char *))dlsym(RTLD_NEXT, "realpath");
	if (path) {
		char text[PATH_MAX];
		size_t got = 0;
		long r = sim_link(RUN_REALPATH, path, text, sizeof text - 1, &got);
		if (r != RUN_RET_PASS) {
			if (r < 0) {
				errno = (int)-r;
				return NULL;
			}
			text[got] = 0;
			if (!resolved)
				return strdup(text);
			memcpy(resolved, text, got + 1);
			return resolved;
		}
	}
	return real_realpath(path, resolved);
}
char *__realpath_chk(const char *path, char *resolved, size_t len) { (void)len; return realpath(path, resolved); }
char *canonicalize_file_name(const char *path) { return realpath(path, NULL); }

/* ---- directories the machine owns (/dev/dri, /dev/dma_heap, its sysfs) ---- */

#define SIMDIR_MAGIC 0x44425344u
struct simdir {
	unsigned magic;
	int n, pos;
	struct dirent64 *ents;
};

static DIR *(*real_opendir)(const char *);
static struct dirent *(*real_readdir)(DIR *);
static struct dirent64 *(*real_readdir64)(DIR *);
static int (*real_closedir)(DIR *);
static void (*real_rewinddir)(DIR *);

static void resolve_dir(void)
{
	if (real_opendir)
		return;
	real_readdir = (struct dirent * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir");
	real_readdir64 = (struct dirent64 * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir64");
	real_closedir = (int (*)(DIR *))dlsym(RTLD_NEXT, "closedir");
	real_rewinddir = (void (*)(DIR *))dlsym(RTLD_NEXT, "rewinddir");
	real_opendir = (DIR * (*)(const char *)) dlsym(RTLD_NEXT, "opendir");
}

static int sim_dir_path(const char *p)
{
	if (!g_active || !p)
		return 0;
	size_t n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		n--;
	return (n == 8 && !strncmp(p, "/dev/dri", 8)) || (n == 13 && !strncmp(p, "/dev/dma_heap", 13)) ||
	       (n > 5 && !strncmp(p, "/sys/", 5));
}

static struct simdir *as_simdir(DIR *d)
{
	return d && ((struct simdir *)d)->magic == SIMDIR_MAGIC ? (struct simdir *)d : NULL;
}

DIR *opendir(const char *path)
{
	resolve();
	resolve_dir();
	if (sim_dir_path(path)) {
		static __thread char text[1 << 16];
		size_t got = 0;
		long r = call(RUN_LISTDIR, NULL, 0, path, (uint32_t)strlen(path), NULL, text, sizeof text - 1, &got);
		if (r != RUN_RET_PASS) {
			if (r < 0) {
				errno = (int)-r;
				return NULL;
			}
			struct simdir *d = calloc(1, sizeof *d);
			d->magic = SIMDIR_MAGIC;
			d->ents = calloc((size_t)r + 2, sizeof *d->ents);
			strcpy(d->ents[0].d_name, ".");
			d->ents[0].d_type = DT_DIR;
			d->ents[0].d_ino = 1;
			strcpy(d->ents[1].d_name, "..");
			d->ents[1].d_type = DT_DIR;
			d->ents[1].d_ino = 1;
			int n = 2;
			text[got] = 0;
			char *p = text, *end = text + got;
			while (p < end && n < r + 2) {
				char *name = p, *type = name + strlen(name) + 1, *ino = type + strlen(type) + 1;
				char *nl = strchr(ino, '\n');
				if (!nl || type >= end || ino >= end)
					break;
				*nl = 0;
				struct dirent64 *e = &d->ents[n++];
				snprintf(e->d_name, sizeof e->d_name, "%s", name);
				e->d_type = (unsigned char)atoi(type);
				e->d_ino = (ino64_t)strtoull(ino, NULL, 10);
				e->d_reclen = sizeof *e;
				e->d_off = n;
				p = nl + 1;
			}
			d->n = n;
			return (DIR *)d;
		}
	}
	return real_opendir(path);
}

struct dirent64 *readdir64(DIR *dir)
{
	resolve_dir();
	struct simdir *d = as_simdir(dir);
	if (!d)
		return real_readdir64(dir);
	return d->pos < d->n ? &d->ents[d->pos++] : NULL;
}

struct dirent *readdir(DIR *dir)
{
	resolve_dir();
	if (!as_simdir(dir))
		return real_readdir(dir);
	return (struct dirent *)readdir64(dir);
}

int closedir(DIR *dir)
{
	resolve_dir();
	struct simdir *d = as_simdir(dir);
	if (!d)
		return real_closedir(dir);
	d->magic = 0;
	free(d->ents);
	free(d);
	return 0;
}

void rewinddir(DIR *dir)
{
	resolve_dir();
	struct simdir *d = as_simdir(dir);
	if (!d) {
		real_rewinddir(dir);
		return;
	}
	d->pos = 0;
}

/* ---- memory ---- */

static void maps_add(unsigned long start, unsigned long len)
{
	pthread_mutex_lock(&g_lock);
	if (g_nmaps < 4096)
		g_maps[g_nmaps++] = (struct simmap){ start, len };
	pthread_mutex_unlock(&g_lock);
}

/* Removes [start, start+len) from the list; returns 1 when it touched a simulated mapping. */
static int maps_remove(unsigned long start, unsigned long len)
{
	int hit = 0;
	unsigned long end = start + len;
	pthread_mutex_lock(&g_lock);
	for (int k = 0; k < g_nmaps; k++) {
		struct simmap m = g_maps[k];
		unsigned long mend = m.start + m.len;
		if (mend <= start || m.start >= end)
			continue;
		hit = 1;
		g_maps[k] = g_maps[--g_nmaps];
		k--;
		if (m.start < start)
			g_maps[g_nmaps++] = (struct simmap){ m.start, start - m.start };
		if (mend > end && g_nmaps < 4096)
			g_maps[g_nmaps++] = (struct simmap){ end, mend - end };
	}
	pthread_mutex_unlock(&g_lock);
	return hit;
}

struct run_pages { int64_t page, count, pfn; };

static void *sim_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (len == 0) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	unsigned long plen = (len + PAGE - 1) & ~(PAGE - 1);
	long res = RSYS(SYS_mmap, addr, plen ? plen : len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)), -1, 0);
	if (res == -1)
		return MAP_FAILED;
	unsigned long at = (unsigned long)res;
	if (flags & MAP_FIXED)
		maps_remove(at, plen);
	int64_t a[6] = { (int64_t)at, (int64_t)len, prot, flags, fd, off };
	size_t cap = (plen / PAGE + 1) * sizeof(struct run_pages);
	if (cap > RUN_MAX_PAYLOAD)
		cap = RUN_MAX_PAYLOAD;
	struct run_pages *runs = malloc(cap);
	size_t got = 0;
	long r = call(RUN_MMAP, a, 6, NULL, 0, NULL, runs, cap, &got);
	if (r < 0) {
		if (!(flags & MAP_FIXED))
			RSYS(SYS_munmap, at, plen);
		free(runs);
		errno = (int)-r;
		return MAP_FAILED;
	}
	int shared = (flags & MAP_TYPE) == MAP_PRIVATE ? MAP_PRIVATE : MAP_SHARED;
	for (size_t k = 0; k < got / sizeof *runs; k++) {
		unsigned long va = at + (unsigned long)runs[k].page * PAGE, n = (unsigned long)runs[k].count * PAGE;
		if (runs[k].pfn >= 0)
			RSYS(SYS_mmap, va, n, prot, MAP_FIXED | shared, g_physfd, (unsigned long)runs[k].pfn * PAGE);
		else
			RSYS(SYS_mmap, va, n, prot, MAP_FIXED | MAP_SHARED, g_sigbusfd, 0);
	}
	free(runs);
	maps_add(at, plen);
	return (void *)at;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	resolve();
	if (!(flags & MAP_ANONYMOUS) && is_sim(fd))
		return sim_mmap(addr, len, prot, flags, fd, off);
	return (void *)RSYS(SYS_mmap, addr, len, prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return mmap(addr, len, prot, flags, fd, off); }

int munmap(void *addr, size_t len)
{
	resolve();
	if (g_active && ((unsigned long)addr & (PAGE - 1)) == 0 && len && maps_remove((unsigned long)addr, (len + PAGE - 1) & ~(PAGE - 1))) {
		int64_t a[2] = { (int64_t)(unsigned long)addr, (int64_t)len };
		call(RUN_MUNMAP, a, 2, NULL, 0, NULL, NULL, 0, NULL);
	}
	return (int)(RSYS(SYS_munmap, addr, len));
}

void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
	resolve();
	va_list ap;
	va_start(ap, flags);
	void *newaddr = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
	va_end(ap);
	unsigned long o = (unsigned long)old;
	int sim = 0;
	pthread_mutex_lock(&g_lock);
	for (int k = 0; k < g_nmaps; k++)
		if (o >= g_maps[k].start && o < g_maps[k].start + g_maps[k].len)
			sim = 1;
	pthread_mutex_unlock(&g_lock);
	if (!sim)
		return (void *)(RSYS(SYS_mremap, old, oldlen, newlen, flags, newaddr));
	int64_t a[4] = { (int64_t)o, (int64_t)oldlen, (int64_t)newlen, flags };
	long r = call(RUN_MREMAP, a, 4, NULL, 0, NULL, NULL, 0, NULL);
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return MAP_FAILED;
	}
	unsigned long ol = (oldlen + PAGE - 1) & ~(PAGE - 1), nl = (newlen + PAGE - 1) & ~(PAGE - 1);
	if (nl < ol) {
		maps_remove(o + nl, ol - nl);
		RSYS(SYS_munmap, o + nl, ol - nl);
	}
	return (void *)r;
}

/* ---- poll, select, epoll ---- */

/* The simulated descriptors' readiness from the model's poll (RUN_POLL): timeout 0 asks without waiting; another
 * timeout waits in the simulator, where simulated time may jump (only when nothing real is waited for). */
static void sim_query(const int *fds, const uint32_t *events, size_t n, int timeout_ms, uint32_t *rev)
{
	int32_t *q = calloc(n + 1, 8);
	for (size_t k = 0; k < n; k++) {
		q[2 * k] = fds[k];
		q[2 * k + 1] = (int32_t)events[k];
	}
	size_t got = 0;
	int64_t pa[1] = { timeout_ms };
	call(RUN_POLL, pa, 1, q, (uint32_t)(n * 8), NULL, rev, n * 4, &got);
	for (size_t k = got / 4; k < n; k++)
		rev[k] = POLLNVAL;
	free(q);
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* While real and simulated descriptors are waited for together, the real ones wait in slices of this many ms and the
 * simulated ones are asked again between slices (a fence another thread or process signals wakes the waiter). */
#define MIX_SLICE_MS 5

static int do_poll(struct pollfd *fds, nfds_t n, int timeout_ms, const struct timespec *ts, const sigset_t *mask)
{
	resolve();
	nfds_t nsim = 0;
	for (nfds_t k = 0; k < n; k++)
		if (is_sim(fds[k].fd))
			nsim++;
	if (nsim == 0)
		return (int)(ts || mask ? RSYS(SYS_ppoll, fds, n, ts, mask, 8) : RSYS(SYS_poll, fds, n, timeout_ms));
	int *sfd = malloc(nsim * sizeof *sfd);
	uint32_t *sev = malloc(nsim * 4), *rev = malloc(nsim * 4);
	nfds_t j = 0;
	for (nfds_t k = 0; k < n; k++)
		if (is_sim(fds[k].fd)) {
			sfd[j] = fds[k].fd;
			sev[j++] = (uint16_t)fds[k].events;
		}
	nfds_t nreal = n - nsim;
	struct pollfd *r = nreal ? malloc(nreal * sizeof *r) : NULL;
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int ready, err = 0;
	for (;;) {
		/* simulated descriptors alone may wait in the simulator (its clock jumps to the timeout) */
		sim_query(sfd, sev, nsim, nreal ? 0 : timeout_ms, rev);
		ready = 0;
		j = 0;
		for (nfds_t k = 0; k < n; k++)
			if (is_sim(fds[k].fd) || (j < nsim && fds[k].fd == sfd[j])) {
				fds[k].revents = (short)rev[j++];
				if (fds[k].revents)
					ready++;
			}
		if (!nreal)
			break;
		nfds_t i = 0;
		for (nfds_t k = 0; k < n; k++)
			if (!is_sim(fds[k].fd))
				r[i++] = fds[k];
		long left = deadline < 0 ? MIX_SLICE_MS : deadline - now_ms();
		if (left < 0)
			left = 0;
		struct timespec slice = { 0, (ready ? 0 : (left < MIX_SLICE_MS ? left : MIX_SLICE_MS)) * 1000000L };
		long rr = RSYS(SYS_ppoll, r, nreal, &slice, mask, 8);
		if (rr < 0) {
			err = errno;
			break;
		}
		i = 0;
		for (nfds_t k = 0; k < n; k++)
			if (!is_sim(fds[k].fd)) {
				fds[k].revents = r[i++].revents;
				if (fds[k].revents)
					ready++;
			}
		if (ready || (deadline >= 0 && now_ms() >= deadline))
			break;
	}
	free(r);
	free(sfd);
	free(sev);
	free(rev);
	if (err) {
		errno = err;
		return -1;
	}
	return ready;
}
int poll(struct pollfd *fds, nfds_t n, int timeout) { return do_poll(fds, n, timeout, NULL, NULL); }
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len) { (void)len; return poll(fds, n, timeout); }
int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	return do_poll(fds, n, ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1, ts, mask);
}
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask, size_t len)
{
	(void)len;
	return ppoll(fds, n, ts, mask);
}

/* select: fs/select.c's masks turn poll bits into the three sets */
#define SEL_IN (POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR)
#define SEL_OUT (POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR)
#define SEL_EX (POLLPRI)

/* -2: no simulated descriptor in the sets, the real call answers */
static int do_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int timeout_ms, const sigset_t *mask)
{
	if (nfds < 0 || nfds > FD_SETSIZE)
		return -2;
	int any = 0, n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		int in = (rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex));
		if (in) {
			n++;
			if (is_sim(fd))
				any = 1;
		}
	}
	if (!any)
		return -2;
	struct pollfd *p = malloc((size_t)n * sizeof *p);
	int j = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)(((rd && FD_ISSET(fd, rd)) ? POLLIN | POLLRDNORM | POLLRDBAND : 0) |
				   ((wr && FD_ISSET(fd, wr)) ? POLLOUT | POLLWRNORM | POLLWRBAND : 0) |
				   ((ex && FD_ISSET(fd, ex)) ? POLLPRI : 0));
		if (ev) {
			p[j].fd = fd;
			p[j].events = ev;
			p[j++].revents = 0;
		}
	}
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
	int r = do_poll(p, (nfds_t)n, timeout_ms, mask ? (timeout_ms >= 0 ? &ts : NULL) : NULL, mask);
	if (r < 0) {
		free(p);
		return -1;
	}
	for (int k = 0; k < n; k++)
		if (p[k].revents & POLLNVAL) {
			free(p);
			errno = EBADF;
			return -1;
		}
	int count = 0;
	for (int k = 0; k < n; k++) {
		int fd = p[k].fd;
		short rv = p[k].revents;
		if (rd && FD_ISSET(fd, rd)) {
			if (rv & SEL_IN)
				count++;
			else
				FD_CLR(fd, rd);
		}
		if (wr && FD_ISSET(fd, wr)) {
			if (rv & SEL_OUT)
				count++;
			else
				FD_CLR(fd, wr);
		}
		if (ex && FD_ISSET(fd, ex)) {
			if (rv & SEL_EX)
				count++;
			else
				FD_CLR(fd, ex);
		}
	}
	free(p);
	return count;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	resolve();
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	int ms = tv ? (int)(tv->tv_sec * 1000 + tv->tv_usec / 1000) : -1;
	long start = now_ms();
	int r = do_select(nfds, rd, wr, ex, ms, NULL);
	if (r == -2)
		return (int)RSYS(SYS_select, nfds, rd, wr, ex, tv);
	if (tv && r >= 0) {
		/* Linux writes back the time left (poll_select_finish) */
		long left = ms - (now_ms() - start);
		if (left < 0 || r == 0)
			left = r == 0 ? 0 : left < 0 ? 0 : left;
		tv->tv_sec = left / 1000;
		tv->tv_usec = (left % 1000) * 1000;
	}
	return r;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, const struct timespec *ts, const sigset_t *mask)
{
	resolve();
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)) {
		errno = EINVAL;
		return -1;
	}
	int ms = ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1;
	int r = do_select(nfds, rd, wr, ex, ms, mask);
	if (r == -2) {
		/* pselect6's sixth argument: { const sigset_t *ss; size_t ss_len; } */
		struct { const sigset_t *ss; size_t len; } sm = { mask, 8 };
		struct timespec t, *tp = NULL;
		if (ts) {
			t = *ts;
			tp = &t;
		}
		return (int)RSYS(SYS_pselect6, nfds, rd, wr, ex, tp, mask ? &sm : NULL);
	}
	return r;
}

/* epoll: a placeholder file cannot be added to a real epoll instance (a regular file: EPERM), so the simulated
 * descriptors of each epoll instance are kept here and asked through the model's poll on every wait. */
struct epsim { int epfd, fd; uint32_t events, last; epoll_data_t data; };
static struct epsim g_ep[1024];
static int g_nep;
static unsigned short g_epreal[MAXFD]; /* real descriptors added to each epoll instance */

static int ep_find(int epfd, int fd)
{
	for (int k = 0; k < g_nep; k++)
		if (g_ep[k].epfd == epfd && g_ep[k].fd == fd)
			return k;
	return -1;
}

/* a descriptor number goes away: its simulated registrations, or the instance it was */
static void ep_forget(int fd)
{
	if (!g_nep && (fd < 0 || fd >= MAXFD || !g_epreal[fd]))
		return;
	pthread_mutex_lock(&g_lock);
	for (int k = 0; k < g_nep;)
		if (g_ep[k].epfd == fd || g_ep[k].fd == fd)
			g_ep[k] = g_ep[--g_nep];
		else
			k++;
	if (fd >= 0 && fd < MAXFD)
		g_epreal[fd] = 0;
	pthread_mutex_unlock(&g_lock);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	resolve();
	if (!is_sim(fd)) {
		long r = RSYS(SYS_epoll_ctl, epfd, op, fd, ev);
		if (r == 0 && epfd >= 0 && epfd < MAXFD) {
			if (op == EPOLL_CTL_ADD)
				g_epreal[epfd]++;
			else if (op == EPOLL_CTL_DEL && g_epreal[epfd])
				g_epreal[epfd]--;
		}
		return (int)r;
	}
	/* do_epoll_ctl's checks: epfd open (EBADF), an epoll instance other than the file itself (EINVAL). Probe: DEL of
	 * this thread's channel socket (pollable, never registered) is ENOENT on an epoll instance, EINVAL elsewhere. */
	struct epoll_event probe = { 0 };
	if (RSYS(SYS_fcntl, epfd, F_GETFD) < 0) {
		errno = EBADF;
		return -1;
	}
	if (epfd == fd || (RSYS(SYS_epoll_ctl, epfd, EPOLL_CTL_DEL, conn(), &probe) < 0 && errno == EINVAL)) {
		errno = EINVAL;
		return -1;
	}
	if (op != EPOLL_CTL_DEL && !ev) {
		errno = EFAULT;
		return -1;
	}
	pthread_mutex_lock(&g_lock);
	int k = ep_find(epfd, fd), e = 0;
	switch (op) {
	case EPOLL_CTL_ADD:
		if (k >= 0)
			e = EEXIST;
		else if (g_nep == (int)(sizeof g_ep / sizeof g_ep[0]))
			e = ENOSPC;
		else
			g_ep[g_nep++] = (struct epsim){ epfd, fd, ev->events | EPOLLERR | EPOLLHUP, 0, ev->data };
		break;
	case EPOLL_CTL_MOD:
		if (k < 0)
			e = ENOENT;
		else {
			g_ep[k].events = ev->events | EPOLLERR | EPOLLHUP;
			g_ep[k].data = ev->data;
			g_ep[k].last = 0;
		}
		break;
	case EPOLL_CTL_DEL:
		if (k < 0)
			e = ENOENT;
		else
			g_ep[k] = g_ep[--g_nep];
		break;
	default:
		e = EINVAL;
	}
	pthread_mutex_unlock(&g_lock);
	if (e) {
		errno = e;
		return -1;
	}
	return 0;
}

static int do_epoll_wait(int epfd, struct epoll_event *out, int max, int timeout_ms, const sigset_t *mask)
{
	resolve();
	if (max <= 0 || max > INT32_MAX / (int)sizeof(struct epoll_event)) {
		errno = EINVAL;
		return -1;
	}
	int sfd[1024];
	uint32_t sev[1024], rev[1024];
	int idx[1024], n = 0;
	pthread_mutex_lock(&g_lock);
	for (int k = 0; k < g_nep; k++)
		if (g_ep[k].epfd == epfd && (g_ep[k].events & ~(EPOLLERR | EPOLLHUP | EPOLLET | EPOLLONESHOT))) {
			idx[n] = k;
			sfd[n] = g_ep[k].fd;
			sev[n++] = g_ep[k].events & 0xffff;
		}
	int nreal = epfd >= 0 && epfd < MAXFD ? g_epreal[epfd] : 0;
	pthread_mutex_unlock(&g_lock);
	if (n == 0)
		return (int)RSYS(SYS_epoll_pwait, epfd, out, max, timeout_ms, mask, 8);
	long deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		sim_query(sfd, sev, (size_t)n, nreal ? 0 : timeout_ms, rev);
		int got = 0;
		pthread_mutex_lock(&g_lock);
		for (int k = 0; k < n && got < max; k++) {
			struct epsim *e = &g_ep[idx[k]];
			if (idx[k] >= g_nep || e->epfd != epfd || e->fd != sfd[k])
				continue; /* changed meanwhile */
			uint32_t r = rev[k] & e->events & ~(uint32_t)(EPOLLET | EPOLLONESHOT);
			if (rev[k] & POLLNVAL)
				r = 0;
			/* EPOLLET: only what became ready since the last report */
			uint32_t report = (e->events & EPOLLET) ? r & ~e->last : r;
			e->last = r;
			if (!report)
				continue;
			out[got].events = r;
			out[got++].data = e->data;
			if (e->events & EPOLLONESHOT)
				e->events &= EPOLLET | EPOLLONESHOT; /* disabled until EPOLL_CTL_MOD, as ep_send_events */
		}
		pthread_mutex_unlock(&g_lock);
		if (!nreal)
			return got;
		long left = deadline < 0 ? MIX_SLICE_MS : deadline - now_ms();
		if (left < 0)
			left = 0;
		int slice = got ? 0 : (int)(left < MIX_SLICE_MS ? left : MIX_SLICE_MS);
		long rr = RSYS(SYS_epoll_pwait, epfd, out + got, max - got, slice, mask, 8);
		if (rr < 0)
			return got ? got : -1;
		got += (int)rr;
		if (got || (deadline >= 0 && now_ms() >= deadline))
			return got;
	}
}
int epoll_wait(int epfd, struct epoll_event *ev, int max, int timeout) { return do_epoll_wait(epfd, ev, max, timeout, NULL); }
int epoll_pwait(int epfd, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	return do_epoll_wait(epfd, ev, max, timeout, mask);
}

/* ---- fd passing ---- */

static void scan_rights(const struct msghdr *m, int sending)
{
	if (!g_active || !m || !m->msg_control)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int *fds = (int *)CMSG_DATA(c);
		for (int k = 0; k < n; k++) {
			if (sending) {
				if (is_sim(fds[k])) {
					int64_t a[1] = { fds[k] };
					call(RUN_SEND, a, 1, NULL, 0, NULL, NULL, 0, NULL);
				}
			} else {
				struct stat st;
				if (RSYS(SYS_fstat, fds[k], &st) < 0 || !S_ISREG(st.st_mode))
					continue;
				int64_t a[2] = { fds[k], (int64_t)st.st_ino };
				if (call(RUN_ADOPT, a, 2, NULL, 0, NULL, NULL, 0, NULL) == 0)
					sim_set(fds[k], 1);
			}
		}
	}
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	resolve();
	scan_rights(m, 1);
	return (ssize_t)(RSYS(SYS_sendmsg, fd, m, flags));
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	resolve();
	long r = RSYS(SYS_recvmsg, fd, m, flags);
	if (r >= 0)
		scan_rights(m, 0);
	return (ssize_t)r; /* libc's syscall() already set errno */
}

/* ---- processes ---- */

pid_t fork(void)
{
	resolve();
	if (!g_active)
		return real_fork();
	long token = call(RUN_FORK, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
	pid_t pid = real_fork();
	if (pid == 0) {
		/* the child: the parent's connections are not ours */
		for (int k = 0; k < g_nconns; k++) {
			RSYS(SYS_close, g_conns[k].sock);
			RSYS(SYS_munmap, g_conns[k].map, 2L * RUN_CHAN_REGION);
			RSYS(SYS_close, g_conns[k].fd);
		}
		g_nconns = 0;
		t_conn = -1;
		t_chan = (struct chan){ -1, -1, NULL };
		pthread_mutex_init(&g_lock, NULL);
		conn_open(1, token);
		return 0;
	}
	if (pid < 0) {
		int e = errno;
		int64_t a[1] = { token };
		call(RUN_FORK_ABORT, a, 1, NULL, 0, NULL, NULL, 0, NULL);
		errno = e;
	}
	return pid;
}
pid_t vfork(void) { return fork(); }

/* execve keeps the preload and the channel in the new image's environment */
static char **env_with_run(char *const envp[])
{
	static const char *const keys[] = { "LD_PRELOAD", "DMABUFSIM_RUN_SOCK", "DMABUFSIM_RUN_PHYSFD", NULL };
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **out = malloc((n + 4) * sizeof *out);
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		int ours = 0;
		for (int j = 0; keys[j]; j++)
			if (strncmp(envp[k], keys[j], strlen(keys[j])) == 0 && envp[k][strlen(keys[j])] == '=')
				ours = 1;
		if (!ours)
			out[m++] = envp[k];
	}
	for (int j = 0; keys[j]; j++) {
		const char *v = getenv(keys[j]);
		if (v) {
			char *e = malloc(strlen(keys[j]) + strlen(v) + 2);
			sprintf(e, "%s=%s", keys[j], v);
			out[m++] = e;
		}
	}
	out[m] = NULL;
	return out;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	resolve();
	if (!g_active)
		return real_execve(path, argv, envp);
	char **env = env_with_run(envp);
	call(RUN_EXEC, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
	int r = real_execve(path, argv, env);
	int e = errno;
	call(RUN_EXEC_FAILED, NULL, 0, NULL, 0, NULL, NULL, 0, NULL);
	free(env);
	errno = e;
	return r;
}

/* ---- syscall(2) ---- */

long syscall(long nr, ...)
{
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long), d = va_arg(ap, long),
	     e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	resolve();
	if (g_active) {
		switch (nr) {
		case SYS_open:
			return open((const char *)a, (int)b, (mode_t)c);
		case SYS_openat:
			return openat((int)a, (const char *)b, (int)c, (mode_t)d);
		case SYS_close:
			return close((int)a);
		case SYS_close_range:
			return close_range((unsigned)a, (unsigned)b, (int)c);
		case SYS_ioctl:
			return ioctl((int)a, (unsigned long)b, c);
		case SYS_mmap:
			return (long)mmap((void *)a, (size_t)b, (int)c, (int)d, (int)e, (off_t)f);
		case SYS_munmap:
			return munmap((void *)a, (size_t)b);
		case SYS_dup:
			return dup((int)a);
		case SYS_dup2:
			return dup2((int)a, (int)b);
		case SYS_dup3:
			return dup3((int)a, (int)b, (int)c);
		case SYS_fcntl:
			return do_fcntl((int)a, (int)b, c);
		case SYS_read:
			return read((int)a, (void *)b, (size_t)c);
		case SYS_write:
			return write((int)a, (const void *)b, (size_t)c);
		case SYS_lseek:
			return lseek((int)a, (off_t)b, (int)c);
		case SYS_fstat:
			return fstat((int)a, (struct stat *)b);
		case SYS_memfd_create:
			return memfd_create((const char *)a, (unsigned)b);
		case SYS_ftruncate:
			return ftruncate((int)a, (off_t)b);
		case SYS_mknodat:
			return mknodat((int)a, (const char *)b, (mode_t)c, (dev_t)d);
		case SYS_poll:
			return poll((struct pollfd *)a, (nfds_t)b, (int)c);
		case SYS_select:
			return select((int)a, (fd_set *)b, (fd_set *)c, (fd_set *)d, (struct timeval *)e);
		case SYS_epoll_ctl:
			return epoll_ctl((int)a, (int)b, (int)c, (struct epoll_event *)d);
		case SYS_epoll_wait:
			return epoll_wait((int)a, (struct epoll_event *)b, (int)c, (int)d);
		}
	}
	return real_syscall(nr, a, b, c, d, e, f);
}
