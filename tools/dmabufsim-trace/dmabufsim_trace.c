/* dmabufsim-trace: an LD_PRELOAD library that records a program's calls on DRM, dma-buf, sync_file and
 * kvmfr files in DmaBufSim's trace format, version 2 (docs/trace-format.md, data/traces/README.md). Set
 * DMABUFSIM_TRACE_OUT to the output path; without it every call passes straight through. The traced program
 * sees the same results and the same errno as without the library; the output file and the event counter live
 * at high fd numbers so the program's fd numbers are unchanged.
 *
 * Several processes: a child made by fork() (or vfork()) and a program started by execve keep tracing into the
 * same file (the preload stays in the environment, the two descriptors are inherited: DMABUFSIM_TRACE_FDS names
 * them), every event carries its pid and tid, and fork, execve, exit, socketpair and SCM_RIGHTS sendmsg/recvmsg
 * are events. The processes number their events from one counter (a memfd) under a POSIX record lock, and each
 * line is written at once (O_APPEND), so the file holds every process's events in the order they happened.
 * fork and sendmsg hold the lock across the real call, so the child's first event and the receive of a passed
 * fd always come after them.
 *
 * Memory accesses through mappings cannot be seen by interposition: a program may report them by calling
 * dmabufsim_trace_mem_write / dmabufsim_trace_mem_read (found with dlsym, so it runs without the library
 * too); they become mem_write / mem_read events. Calls glibc makes internally (fopen's open, fclose's close,
 * posix_spawn's clone) do not pass through the interposed symbols and are not seen; a process killed by a
 * signal has no exit event. */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"
#include "trace_fmt.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_MAPS 4096
#define OUT_FD_MIN 900
#define LINE_CAP 65536
#define BUF_CAP (256 * 1024)

/* K_SOCK: a socket of a socketpair; only its fd number is traced (socketpair, close, dup, fcntl, fd passing). */
enum fd_kind { K_NONE = 0, K_DRM, K_DMABUF, K_SYNC_FILE, K_KVMFR, K_HEAP, K_UDMABUF, K_MEMFD, K_SOCK };

struct mapping {
	uintptr_t addr;
	size_t length;
	long event;  /* i of the mmap event; -1 = free slot */
};

static struct {
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*ioctl)(int, unsigned long, ...);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	off_t (*lseek)(int, off_t, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*fcntl)(int, int, ...);
	int (*memfd_create)(const char *, unsigned int);
	int (*ftruncate)(int, off_t);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	pid_t (*fork)(void);
	int (*execve)(const char *, char *const[], char *const[]);
	void (*exit_)(int);
	int (*socketpair)(int, int, int, int[2]);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*fstat)(int, struct stat *);
} real;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int enabled;
static int out_fd = -1;
static int seq_fd = -1;   /* memfd: the next event's i, shared by every process of the trace */
static int exit_logged;
static unsigned char kinds[MAX_FDS];
static struct mapping maps[MAX_MAPS];
static char line[LINE_CAP];

static void resolve(void)
{
	if (real.ioctl)
		return;
	real.open = dlsym(RTLD_NEXT, "open");
	real.openat = dlsym(RTLD_NEXT, "openat");
	real.close = dlsym(RTLD_NEXT, "close");
	real.dup = dlsym(RTLD_NEXT, "dup");
	real.dup2 = dlsym(RTLD_NEXT, "dup2");
	real.dup3 = dlsym(RTLD_NEXT, "dup3");
	real.mmap = dlsym(RTLD_NEXT, "mmap");
	real.munmap = dlsym(RTLD_NEXT, "munmap");
	real.lseek = dlsym(RTLD_NEXT, "lseek");
	real.poll = dlsym(RTLD_NEXT, "poll");
	real.fcntl = dlsym(RTLD_NEXT, "fcntl");
	real.memfd_create = dlsym(RTLD_NEXT, "memfd_create");
	real.ftruncate = dlsym(RTLD_NEXT, "ftruncate");
	real.read = dlsym(RTLD_NEXT, "read");
	real.write = dlsym(RTLD_NEXT, "write");
	real.fork = dlsym(RTLD_NEXT, "fork");
	real.execve = dlsym(RTLD_NEXT, "execve");
	real.exit_ = dlsym(RTLD_NEXT, "_exit");
	real.socketpair = dlsym(RTLD_NEXT, "socketpair");
	real.sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real.recvmsg = dlsym(RTLD_NEXT, "recvmsg");
	real.fstat = dlsym(RTLD_NEXT, "fstat");
	real.ioctl = dlsym(RTLD_NEXT, "ioctl");
}

/* Safe copy from our own address space: a bad pointer gives 0 instead of a crash. */
static size_t peek(void *dst, const void *src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)src, n };
	ssize_t got = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	return got < 0 ? 0 : (size_t)got;
}

/* Writes one line and its newline in one write (the file is O_APPEND: lines of several processes never mix). */
static void emit_locked(char *s, size_t n, size_t cap)
{
	if (n + 1 <= cap) {
		s[n++] = '\n';
	}
	size_t off = 0;
	while (out_fd >= 0 && off < n) {
		ssize_t w = real.write(out_fd, s + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (n > cap - 1 || s[n - 1] != '\n')
		real.write(out_fd, "\n", 1);
}

/* The lock every process of the trace takes around one event (a POSIX record lock on the counter: held per
 * process, so a forked child does not inherit it; the threads of one process are serialised by `lock`). */
static void trace_lock(int type)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = (short)type;
	fl.l_whence = SEEK_SET;
	fl.l_len = 8;
	while (real.fcntl(seq_fd, F_SETLKW, &fl) < 0 && errno == EINTR)
		;
}

/* The next event's i (under trace_lock). */
static long seq_next(void)
{
	int64_t v = 0, n;
	if (pread(seq_fd, &v, sizeof v, 0) != (ssize_t)sizeof v)
		v = 0;
	n = v + 1;
	if (pwrite(seq_fd, &n, sizeof n, 0) != (ssize_t)sizeof n)
		return v;
	return v;
}

static enum fd_kind kind_of_path(const char *path)
{
	if (!path)
		return K_NONE;
	if (strncmp(path, "/dev/dri/", 9) == 0)
		return K_DRM;
	if (strncmp(path, "/dev/kvmfr", 10) == 0)
		return K_KVMFR;
	if (strncmp(path, "/dev/dma_heap/", 14) == 0)
		return K_HEAP;
	if (strcmp(path, "/dev/udmabuf") == 0)
		return K_UDMABUF;
	if (strstr(path, "dmabuf") || strstr(path, "dma_buf"))
		return K_DMABUF;
	if (strstr(path, "sync_file"))
		return K_SYNC_FILE;
	return K_NONE;
}

static enum fd_kind kind(int fd)
{
	return fd >= 0 && fd < MAX_FDS ? (enum fd_kind)kinds[fd] : K_NONE;
}

static void set_kind(int fd, enum fd_kind k)
{
	if (fd >= 0 && fd < MAX_FDS)
		kinds[fd] = (unsigned char)k;
}

/* Calls on the file itself are traced (not on a socket, whose only traced part is its fd number). */
static int traced_io(int fd)
{
	enum fd_kind k = kind(fd);
	return k != K_NONE && k != K_SOCK;
}

/* The kind of an fd this process got without opening it (SCM_RIGHTS): by what /proc says it is. */
static enum fd_kind kind_of_fd(int fd)
{
	char link[64], path[512];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 0)
		return K_NONE;
	path[n] = '\0';
	if (strncmp(path, "socket:", 7) == 0)
		return K_SOCK;
	return kind_of_path(path);
}

static int is_trace_fd(int fd)
{
	return enabled && (fd == out_fd || fd == seq_fd);
}

/* Starts an event line: {"i":n,"pid":P,"tid":T,"op":OP[,"fd":F] ... (takes the trace lock; ev_end drops it). */
static long ev_begin(struct jb *j, const char *op, int fd, int has_fd)
{
	trace_lock(F_WRLCK);
	long i = seq_next();
	jb_init(j, line, sizeof line);
	jb_open(j, NULL);
	jb_i64(j, "i", i);
	jb_i64(j, "pid", getpid());
	jb_i64(j, "tid", gettid());
	jb_str(j, "op", op);
	if (has_fd)
		jb_i64(j, "fd", fd);
	return i;
}

static void ev_end(struct jb *j)
{
	jb_close(j);
	jb_close(j);  /* result, then the event */
	emit_locked(j->buf, j->len, j->cap);
	trace_lock(F_UNLCK);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void flags_name(long fl, char *out, size_t cap)
{
	static const struct { long bit; const char *name; } bits[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" }, { O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" }, { O_CLOEXEC, "O_CLOEXEC" },
	};
	snprintf(out, cap, "%s", tf_accmode_name(fl));
	for (size_t k = 0; k < sizeof bits / sizeof bits[0]; k++)
		if (fl & bits[k].bit) {
			size_t n = strlen(out);
			snprintf(out + n, cap - n, "|%s", bits[k].name);
		}
}

static void drm_devices(struct jb *j)
{
	jb_open_arr(j, "drm_devices");
	for (int minor = 0; minor < 64; minor++) {
		char node[64], render[64];
		snprintf(node, sizeof node, "/dev/dri/card%d", minor);
		int fd = real.open(node, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		char name[64] = "";
		struct dsim_drm_version v;
		memset(&v, 0, sizeof v);
		v.name_len = sizeof name - 1;
		v.name = name;
		if (real.ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v) == 0 && v.name_len < sizeof name)
			name[v.name_len] = '\0';
		real.close(fd);
		snprintf(render, sizeof render, "/dev/dri/renderD%d", 128 + minor);
		jb_open(j, NULL);
		jb_str(j, "node", node);
		jb_i64(j, "card_minor", minor);
		if (access(render, F_OK) == 0) {
			jb_str(j, "render_node", render);
			jb_i64(j, "render_minor", 128 + minor);
		} else {
			jb_raw(j, ",\"render_node\":null");
		}
		jb_str(j, "driver", name);
		jb_u64(j, "mmap_offset_start", (uint64_t)1 << 32);
		jb_close(j);
	}
	jb_close_arr(j);
}

static void open_fds(struct jb *j)
{
	static const char *what[3] = { "stdin", "stdout", "stderr" };
	jb_open(j, "open_fds");
	for (int fd = 0; fd < OUT_FD_MIN; fd++) {
		char link[64], path[512];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, path, sizeof path - 1);
		if (n < 0)
			continue;
		path[n] = '\0';
		int fl = real.fcntl(fd, F_GETFL);
		int fdfl = real.fcntl(fd, F_GETFD);
		char key[16], fls[160];
		flags_name(fl | ((fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0), fls, sizeof fls);
		snprintf(key, sizeof key, "%d", fd);
		jb_open(j, key);
		jb_str(j, "path", path);
		jb_str(j, "flags", fls);
		jb_str(j, "what", fd < 3 ? what[fd] : "inherited");
		jb_close(j);
		set_kind(fd, kind_of_path(path));
	}
	jb_close(j);
}

static void write_header(void)
{
	struct utsname u;
	struct sysinfo si;
	struct jb j;
	uname(&u);
	sysinfo(&si);
	jb_init(&j, line, sizeof line);
	jb_open(&j, NULL);
	jb_str(&j, "format", "dmabuf-trace");
	jb_i64(&j, "version", 2);
	jb_str(&j, "source", "dmabufsim-trace (LD_PRELOAD)");
	jb_i64(&j, "pid", getpid());
	jb_i64(&j, "page_size", sysconf(_SC_PAGESIZE));
	jb_open(&j, "machine_config");
	/* Under `dmabufsim run --trace` the kernel is the simulated machine's: the host describes it (trusted JSON
	 * members: arch, ram_mib, kernel_release, kernel_version, root). */
	const char *machine = getenv("DMABUFSIM_TRACE_MACHINE");
	if (machine && *machine) {
		jb_raw(&j, machine);
		j.need_comma = 1;
	} else {
		jb_str(&j, "arch", u.machine);
		jb_u64(&j, "ram_mib", (uint64_t)si.totalram * si.mem_unit / (1024 * 1024));
		jb_str(&j, "kernel_release", u.release);
		jb_str(&j, "kernel_version", u.version);
		jb_bool(&j, "root", geteuid() == 0);
	}
	jb_i64(&j, "page_size", sysconf(_SC_PAGESIZE));
	drm_devices(&j);
	jb_close(&j);
	open_fds(&j);
	jb_close(&j);
	emit_locked(j.buf, j.len, j.cap);
}

/* The process's exit (once): from exit()'s destructors, or _exit. */
static void log_exit(void)
{
	if (!enabled || exit_logged)
		return;
	exit_logged = 1;
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, "exit", 0, 0);
	jb_open(&j, "args");
	jb_close(&j);
	jb_open(&j, "result");
	jb_bool(&j, "void", 1);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
}

/* A new program in a traced process (execve succeeded): its descriptors are the ones DMABUFSIM_TRACE_FDS names. */
static int inherit_trace(const char *fds)
{
	int o = -1, q = -1;
	if (sscanf(fds, "%d,%d", &o, &q) != 2 || o < OUT_FD_MIN || q < OUT_FD_MIN)
		return 0;
	char link[64], path[512];
	snprintf(link, sizeof link, "/proc/self/fd/%d", q);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n < 0 || real.fcntl(o, F_GETFD) < 0)
		return 0;
	path[n] = '\0';
	if (strncmp(path, "/memfd:dmabufsim-trace-seq", 26) != 0)
		return 0;
	out_fd = o;
	seq_fd = q;
	return 1;
}

__attribute__((constructor)) static void trace_init(void)
{
	int saved = errno;
	resolve();
	const char *path = getenv("DMABUFSIM_TRACE_OUT");
	if (!path || !*path) {
		errno = saved;
		return;
	}
	for (int k = 0; k < MAX_MAPS; k++)
		maps[k].event = -1;
	const char *fds = getenv("DMABUFSIM_TRACE_FDS");
	if (fds && inherit_trace(fds)) {
		/* execve: the program's fds survive exec without their kinds; the ones /proc names are traced again */
		for (int fd = 0; fd < OUT_FD_MIN; fd++)
			if (real.fcntl(fd, F_GETFD) >= 0)
				set_kind(fd, kind_of_fd(fd));
		enabled = 1;
		char exe[512], comm[16] = "";
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			const char *base = strrchr(exe, '/');
			snprintf(comm, sizeof comm, "%s", base ? base + 1 : exe);
		}
		struct jb j;
		pthread_mutex_lock(&lock);
		ev_begin(&j, "execve", 0, 0);
		jb_open(&j, "args");
		jb_str(&j, "comm", comm);
		jb_i64(&j, "ppid", getppid());
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, 0);
		ev_end(&j);
		pthread_mutex_unlock(&lock);
		errno = saved;
		return;
	}
	/* The first process: the output (O_APPEND, inherited across fork and exec) and the counter. */
	int fd = real.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	if (fd < 0) {
		errno = saved;
		return;
	}
	out_fd = real.fcntl(fd, F_DUPFD, OUT_FD_MIN);
	real.close(fd);
	int m = real.memfd_create("dmabufsim-trace-seq", 0);
	seq_fd = m < 0 ? -1 : real.fcntl(m, F_DUPFD, OUT_FD_MIN);
	if (m >= 0)
		real.close(m);
	if (out_fd < 0 || seq_fd < 0) {
		errno = saved;
		return;
	}
	int64_t zero = 0;
	if (pwrite(seq_fd, &zero, sizeof zero, 0) != (ssize_t)sizeof zero) {
		errno = saved;
		return;
	}
	char num[32];
	snprintf(num, sizeof num, "%d,%d", out_fd, seq_fd);
	setenv("DMABUFSIM_TRACE_FDS", num, 1);
	pthread_mutex_lock(&lock);
	write_header();
	enabled = 1;
	pthread_mutex_unlock(&lock);
	errno = saved;
}

__attribute__((destructor)) static void trace_fini(void)
{
	int saved = errno;
	log_exit();
	errno = saved;
}

/* ---- processes: fork, execve, _exit ---- */

/* fork: the event is numbered and the trace lock held across the real fork, so the child's first event comes
 * after it; the child starts with its own (unlocked) mutex and logs its exit itself. */
pid_t fork(void)
{
	resolve();
	if (!enabled)
		return real.fork();
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, "fork", 0, 0);
	pid_t pid = real.fork();
	int err = errno;
	if (pid == 0) {
		pthread_mutex_init(&lock, NULL);
		exit_logged = 0;
		return 0;
	}
	jb_open(&j, "args");
	jb_close(&j);
	jb_open(&j, "result");
	jb_ret(&j, pid < 0 ? -err : pid);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
	errno = err;
	return pid;
}

pid_t vfork(void)
{
	return fork();
}

/* execve with the program's own environment: the tracer's variables go with it (LD_PRELOAD, the output, the fds). */
int execve(const char *path, char *const argv[], char *const envp[])
{
	resolve();
	if (!enabled)
		return real.execve(path, argv, envp);
	static const char *const keys[] = { "LD_PRELOAD", "DMABUFSIM_TRACE_OUT", "DMABUFSIM_TRACE_FDS", "DMABUFSIM_TRACE_MACHINE", NULL };
	size_t n = 0;
	while (envp && envp[n])
		n++;
	char **env = malloc((n + 5) * sizeof *env);
	if (!env)
		return real.execve(path, argv, envp);
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		int ours = 0;
		for (int q = 0; keys[q]; q++)
			if (strncmp(envp[k], keys[q], strlen(keys[q])) == 0 && envp[k][strlen(keys[q])] == '=')
				ours = 1;
		if (!ours)
			env[m++] = envp[k];
	}
	for (int q = 0; keys[q]; q++) {
		const char *v = getenv(keys[q]);
		if (v) {
			char *e = malloc(strlen(keys[q]) + strlen(v) + 2);
			if (!e)
				continue;
			sprintf(e, "%s=%s", keys[q], v);
			env[m++] = e;
		}
	}
	env[m] = NULL;
	int r = real.execve(path, argv, env);
	int e = errno;
	for (size_t k = 0; k < m; k++) {
		int ours = 1;
		for (size_t q = 0; q < n; q++)
			if (env[k] == envp[q])
				ours = 0;
		if (ours)
			free(env[k]);
	}
	free(env);
	errno = e;
	return r;
}

void _exit(int status)
{
	resolve();
	log_exit();
	real.exit_(status);
	__builtin_unreachable();
}

void _Exit(int status)
{
	_exit(status);
}

/* ---- sockets: socketpair, and fd passing with SCM_RIGHTS ---- */

int socketpair(int domain, int type, int protocol, int sv[2])
{
	resolve();
	int ret = real.socketpair(domain, type, protocol, sv);
	int err = errno;
	if (ret == 0) {
		set_kind(sv[0], K_SOCK);
		set_kind(sv[1], K_SOCK);
	}
	if (enabled) {
		struct jb j;
		pthread_mutex_lock(&lock);
		ev_begin(&j, "socketpair", 0, 0);
		jb_open(&j, "args");
		jb_i64(&j, "domain", domain);
		jb_i64(&j, "type", type);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret < 0 ? -err : ret);
		if (ret == 0) {
			jb_open_arr(&j, "fds");
			jb_i64(&j, NULL, sv[0]);
			jb_i64(&j, NULL, sv[1]);
			jb_close_arr(&j);
		}
		ev_end(&j);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

#define MAX_RIGHTS 64

/* The fds of the SCM_RIGHTS messages of m (at most cap). */
static int rights_of(const struct msghdr *m, int *fds, int cap)
{
	int n = 0;
	if (!m || !m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c; c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int q = 0; q < k && n < cap; q++)
			memcpy(&fds[n++], CMSG_DATA(c) + q * sizeof(int), sizeof(int));
	}
	return n;
}

static void rights_json(struct jb *j, const int *fds, int n)
{
	jb_open_arr(j, "scm_rights");
	for (int k = 0; k < n; k++) {
		struct stat st;
		memset(&st, 0, sizeof st);
		real.fstat(fds[k], &st);
		jb_open(j, NULL);
		jb_i64(j, "fd", fds[k]);
		jb_u64(j, "ino", (uint64_t)st.st_ino);
		jb_close(j);
	}
	jb_close_arr(j);
}

/* sendmsg with SCM_RIGHTS: numbered before the real call and the trace lock held across it, so the receive that
 * takes these files is always a later event. */
ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	resolve();
	int fds[MAX_RIGHTS];
	int n = enabled ? rights_of(m, fds, MAX_RIGHTS) : 0;
	if (n == 0)
		return real.sendmsg(fd, m, flags);
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, "sendmsg", fd, 1);
	jb_open(&j, "args");
	jb_i64(&j, "flags", flags);
	rights_json(&j, fds, n);
	jb_close(&j);
	ssize_t ret = real.sendmsg(fd, m, flags);
	int err = errno;
	jb_open(&j, "result");
	jb_ret(&j, ret < 0 ? -err : ret);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	resolve();
	ssize_t ret = real.recvmsg(fd, m, flags);
	int err = errno;
	int fds[MAX_RIGHTS];
	int n = ret >= 0 ? rights_of(m, fds, MAX_RIGHTS) : 0;
	for (int k = 0; k < n; k++)
		set_kind(fds[k], kind_of_fd(fds[k]));
	if (enabled && n > 0) {
		struct jb j;
		pthread_mutex_lock(&lock);
		ev_begin(&j, "recvmsg", fd, 1);
		jb_open(&j, "args");
		jb_i64(&j, "flags", flags);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret);
		rights_json(&j, fds, n);
		ev_end(&j);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

/* ---- open / close / dup ---- */

static int after_open(const char *path, int flags, int ret, int err)
{
	enum fd_kind k = kind_of_path(path);
	if (ret >= 0)
		set_kind(ret, k);
	if (!enabled || k == K_NONE)
		return ret;
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, "openat", 0, 0);
	jb_open(&j, "args");
	jb_str(&j, "path", path);
	jb_i64(&j, "flags", flags);
	jb_close(&j);
	jb_open(&j, "result");
	jb_ret(&j, ret < 0 ? -err : ret);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
	return ret;
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	resolve();
	int ret = real.openat(dirfd, path, flags, mode);
	int err = errno;
	after_open(path, flags, ret, err);
	errno = err;
	return ret;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(AT_FDCWD, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t mode = mode_arg(flags, ap);
	va_end(ap);
	return do_openat(dirfd, path, flags, mode);
}

/* Logs a call on fd with no struct: {"op":op,"fd":fd,"args":{extra...},"result":{ret}}. */
static void simple_event(const char *op, int fd, const char *k1, long v1, const char *k2, long v2, long ret, int err)
{
	struct jb j;
	ev_begin(&j, op, fd, 1);
	jb_open(&j, "args");
	if (k1)
		jb_i64(&j, k1, v1);
	if (k2)
		jb_i64(&j, k2, v2);
	jb_close(&j);
	jb_open(&j, "result");
	jb_ret(&j, ret < 0 ? -err : ret);
	ev_end(&j);
}

int close(int fd)
{
	resolve();
	if (is_trace_fd(fd)) {
		errno = EBADF;  /* the trace's own files are not the program's */
		return -1;
	}
	enum fd_kind k = kind(fd);
	int ret = real.close(fd);
	int err = errno;
	if (ret == 0 || err != EBADF)
		set_kind(fd, K_NONE);
	if (enabled && k != K_NONE) {
		pthread_mutex_lock(&lock);
		simple_event("close", fd, NULL, 0, NULL, 0, ret, err);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

static void after_dup(const char *op, int oldfd, int newfd_arg, int flags, int has_new, int has_flags, int ret, int err)
{
	enum fd_kind k = kind(oldfd);
	if (ret >= 0)
		set_kind(ret, k);
	if (!enabled || k == K_NONE)
		return;
	pthread_mutex_lock(&lock);
	simple_event(op, oldfd, has_new ? "newfd" : NULL, newfd_arg, has_flags ? "flags" : NULL, flags, ret, err);
	pthread_mutex_unlock(&lock);
}

int dup(int oldfd)
{
	resolve();
	int ret = real.dup(oldfd);
	int err = errno;
	after_dup("dup", oldfd, 0, 0, 0, 0, ret, err);
	errno = err;
	return ret;
}

int dup2(int oldfd, int newfd)
{
	resolve();
	if (is_trace_fd(newfd)) {
		errno = EBADF;
		return -1;
	}
	int ret = real.dup2(oldfd, newfd);
	int err = errno;
	if (ret >= 0 && kind(oldfd) == K_NONE)
		set_kind(newfd, K_NONE);
	after_dup("dup2", oldfd, newfd, 0, 1, 0, ret, err);
	errno = err;
	return ret;
}

int dup3(int oldfd, int newfd, int flags)
{
	resolve();
	if (is_trace_fd(newfd)) {
		errno = EBADF;
		return -1;
	}
	int ret = real.dup3(oldfd, newfd, flags);
	int err = errno;
	if (ret >= 0 && kind(oldfd) == K_NONE)
		set_kind(newfd, K_NONE);
	after_dup("dup3", oldfd, newfd, flags, 1, 1, ret, err);
	errno = err;
	return ret;
}

/* ---- ioctl ---- */

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	unsigned long arg = va_arg(ap, unsigned long);
	va_end(ap);
	resolve();
	/* UDMABUF_CREATE and KVMFR_DMABUF_CREATE share a number: the fd's kind says which */
	tf_ioctl_prefer(kind(fd) == K_UDMABUF && req == DSIM_UDMABUF_CREATE ? "UDMABUF_CREATE" : NULL);
	const char *name = tf_ioctl_name(req);
	if (!enabled || (!traced_io(fd) && !name)) {
		return real.ioctl(fd, req, arg);
	}
	unsigned char in[64], out[64];
	size_t insize = tf_ioctl_insize(req);
	memset(in, 0, sizeof in);
	memset(out, 0, sizeof out);
	if (insize > sizeof in)
		insize = sizeof in;
	if (insize)
		peek(in, (const void *)arg, insize);
	double t0 = now_s();
	int ret = real.ioctl(fd, req, arg);
	int err = errno;
	double t1 = now_s();
	if (insize)
		peek(out, (const void *)arg, insize);
	if (ret >= 0) {
		if (req == DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD)
			set_kind(((struct dsim_drm_prime_handle *)out)->fd, K_DMABUF);
		else if (req == DSIM_DMA_BUF_IOCTL_EXPORT_SYNC_FILE)
			set_kind(((struct dsim_dma_buf_export_sync_file *)out)->fd, K_SYNC_FILE);
		else if (req == DSIM_KVMFR_DMABUF_CREATE || req == DSIM_UDMABUF_CREATE_LIST)
			set_kind(ret, K_DMABUF); /* kvmfr's and udmabuf's CREATE return the dma-buf fd */
		else if (req == DSIM_DMA_HEAP_IOCTL_ALLOC)
			set_kind((int)((struct dsim_dma_heap_allocation_data *)out)->fd, K_DMABUF);
	}
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, name ? name : "ioctl", fd, 1);
	jb_u64(&j, "request", req);
	if (name) {
		tf_ioctl_args(&j, req, in, arg, peek);
	} else {
		jb_open(&j, "args");
		jb_close(&j);
	}
	jb_open(&j, "result");
	jb_ret(&j, ret < 0 ? -err : ret);
	if (name)
		tf_ioctl_result(&j, req, in, out, ret < 0 ? -err : ret, peek);
	if (req == DSIM_DMA_BUF_IOCTL_SYNC)
		jb_double(&j, "elapsed_s", t1 - t0);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

/* ---- memfd_create, ftruncate (the memfds a udmabuf is made of) ---- */

int memfd_create(const char *name, unsigned int flags)
{
	resolve();
	int ret = real.memfd_create(name, flags);
	int err = errno;
	if (ret >= 0)
		set_kind(ret, K_MEMFD);
	if (enabled) {
		struct jb j;
		pthread_mutex_lock(&lock);
		ev_begin(&j, "memfd_create", 0, 0);
		jb_open(&j, "args");
		jb_str(&j, "name", name ? name : "");
		jb_u64(&j, "flags", flags);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret < 0 ? -err : ret);
		ev_end(&j);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

int ftruncate(int fd, off_t length)
{
	resolve();
	int ret = real.ftruncate(fd, length);
	int err = errno;
	if (enabled && traced_io(fd)) {
		struct jb j;
		pthread_mutex_lock(&lock);
		ev_begin(&j, "ftruncate", fd, 1);
		jb_open(&j, "args");
		jb_i64(&j, "length", (int64_t)length);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret < 0 ? -err : ret);
		ev_end(&j);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

int ftruncate64(int fd, off_t length)
{
	return ftruncate(fd, length);
}

/* ---- mmap / munmap ---- */

static void *do_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	resolve();
	void *ret = real.mmap(addr, length, prot, flags, fd, offset);
	int err = errno;
	if (!enabled || (flags & MAP_ANONYMOUS) || !traced_io(fd)) {
		errno = err;
		return ret;
	}
	struct jb j;
	pthread_mutex_lock(&lock);
	long i = ev_begin(&j, "mmap", fd, 1);
	jb_open(&j, "args");
	jb_u64(&j, "length", length);
	jb_i64(&j, "prot", prot);
	jb_i64(&j, "flags", flags);
	jb_u64(&j, "offset", (uint64_t)offset);
	jb_close(&j);
	jb_open(&j, "result");
	jb_ret(&j, ret == MAP_FAILED ? -err : 0);
	ev_end(&j);
	if (ret != MAP_FAILED)
		for (int k = 0; k < MAX_MAPS; k++)
			if (maps[k].event < 0) {
				maps[k] = (struct mapping){ (uintptr_t)ret, length, i };
				break;
			}
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return do_mmap(addr, length, prot, flags, fd, offset);
}

void *mmap64(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
	return do_mmap(addr, length, prot, flags, fd, offset);
}

/* The mapping that contains addr (locked), or -1. */
static int find_map(uintptr_t a)
{
	for (int k = 0; k < MAX_MAPS; k++)
		if (maps[k].event >= 0 && a >= maps[k].addr && a < maps[k].addr + maps[k].length)
			return k;
	return -1;
}

int munmap(void *addr, size_t length)
{
	resolve();
	int ret = real.munmap(addr, length);
	int err = errno;
	if (!enabled)
		return ret;
	pthread_mutex_lock(&lock);
	int k = find_map((uintptr_t)addr);
	if (k >= 0) {
		struct jb j;
		ev_begin(&j, "munmap", 0, 0);
		jb_open(&j, "args");
		jb_u64(&j, "length", length);
		jb_i64(&j, "mapping", maps[k].event);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret < 0 ? -err : ret);
		ev_end(&j);
		if (ret == 0 && (uintptr_t)addr == maps[k].addr && length >= maps[k].length)
			maps[k].event = -1;
	}
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

/* ---- lseek, poll, fcntl, read, write ---- */

static off_t do_lseek(int fd, off_t off, int whence)
{
	resolve();
	off_t ret = real.lseek(fd, off, whence);
	int err = errno;
	if (enabled && traced_io(fd)) {
		pthread_mutex_lock(&lock);
		simple_event("lseek", fd, "offset", (long)off, "whence", whence, (long)ret, err);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

off_t lseek(int fd, off_t off, int whence)
{
	return do_lseek(fd, off, whence);
}

off_t lseek64(int fd, off_t off, int whence)
{
	return do_lseek(fd, off, whence);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	resolve();
	int traced = 0;
	for (nfds_t k = 0; enabled && k < nfds; k++)
		if (traced_io(fds[k].fd))
			traced = 1;
	double t0 = now_s();
	int ret = real.poll(fds, nfds, timeout);
	int err = errno;
	double t1 = now_s();
	if (!traced) {
		errno = err;
		return ret;
	}
	struct jb j;
	pthread_mutex_lock(&lock);
	ev_begin(&j, "poll", fds[0].fd, nfds == 1);
	jb_open(&j, "args");
	if (nfds == 1) {
		jb_i64(&j, "events", fds[0].events);
	} else {
		jb_open_arr(&j, "fds");
		for (nfds_t k = 0; k < nfds; k++) {
			jb_open(&j, NULL);
			jb_i64(&j, "fd", fds[k].fd);
			jb_i64(&j, "events", fds[k].events);
			jb_close(&j);
		}
		jb_close_arr(&j);
	}
	jb_i64(&j, "timeout_ms", timeout);
	jb_close(&j);
	jb_open(&j, "result");
	jb_ret(&j, ret < 0 ? -err : ret);
	if (ret >= 0 && nfds == 1) {
		jb_i64(&j, "revents", fds[0].revents);
		jb_bool(&j, "POLLIN", fds[0].revents & POLLIN);
		jb_bool(&j, "POLLOUT", fds[0].revents & POLLOUT);
	} else if (ret >= 0) {
		jb_open_arr(&j, "revents");
		for (nfds_t k = 0; k < nfds; k++)
			jb_i64(&j, NULL, fds[k].revents);
		jb_close_arr(&j);
	}
	if (timeout != 0)
		jb_double(&j, "elapsed_s", t1 - t0);
	ev_end(&j);
	pthread_mutex_unlock(&lock);
	errno = err;
	return ret;
}

static int do_fcntl(int fd, int cmd, va_list ap)
{
	resolve();
	long arg = 0;
	switch (cmd) {
	case F_GETFD: case F_GETFL: case F_GETOWN: case F_GETSIG: case F_GETLEASE: case F_GETPIPE_SZ: case F_GET_SEALS:
		break;
	default:
		arg = va_arg(ap, long);
	}
	if (is_trace_fd(fd)) {
		errno = EBADF;
		return -1;
	}
	int ret = real.fcntl(fd, cmd, arg);
	int err = errno;
	if (ret >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		set_kind(ret, kind(fd));
	if (enabled && kind(fd) != K_NONE) {
		struct jb j;
		const char *name = tf_fcntl_name(cmd);
		pthread_mutex_lock(&lock);
		ev_begin(&j, "fcntl", fd, 1);
		jb_open(&j, "args");
		if (name)
			jb_str(&j, "cmd", name);
		else
			jb_i64(&j, "cmd", cmd);
		jb_i64(&j, "cmd_value", cmd);
		if (cmd != F_GETFD && cmd != F_GETFL)
			jb_i64(&j, "arg", arg);
		jb_close(&j);
		jb_open(&j, "result");
		/* F_GETFL: the format's ret is the access mode, the whole word in flags */
		jb_ret(&j, ret < 0 ? -err : cmd == F_GETFL ? (ret & O_ACCMODE) : ret);
		if (ret >= 0 && cmd == F_GETFD) {
			jb_bool(&j, "FD_CLOEXEC", ret & FD_CLOEXEC);
		} else if (ret >= 0 && cmd == F_GETFL) {
			jb_str(&j, "accmode", tf_accmode_name(ret));
			jb_i64(&j, "flags", ret);
		}
		ev_end(&j);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int ret = do_fcntl(fd, cmd, ap);
	va_end(ap);
	return ret;
}

int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	int ret = do_fcntl(fd, cmd, ap);
	va_end(ap);
	return ret;
}

ssize_t read(int fd, void *buf, size_t count)
{
	resolve();
	ssize_t ret = real.read(fd, buf, count);
	int err = errno;
	if (enabled && traced_io(fd)) {
		pthread_mutex_lock(&lock);
		simple_event("read", fd, "count", (long)count, NULL, 0, ret, err);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	resolve();
	if (is_trace_fd(fd)) {
		errno = EBADF;
		return -1;
	}
	ssize_t ret = real.write(fd, buf, count);
	int err = errno;
	if (enabled && traced_io(fd)) {
		pthread_mutex_lock(&lock);
		simple_event("write", fd, "count", (long)count, NULL, 0, ret, err);
		pthread_mutex_unlock(&lock);
	}
	errno = err;
	return ret;
}

/* ---- memory accesses reported by the program ---- */

static void mem_event(const char *op, const void *addr, const void *data, size_t len)
{
	if (!enabled)
		return;
	pthread_mutex_lock(&lock);
	int k = find_map((uintptr_t)addr);
	if (k >= 0) {
		struct jb j;
		ev_begin(&j, op, 0, 0);
		jb_open(&j, "args");
		jb_u64(&j, "offset", (uintptr_t)addr - maps[k].addr);
		if (data)
			jb_strn(&j, "data", data, len);
		jb_u64(&j, "length", len);
		jb_i64(&j, "mapping", maps[k].event);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, 0);
		if (!data) {
			size_t n = len > 4096 ? 4096 : len;
			size_t sl = 0;
			const unsigned char *p = addr;
			while (sl < n && p[sl])
				sl++;
			jb_strn(&j, "string", addr, sl);
			jb_hex(&j, "hex", addr, n);
			jb_open_arr(&j, "u32");
			for (size_t w = 0; w + 4 <= n; w += 4) {
				uint32_t v;
				memcpy(&v, p + w, 4);
				jb_u64(&j, NULL, v);
			}
			jb_close_arr(&j);
		}
		ev_end(&j);
	}
	pthread_mutex_unlock(&lock);
}

/* Reports a store of len bytes at addr (inside a traced mapping), already done by the program. */
void dmabufsim_trace_mem_write(void *addr, size_t len)
{
	int saved = errno;
	mem_event("mem_write", addr, addr, len);
	errno = saved;
}

/* Reports a load of len bytes at addr (inside a traced mapping): the event holds what is there now. */
void dmabufsim_trace_mem_read(const void *addr, size_t len)
{
	int saved = errno;
	mem_event("mem_read", addr, NULL, len);
	errno = saved;
}
