/* Example for dmabufsim-trace: two dumb buffers on vgem (card0), MAP_DUMB + mmap, a string written and
 * read back, PRIME export of one buffer and import into a second DRM file, a read through the importer's
 * mapping, DMA_BUF_IOCTL_SYNC around a CPU access of the dma-buf mapping, then everything closed.
 * Run: DMABUFSIM_TRACE_OUT=out.jsonl LD_PRELOAD=build/libdmabufsim-trace.so build/dumb_prime [/dev/dri/card0] */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static void (*note_write)(void *, size_t);
static void (*note_read)(const void *, size_t);

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "dumb_prime: %s failed (errno %d)\n", what, errno);
		fails++;
	}
}

static void store(void *p, const char *s)
{
	memcpy(p, s, strlen(s) + 1);
	if (note_write)
		note_write(p, strlen(s) + 1);
}

static void load(const void *p, size_t n)
{
	if (note_read)
		note_read(p, n);
}

int main(int argc, char **argv)
{
	const char *node = argc > 1 ? argv[1] : "/dev/dri/card0";
	note_write = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_write");
	note_read = (void (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_read");

	int fd = open(node, O_RDWR | O_CLOEXEC);
	check(fd >= 0, "open");
	if (fd < 0)
		return 1;
	char name[64] = "";
	struct dsim_drm_version v = { .name_len = sizeof name - 1, .name = name };
	check(ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v) == 0, "DRM_IOCTL_VERSION");

	struct dsim_drm_mode_create_dumb c1 = { .height = 64, .width = 64, .bpp = 32 };
	struct dsim_drm_mode_create_dumb c2 = { .height = 3, .width = 641, .bpp = 12 };
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c1) == 0, "CREATE_DUMB 64x64x32");
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c2) == 0, "CREATE_DUMB 641x3x12");
	struct dsim_drm_mode_create_dumb bad = { .height = 1, .width = 1, .bpp = 0 };
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &bad) == -1 && errno == EINVAL, "CREATE_DUMB bpp 0 -> EINVAL");

	struct dsim_drm_mode_map_dumb m = { .handle = c1.handle };
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m) == 0, "MAP_DUMB");
	char *p = mmap(NULL, c1.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	check(p != MAP_FAILED, "mmap dumb");
	if (p != MAP_FAILED) {
		store(p, "Hello, world!");
		load(p, 16);
	}

	struct dsim_drm_prime_handle exp = { .handle = c1.handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR, .fd = -1 };
	check(ioctl(fd, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp) == 0, "PRIME_HANDLE_TO_FD");
	check(lseek(exp.fd, 0, SEEK_END) == (off_t)c1.size, "lseek SEEK_END = size");

	int fd2 = open(node, O_RDWR | O_CLOEXEC);
	check(fd2 >= 0, "open second file");
	struct dsim_drm_prime_handle imp = { .fd = exp.fd };
	check(ioctl(fd2, DSIM_DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp) == 0, "PRIME_FD_TO_HANDLE");
	struct dsim_drm_mode_map_dumb m2 = { .handle = imp.handle };
	check(ioctl(fd2, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m2) == 0 && m2.offset == m.offset, "MAP_DUMB imported (same offset)");
	char *q = mmap(NULL, c1.size, PROT_READ, MAP_SHARED, fd2, (off_t)m2.offset);
	check(q != MAP_FAILED, "mmap imported");
	if (q != MAP_FAILED) {
		load(q, 16);
		check(strcmp(q, "Hello, world!") == 0, "data through the importer");
	}

	char *d = mmap(NULL, c1.size, PROT_READ | PROT_WRITE, MAP_SHARED, exp.fd, 0);
	check(d != MAP_FAILED, "mmap dma-buf");
	struct dsim_dma_buf_sync s = { .flags = DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_WRITE };
	check(ioctl(exp.fd, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC start");
	if (d != MAP_FAILED) {
		store(d + 4096, "through the dma-buf");
		load(d + 4096, 20);
	}
	s.flags |= DSIM_DMA_BUF_SYNC_END;
	check(ioctl(exp.fd, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC end");

	if (d != MAP_FAILED)
		munmap(d, c1.size);
	if (q != MAP_FAILED)
		munmap(q, c1.size);
	if (p != MAP_FAILED)
		munmap(p, c1.size);
	struct dsim_drm_gem_close gc = { .handle = imp.handle };
	check(ioctl(fd2, DSIM_DRM_IOCTL_GEM_CLOSE, &gc) == 0, "GEM_CLOSE imported");
	struct dsim_drm_mode_destroy_dumb de = { .handle = c2.handle };
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, &de) == 0, "DESTROY_DUMB");
	check(ioctl(fd, DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, &de) == -1 && errno == EINVAL, "DESTROY_DUMB again -> EINVAL");
	check(close(exp.fd) == 0, "close dma-buf");
	check(close(fd2) == 0, "close second file");
	check(close(fd) == 0, "close");
	printf("dumb_prime: %s, %d failed checks\n", name, fails);
	return fails ? 1 : 0;
}
