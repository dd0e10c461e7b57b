/* dmabufsim-agent: the guest side of `dmabufsim realkernel`. Runs as the last step of the initramfs /init
 * on a genuine Linux kernel, reads scripts of calls from a serial channel, executes them on the real
 * uAPI and answers every call with one event line in DmaBufSim's trace format.
 *
 * Protocol (text lines, both directions):
 *   guest: READY <kernel release>
 *   host:  SCRIPT <name>            -> vgem is reloaded (rmmod + insmod: a fresh device), then
 *   host:  <op> key=value ...       one line per call (values: integers, 0x.. hex, or text without spaces;
 *   host:  ...                      mem_write data= and DMA_BUF_SET_NAME name= are hex)
 *   host:  END
 *   guest: BEGIN <name>, the trace header line, one event line per call, then
 *   guest: DONE <name> <events> <vgem rmmod result: 0 or -errno>
 *   host:  RUN <program> [args]    -> reloads vgem, runs it (with /tracer.so preloaded, the trace in
 *                                    /tmp/run.jsonl, its stdout and stderr in files), then
 *   guest: OUT <line> per line of its stdout, ERR <line> per line of its stderr,
 *          FILE <exit status>, the trace's lines, EOF
 *   host:  EXEC <shell command>    -> reloads vgem, runs `sh -c COMMAND` without the tracer, then
 *   guest: FILE <exit status>, its stdout and stderr lines, EOF (the kernel's selftests)
 *   host:  QUIT                   -> power off
 * The script's process state (fds, mappings) is the agent's own: at END everything the script left is
 * unmapped and closed in the kernel's exit order (mappings, then fds ascending), like a process exit. */
#define _GNU_SOURCE
#include "../../dmabufsim-trace/dmabufsim_uapi.h"
#include "../../dmabufsim-trace/trace_fmt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CHAN_FD 3
#define MAX_EVENTS 8192
#define MAX_ARGS 16
#define LINE_CAP 65536

static FILE *in, *out;
static const char *vgem_ko;
static void *maps[MAX_EVENTS];       /* by the i of the mmap event */
static unsigned char maplive[MAX_EVENTS]; /* maps[i] is a live mapping (it may sit at address 0: MAP_FIXED as root) */
static long line_event[MAX_EVENTS];  /* script line -> event i */
static size_t map_len[MAX_EVENTS];
static char evbuf[LINE_CAP];
static sigjmp_buf fault_jmp;
static volatile sig_atomic_t fault_sig;

struct kv {
	char *key, *val;
};

static size_t peek(void *dst, const void *src, size_t n)
{
	memcpy(dst, src, n);
	return n;
}

static const char *get(struct kv *kv, int n, const char *key)
{
	for (int k = 0; k < n; k++)
		if (strcmp(kv[k].key, key) == 0)
			return kv[k].val;
	return NULL;
}

static int64_t num(struct kv *kv, int n, const char *key, int64_t dflt)
{
	const char *v = get(kv, n, key);
	if (!v)
		return dflt;
	if (v[0] == '-')
		return strtoll(v, NULL, 0);
	return (int64_t)strtoull(v, NULL, 0);
}

static size_t unhex(const char *h, unsigned char *dst, size_t cap)
{
	size_t n = 0;
	while (h && h[0] && h[1] && n < cap) {
		unsigned int b;
		if (sscanf(h, "%2x", &b) != 1)
			break;
		dst[n++] = (unsigned char)b;
		h += 2;
	}
	return n;
}

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jmp, 1);
}

static void emit(struct jb *j)
{
	fputs(j->buf, out);
	fputc('\n', out);
}

static void begin(struct jb *j, long i, const char *op, int fd, int has_fd)
{
	jb_init(j, evbuf, sizeof evbuf);
	jb_open(j, NULL);
	jb_i64(j, "i", i);
	jb_str(j, "op", op);
	if (has_fd)
		jb_i64(j, "fd", fd);
}

static void finish(struct jb *j)
{
	jb_close(j);
	jb_close(j);
	emit(j);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t r(long ret)
{
	return ret < 0 ? -errno : ret;
}

static void header(const char *name)
{
	struct utsname u;
	struct sysinfo si;
	struct jb j;
	uname(&u);
	sysinfo(&si);
	jb_init(&j, evbuf, sizeof evbuf);
	jb_open(&j, NULL);
	jb_str(&j, "format", "dmabuf-trace");
	jb_i64(&j, "version", 1);
	jb_str(&j, "source", "dmabufsim realkernel agent");
	jb_str(&j, "scenario", name);
	jb_i64(&j, "page_size", 4096);
	jb_open(&j, "machine_config");
	jb_str(&j, "arch", u.machine);
	jb_u64(&j, "ram_mib", (uint64_t)si.totalram * si.mem_unit / (1024 * 1024));
	jb_str(&j, "kernel_release", u.release);
	jb_str(&j, "kernel_version", u.version);
	jb_i64(&j, "page_size", 4096);
	jb_i64(&j, "hz", 250);
	jb_bool(&j, "root", 1);
	jb_str(&j, "dma_path", "direct");
	/* card0 is vgem, or virtio_gpu when the guest has QEMU's virtio-gpu-pci (its driver loaded at boot; vgem,
	 * reloaded per script, is card1 then). virtio-gpu's fbdev emulation holds the first fake mmap offsets for
	 * the whole boot: its framebuffer's bytes are fb0's stride times its height, in pages. */
	/* (the driver link of card0's device: vgem's platform device has none; no file is opened) */
	char drv0[64] = "vgem", link[256];
	ssize_t ln = readlink("/sys/class/drm/card0/device/driver", link, sizeof link - 1);
	if (ln > 0) {
		link[ln] = '\0';
		const char *base = strrchr(link, '/');
		snprintf(drv0, sizeof drv0, "%s", base ? base + 1 : link);
	}
	/* virtio-gpu's DRM device hangs off the PCI function (drm_dev_alloc(&driver, vdev->dev.parent)), which
	 * virtio-pci drives: the only virtio device with a DRM node in these guests */
	if (strcmp(drv0, "virtio-pci") == 0)
		snprintf(drv0, sizeof drv0, "virtio_gpu");
	int virtio = strcmp(drv0, "virtio_gpu") == 0;
	uint64_t fb_pages = 0;
	if (virtio) {
		unsigned long w = 0, h = 0, stride = 0;
		FILE *f = fopen("/sys/class/graphics/fb0/virtual_size", "r");
		if (f) {
			if (fscanf(f, "%lu,%lu", &w, &h) != 2)
				h = 0;
			fclose(f);
		}
		f = fopen("/sys/class/graphics/fb0/stride", "r");
		if (f) {
			if (fscanf(f, "%lu", &stride) != 1)
				stride = 0;
			fclose(f);
		}
		fb_pages = ((uint64_t)stride * h + 4095) / 4096;
	}
	jb_open_arr(&j, "drm_devices");
	for (int k = 0; k < (virtio ? 2 : 1); k++) {
		char node[32], rnode[32];
		snprintf(node, sizeof node, "/dev/dri/card%d", k);
		snprintf(rnode, sizeof rnode, "/dev/dri/renderD%d", 128 + k);
		jb_open(&j, NULL);
		jb_str(&j, "node", node);
		jb_i64(&j, "card_minor", k);
		jb_str(&j, "render_node", rnode);
		jb_i64(&j, "render_minor", 128 + k);
		jb_str(&j, "driver", k == 0 ? drv0 : "vgem");
		jb_u64(&j, "mmap_offset_start", (uint64_t)1 << 32);
		jb_open_arr(&j, "mmap_offsets_in_use");
		if (k == 0 && fb_pages) {
			jb_open(&j, NULL);
			jb_u64(&j, "start", (uint64_t)1 << 32);
			jb_u64(&j, "pages", fb_pages);
			jb_u64(&j, "bytes", fb_pages * 4096);
			jb_str(&j, "owner", "virtio-gpu's fbdev emulation framebuffer (fb0: stride times height)");
			jb_close(&j);
		}
		jb_close_arr(&j);
		jb_close(&j);
	}
	jb_close_arr(&j);
	jb_open_arr(&j, "modules_at_start");
	/* /proc/modules lists the newest first: load order is the reverse (6.1: drm, drm_shmem_helper, vgem;
	 * 6.12 adds drm_kms_helper, a dependency of its drm_shmem_helper) */
	static char mods[32][64];
	int nmods = 0;
	FILE *pm = fopen("/proc/modules", "r");
	char ml[512];
	while (pm && nmods < 32 && fgets(ml, sizeof ml, pm))
		if (sscanf(ml, "%63s", mods[nmods]) == 1)
			nmods++;
	if (pm)
		fclose(pm);
	for (int k = nmods - 1; k >= 0; k--) {
		jb_open(&j, NULL);
		jb_str(&j, "name", mods[k]);
		jb_raw(&j, ",\"params\":null");
		jb_close(&j);
	}
	jb_close_arr(&j);
	jb_close(&j);
	jb_open(&j, "open_fds");
	static const char *what[] = { "stdin", "stdout", "stderr" };
	for (int fd = 0; fd < 3; fd++) {
		char key[4];
		snprintf(key, sizeof key, "%d", fd);
		jb_open(&j, key);
		jb_str(&j, "path", "/dev/console");
		jb_str(&j, "flags", "O_RDWR");
		jb_str(&j, "what", what[fd]);
		jb_close(&j);
	}
	jb_open(&j, "3");
	jb_str(&j, "path", "/dev/ttyS1");
	jb_str(&j, "flags", "O_RDWR");
	jb_str(&j, "what", "the agent's channel to the host (scripts in, this trace out)");
	jb_close(&j);
	jb_close(&j);
	jb_close(&j);
	emit(&j);
}

static int reload_vgem(void)
{
	int ret = 0;
	if (syscall(SYS_delete_module, "vgem", O_NONBLOCK) != 0 && errno != ENOENT)
		ret = -errno;
	int fd = open(vgem_ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0) != 0) {
		fprintf(stderr, "agent: insmod %s: %s\n", vgem_ko, strerror(errno));
		if (ret == 0)
			ret = -errno;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static void fdinfo(struct jb *j, int fd)
{
	char path[64], text[4096];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY | O_CLOEXEC);
	jb_open(j, "args");
	jb_str(j, "path", "/proc/self/fdinfo/<fd>");
	jb_close(j);
	jb_open(j, "result");
	if (f < 0) {
		jb_ret(j, -errno);
		return;
	}
	ssize_t n = read(f, text, sizeof text - 1);
	close(f);
	if (n < 0)
		n = 0;
	text[n] = '\0';
	jb_ret(j, 0);
	jb_open(j, "fields");
	char *save = NULL, copy[4096];
	memcpy(copy, text, (size_t)n + 1);
	for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		char *colon = strchr(ln, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == '\t' || *v == ' ')
			v++;
		int digits = *v != '\0';
		for (char *c = v; *c; c++)
			if (*c < '0' || *c > '9')
				digits = 0;
		if (digits && strcmp(ln, "flags") != 0)
			jb_u64(j, ln, strtoull(v, NULL, 10));
		else
			jb_str(j, ln, v);
	}
	jb_close(j);
	jb_str(j, "text", text);
}

/* A load or store through a mapping that may fault (SIGBUS past the object): -1 when it did. */
static int guarded_copy(int is_write, unsigned char *at, unsigned char *data, size_t len)
{
	if (sigsetjmp(fault_jmp, 1) != 0)
		return -1;
	if (is_write)
		memcpy(at, data, len);
	else
		memcpy(data, at, len);
	return 0;
}

/* A page nothing can read or write: a pointer into it makes copy_from_user/copy_to_user fail (-EFAULT). */
static void *unmapped_page(void)
{
	static void *p;
	if (!p) {
		p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			p = (void *)8;
	}
	return p;
}

/* Executes one call; returns 0, or -1 for an unknown op (an event with ret -ENOSYS is still written). */
static void run_call(long i, const char *op, struct kv *kv, int n)
{
	struct jb j;
	int fd = (int)num(kv, n, "fd", -1);
	int has_fd = get(kv, n, "fd") != NULL;
	unsigned long req = tf_ioctl_by_name(op);
	tf_ioctl_prefer(req ? op : NULL); /* UDMABUF_CREATE and KVMFR_DMABUF_CREATE share a number */
	if (req || strcmp(op, "ioctl") == 0)
		fd = (int)num(kv, n, "on", -1);  /* ioctls: `on` is the fd called, `fd` a struct field */

	if (strcmp(op, "openat") == 0) {
		const char *path = get(kv, n, "path");
		int flags = (int)num(kv, n, "flags", O_RDWR);
		long ret = open(path ? path : "", flags);
		begin(&j, i, op, 0, 0);
		jb_open(&j, "args");
		jb_str(&j, "path", path ? path : "");
		jb_i64(&j, "flags", flags);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "close") == 0 || strcmp(op, "dup") == 0) {
		long ret = op[0] == 'c' ? close(fd) : dup(fd);
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (req == DSIM_DRM_IOCTL_VERSION) {
		char name[256], date[256], desc[256];
		struct dsim_drm_version v, before;
		memset(&v, 0, sizeof v);
		v.name_len = (size_t)num(kv, n, "name_len", 63);
		v.date_len = (size_t)num(kv, n, "date_len", 63);
		v.desc_len = (size_t)num(kv, n, "desc_len", 255);
		if (v.name_len > 255 || v.date_len > 255 || v.desc_len > 255)
			v.name_len = v.date_len = v.desc_len = 255;
		/* pointers=null|unmapped: the three string pointers are NULL (drm_copy_field skips the copy) or
		 * point at a PROT_NONE page (-EFAULT); the strings are then not read back */
		const char *ptrs = get(kv, n, "pointers");
		char *bad = ptrs && strcmp(ptrs, "unmapped") == 0 ? (char *)unmapped_page() : NULL;
		v.name = ptrs ? bad : name;
		v.date = ptrs ? bad : date;
		v.desc = ptrs ? bad : desc;
		before = v;
		long ret = ioctl(fd, req, &v);
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", req);
		if (ptrs) {
			jb_open(&j, "args");
			jb_u64(&j, "name_len", before.name_len);
			jb_u64(&j, "date_len", before.date_len);
			jb_u64(&j, "desc_len", before.desc_len);
			jb_str(&j, "pointers", bad ? "unmapped" : "null");
			jb_close(&j);
			before.name_len = before.date_len = before.desc_len = 0; /* nothing to read back */
		} else {
			tf_ioctl_args(&j, req, &before, 0, peek);
		}
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
		tf_ioctl_result(&j, req, &before, &v, r(ret), peek);
	} else if (req == DSIM_DMA_BUF_SET_NAME_B || req == DSIM_DMA_BUF_SET_NAME_A) {
		char name[300];
		size_t len = unhex(get(kv, n, "name"), (unsigned char *)name, sizeof name - 1);
		name[len] = '\0';
		long ret = ioctl(fd, req, name);
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", req);
		tf_ioctl_args(&j, req, NULL, (unsigned long)name, peek);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (req == DSIM_KVMFR_DMABUF_GETSIZE) {
		long ret = ioctl(fd, req, 0);
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", req);
		tf_ioctl_args(&j, req, NULL, 0, peek);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (req == DSIM_UDMABUF_CREATE_LIST) {
		/* items=MEMFD:OFFSET:SIZE,... ; count= defaults to their number (a larger count reads zeroed items) */
		static unsigned char buf[DSIM_UDMABUF_LIST_HEAD + 2048 * sizeof(struct dsim_udmabuf_create_item)];
		uint32_t head[2];
		struct dsim_udmabuf_create_item *items = (void *)(buf + DSIM_UDMABUF_LIST_HEAD);
		memset(buf, 0, sizeof buf);
		uint32_t nitems = 0;
		const char *it = get(kv, n, "items");
		while (it && *it && nitems < 2048) {
			unsigned long long fdv, off, sz;
			if (sscanf(it, "%llu:%lli:%lli", &fdv, (long long *)&off, (long long *)&sz) != 3)
				break;
			items[nitems].memfd = (uint32_t)fdv;
			items[nitems].offset = off;
			items[nitems].size = sz;
			nitems++;
			it = strchr(it, ',');
			if (it)
				it++;
		}
		head[0] = (uint32_t)num(kv, n, "flags", 0);
		head[1] = (uint32_t)num(kv, n, "count", nitems);
		memcpy(buf, head, sizeof head);
		long ret = ioctl(fd, req, buf);
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", req);
		tf_ioctl_args(&j, req, buf, (unsigned long)buf, peek);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (req) {
		unsigned char s[64], before[64];
		memset(s, 0, sizeof s);
		for (int k = 0; k < n; k++)
			tf_ioctl_put(req, s, kv[k].key, (uint64_t)num(kv, n, kv[k].key, 0));
		memcpy(before, s, sizeof s);
		double t0 = now_s();
		long ret = ioctl(fd, req, s);
		double t1 = now_s();
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", req);
		tf_ioctl_args(&j, req, before, 0, peek);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
		tf_ioctl_result(&j, req, before, s, r(ret), peek);
		if (req == DSIM_DMA_BUF_IOCTL_SYNC)
			jb_double(&j, "elapsed_s", t1 - t0 < 0.5 ? 0.0 : t1 - t0);
	} else if (strcmp(op, "ioctl") == 0) {
		/* A raw ioctl: arg=null (the default) passes NULL, arg=unmapped a pointer to a PROT_NONE page, arg=zero
		 * a zeroed struct (4 KiB, more than any _IOC_SIZE); arg=N passes N. args.arg is the pointer passed
		 * unless it was the zeroed struct (the trace format's rule for raw ioctls). */
		static unsigned char zero[4096];
		unsigned long rq = (unsigned long)num(kv, n, "request", 0);
		const char *a = get(kv, n, "arg");
		unsigned long argv = 0;
		int record = 1;
		if (a && strcmp(a, "zero") == 0) {
			memset(zero, 0, sizeof zero);
			argv = (unsigned long)zero;
			record = 0;
		} else if (a && strcmp(a, "unmapped") == 0) {
			argv = (unsigned long)unmapped_page();
		} else if (a && strcmp(a, "null") != 0) {
			argv = (unsigned long)num(kv, n, "arg", 0);
		}
		long ret = ioctl(fd, rq, argv);
		begin(&j, i, op, fd, 1);
		jb_u64(&j, "request", rq);
		jb_open(&j, "args");
		if (record)
			jb_u64(&j, "arg", argv);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "mmap") == 0) {
		size_t len = (size_t)num(kv, n, "length", 4096);
		int prot = (int)num(kv, n, "prot", PROT_READ | PROT_WRITE);
		int flags = (int)num(kv, n, "flags", MAP_SHARED);
		uint64_t off = (uint64_t)num(kv, n, "offset", 0);
		void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);
		long ret = p == MAP_FAILED ? -errno : 0;
		if (p != MAP_FAILED && i < MAX_EVENTS) {
			maps[i] = p;
			maplive[i] = 1;
			map_len[i] = len;
		}
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_u64(&j, "length", len);
		jb_i64(&j, "prot", prot);
		jb_i64(&j, "flags", flags);
		jb_u64(&j, "offset", off);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, ret);
	} else if (strcmp(op, "munmap") == 0 || strncmp(op, "mem_", 4) == 0) {
		long m = (long)num(kv, n, "mapping", -1);  /* the i of the mmap event */
		int live = m >= 0 && m < MAX_EVENTS && maplive[m];
		void *base = live ? maps[m] : NULL;
		begin(&j, i, op, 0, 0);
		jb_open(&j, "args");
		if (strcmp(op, "munmap") == 0) {
			size_t len = (size_t)num(kv, n, "length", live ? (int64_t)map_len[m] : 4096);
			jb_u64(&j, "length", len);
			jb_i64(&j, "mapping", m);
			jb_close(&j);
			jb_open(&j, "result");
			long ret = live ? munmap(base, len) : -1;
			if (!live)
				errno = EINVAL;
			jb_ret(&j, r(ret));
			if (live && ret == 0)
				maplive[m] = 0;
		} else {
			size_t off = (size_t)num(kv, n, "offset", 0);
			unsigned char data[4096];
			int is_write = strcmp(op, "mem_write") == 0;
			size_t len = is_write ? unhex(get(kv, n, "data"), data, sizeof data) : (size_t)num(kv, n, "length", 4);
			if (len > sizeof data)
				len = sizeof data;
			jb_u64(&j, "offset", off);
			if (is_write)
				jb_strn(&j, "data", (const char *)data, len);
			jb_u64(&j, "length", len);
			jb_i64(&j, "mapping", m);
			jb_close(&j);
			jb_open(&j, "result");
			if (!live) {
				jb_ret(&j, -EFAULT);
			} else if (guarded_copy(is_write, (unsigned char *)base + off, data, len) == 0) {
				jb_ret(&j, 0);
				if (!is_write) {
					size_t sl = 0;
					while (sl < len && data[sl])
						sl++;
					jb_strn(&j, "string", (const char *)data, sl);
					jb_hex(&j, "hex", data, len);
					jb_open_arr(&j, "u32");
					for (size_t w = 0; w + 4 <= len; w += 4) {
						uint32_t v;
						memcpy(&v, data + w, 4);
						jb_u64(&j, NULL, v);
					}
					jb_close_arr(&j);
				}
			} else {
				jb_ret(&j, -EFAULT);
				jb_str(&j, "signal", fault_sig == SIGBUS ? "SIGBUS" : "SIGSEGV");
			}
		}
	} else if (strcmp(op, "lseek") == 0) {
		int64_t off = num(kv, n, "offset", 0);
		int whence = (int)num(kv, n, "whence", 0);
		long ret = (long)lseek(fd, (off_t)off, whence);
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_i64(&j, "offset", off);
		jb_i64(&j, "whence", whence);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "poll") == 0) {
		struct pollfd p = { .fd = fd, .events = (short)num(kv, n, "events", POLLIN | POLLOUT) };
		int timeout = (int)num(kv, n, "timeout_ms", 0);
		double t0 = now_s();
		long ret = poll(&p, 1, timeout);
		double t1 = now_s();
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_i64(&j, "events", p.events);
		jb_i64(&j, "timeout_ms", timeout);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
		if (ret >= 0) {
			jb_i64(&j, "revents", p.revents);
			jb_bool(&j, "POLLIN", p.revents & POLLIN);
			jb_bool(&j, "POLLOUT", p.revents & POLLOUT);
		}
		if (timeout != 0)
			jb_double(&j, "elapsed_s", t1 - t0);
	} else if (strcmp(op, "memfd_create") == 0) {
		const char *name = get(kv, n, "name");
		unsigned int flags = (unsigned int)num(kv, n, "flags", 0);
		long ret = syscall(SYS_memfd_create, name ? name : "", flags);
		begin(&j, i, op, 0, 0);
		jb_open(&j, "args");
		jb_str(&j, "name", name ? name : "");
		jb_u64(&j, "flags", flags);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "ftruncate") == 0) {
		int64_t length = num(kv, n, "length", 0);
		long ret = ftruncate(fd, (off_t)length);
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_i64(&j, "length", length);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "fcntl") == 0) {
		int cmd = (int)num(kv, n, "cmd_value", F_GETFD);
		int has_arg = get(kv, n, "arg") != NULL;
		long arg = (long)num(kv, n, "arg", 0);
		long ret = has_arg ? fcntl(fd, cmd, arg) : fcntl(fd, cmd);
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_str(&j, "cmd", cmd == F_GETFD ? "F_GETFD" : cmd == F_GETFL ? "F_GETFL" : cmd == F_ADD_SEALS ? "F_ADD_SEALS" : cmd == F_GET_SEALS ? "F_GET_SEALS" : "other");
		jb_i64(&j, "cmd_value", cmd);
		if (has_arg)
			jb_i64(&j, "arg", arg);
		jb_close(&j);
		jb_open(&j, "result");
		/* F_GETFL: the format's ret is the access mode (as drmtrace logged it), the whole word in flags */
		jb_ret(&j, ret >= 0 && cmd == F_GETFL ? (ret & O_ACCMODE) : r(ret));
		if (ret >= 0 && cmd == F_GETFD) {
			jb_bool(&j, "FD_CLOEXEC", ret & FD_CLOEXEC);
		} else if (ret >= 0 && cmd == F_GETFL) {
			jb_str(&j, "accmode", tf_accmode_name(ret));
			jb_i64(&j, "flags", ret);
		}
	} else if (strcmp(op, "read") == 0 || strcmp(op, "write") == 0) {
		char buf[4096];
		size_t count = (size_t)num(kv, n, "count", 16);
		if (count > sizeof buf)
			count = sizeof buf;
		memset(buf, 0, sizeof buf);
		long ret = op[0] == 'r' ? read(fd, buf, count) : write(fd, buf, count);
		begin(&j, i, op, fd, 1);
		jb_open(&j, "args");
		jb_u64(&j, "count", count);
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, r(ret));
	} else if (strcmp(op, "fdinfo") == 0) {
		begin(&j, i, op, fd, 1);
		fdinfo(&j, fd);
	} else {
		begin(&j, i, op, fd, has_fd);
		jb_open(&j, "args");
		jb_close(&j);
		jb_open(&j, "result");
		jb_ret(&j, -ENOSYS);
		jb_str(&j, "agent_error", "unknown op");
	}
	finish(&j);
}

/* The process exit of a script: mappings first, then every fd above the channel, ascending. */
static void script_exit(void)
{
	for (int k = 0; k < MAX_EVENTS; k++)
		if (maplive[k]) {
			munmap(maps[k], map_len[k]);
			maplive[k] = 0;
		}
	for (int fd = CHAN_FD + 1; fd < 900; fd++)
		close(fd);
}

static void run_program(char *cmdline)
{
	int rl = reload_vgem();  /* a fresh device, as for a script */
	if (rl != 0)
		fprintf(stderr, "agent: vgem reload %d\n", rl);
	unlink("/tmp/run.jsonl");
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[16];
		int argc = 0;
		for (char *t = strtok(cmdline, " "); t && argc < 15; t = strtok(NULL, " "))
			argv[argc++] = t;
		argv[argc] = NULL;
		int o = open("/tmp/run.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open("/tmp/run.err", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(o, 1);
		dup2(e, 2);
		for (int fd = CHAN_FD; fd < 64; fd++)
			close(fd);
		setenv("DMABUFSIM_TRACE_OUT", "/tmp/run.jsonl", 1);
		setenv("LD_PRELOAD", "/tracer.so", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	char ln[LINE_CAP];
	static const char *const outputs[][2] = { { "/tmp/run.out", "OUT" }, { "/tmp/run.err", "ERR" } };
	for (int k = 0; k < 2; k++) {
		FILE *o = fopen(outputs[k][0], "r");
		while (o && fgets(ln, sizeof ln, o)) {
			size_t n = strlen(ln);
			fprintf(out, "%s %s%s", outputs[k][1], ln, n && ln[n - 1] == '\n' ? "" : "\n");
		}
		if (o)
			fclose(o);
	}
	fprintf(out, "FILE %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	FILE *f = fopen("/tmp/run.jsonl", "r");
	while (f && fgets(ln, sizeof ln, f))
		fputs(ln, out);
	if (f)
		fclose(f);
	fputs("EOF\n", out);
	fflush(out);
	syscall(SYS_delete_module, "vgem", O_NONBLOCK);
}

/* EXEC: a shell command (the kernel's selftests), its output collected in /tmp/exec.out. */
static void exec_command(const char *cmdline)
{
	int rl = reload_vgem();
	if (rl != 0)
		fprintf(stderr, "agent: vgem reload %d\n", rl);
	unlink("/tmp/exec.out");
	pid_t pid = fork();
	if (pid == 0) {
		int o = open("/tmp/exec.out", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(o, 1);
		dup2(o, 2);
		for (int fd = CHAN_FD; fd < 1024; fd++)
			close(fd);
		execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	fprintf(out, "FILE %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	FILE *f = fopen("/tmp/exec.out", "r");
	char ln[LINE_CAP];
	while (f && fgets(ln, sizeof ln, f)) {
		fputs(ln, out);
		if (ln[strlen(ln) - 1] != '\n')
			fputc('\n', out);
	}
	if (f)
		fclose(f);
	fputs("EOF\n", out);
	fflush(out);
	syscall(SYS_delete_module, "vgem", O_NONBLOCK);
}

int main(int argc, char **argv)
{
	static char ln[LINE_CAP];
	const char *chan = argc > 1 ? argv[1] : "/dev/ttyS1";
	vgem_ko = argc > 2 ? argv[2] : "/lib/modules/vgem.ko";
	int cfd = open(chan, O_RDWR | O_NOCTTY);
	if (cfd < 0) {
		perror("agent: open channel");
		return 1;
	}
	if (cfd != CHAN_FD) {
		dup2(cfd, CHAN_FD);
		close(cfd);
	}
	struct termios t;
	if (tcgetattr(CHAN_FD, &t) == 0) {
		cfmakeraw(&t);
		cfsetispeed(&t, B115200);
		cfsetospeed(&t, B115200);
		tcsetattr(CHAN_FD, TCSANOW, &t);
	}
	in = fdopen(CHAN_FD, "r");
	/* the write side must not take a number a script would get: a high one */
	int ofd = fcntl(CHAN_FD, F_DUPFD_CLOEXEC, 900);
	out = ofd >= 0 ? fdopen(ofd, "w") : NULL;
	if (!in || !out) {
		perror("agent: channel streams");
		return 1;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 16);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct utsname u;
	uname(&u);
	fprintf(out, "READY %s\n", u.release);
	fflush(out);
	char name[128] = "";
	long i = 0, line = 0;
	int in_script = 0;
	while (fgets(ln, sizeof ln, in)) {
		ln[strcspn(ln, "\r\n")] = '\0';
		if (!in_script && strncmp(ln, "SCRIPT ", 7) == 0) {
			snprintf(name, sizeof name, "%.127s", ln + 7);
			int rl = reload_vgem();
			if (rl != 0)
				fprintf(stderr, "agent: vgem reload %d\n", rl);
			fprintf(out, "BEGIN %s\n", name);
			header(name);
			i = 0;
			line = 0;
			for (int k = 0; k < MAX_EVENTS; k++)
				line_event[k] = -1;
			in_script = 1;
		} else if (in_script && strcmp(ln, "END") == 0) {
			script_exit();
			long rm = syscall(SYS_delete_module, "vgem", O_NONBLOCK) == 0 ? 0 : -errno;
			fprintf(out, "DONE %s %ld %ld\n", name, i, rm);
			fflush(out);
			in_script = 0;
		} else if (in_script) {
			struct kv kv[MAX_ARGS];
			int n = 0;
			char *save = NULL;
			char *op = strtok_r(ln, " ", &save);
			if (!op)
				continue;
			for (char *tok = strtok_r(NULL, " ", &save); tok && n < MAX_ARGS; tok = strtok_r(NULL, " ", &save)) {
				char *eq = strchr(tok, '=');
				if (!eq)
					continue;
				*eq = '\0';
				kv[n].key = tok;
				kv[n].val = eq + 1;
				n++;
			}
			/* mapping= names the script line of the mmap: a call on a mapping that failed or is gone is
			 * left out (no event), so every logged mapping is one the kernel made */
			const char *mv = get(kv, n, "mapping");
			if (mv) {
				long line_no = strtol(mv, NULL, 10);
				long ev = line_no >= 0 && line_no < MAX_EVENTS ? line_event[line_no] : -1;
				if (ev < 0 || !maplive[ev]) {
					line++;
					continue;
				}
				static char evtext[24];
				snprintf(evtext, sizeof evtext, "%ld", ev);
				for (int k = 0; k < n; k++)
					if (strcmp(kv[k].key, "mapping") == 0)
						kv[k].val = evtext;
			}
			if (line < MAX_EVENTS)
				line_event[line] = i;
			line++;
			run_call(i++, op, kv, n);
		} else if (strncmp(ln, "RUN ", 4) == 0) {
			run_program(ln + 4);
		} else if (strncmp(ln, "EXEC ", 5) == 0) {
			exec_command(ln + 5);
		} else if (strcmp(ln, "QUIT") == 0) {
			fflush(out);
			sync();
			reboot(RB_POWER_OFF);
			return 0;
		} else if (strcmp(ln, "PING") == 0) {
			fputs("PONG\n", out);
			fflush(out);
		}
	}
	return 0;
}
