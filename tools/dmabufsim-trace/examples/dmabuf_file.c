/* Example for dmabufsim-trace: the dma-buf file's own operations on a vgem dma-buf: DMA_BUF_SET_NAME (both
 * numbers the uAPI header has had, a name of 31 bytes and one too long), DMA_BUF_IOCTL_SYNC with good and bad
 * flags, an unknown dma-buf ioctl, llseek (SEEK_END gives the size, SEEK_SET 0, anything else refused), mmap
 * with an offset past the end, poll with no fence, a vgem read fence and a write fence, and the dup'd fd.
 * Run: DMABUFSIM_TRACE_OUT=out.jsonl LD_PRELOAD=build/libdmabufsim-trace.so build/dmabuf_file [/dev/dri/card0] */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "dmabuf_file: %s failed (errno %d)\n", what, errno);
		fails++;
	}
}

static int sync_flags(int buf, uint64_t flags)
{
	struct dsim_dma_buf_sync s = { .flags = flags };
	return ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0 ? 0 : -errno;
}

static short ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

int main(int argc, char **argv)
{
	int card = open(argc > 1 ? argv[1] : "/dev/dri/card0", O_RDWR | O_CLOEXEC);
	check(card >= 0, "open card0");
	if (card < 0)
		return 1;
	struct dsim_drm_mode_create_dumb c = { .height = 32, .width = 64, .bpp = 32 };
	check(ioctl(card, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c) == 0, "CREATE_DUMB");
	struct dsim_drm_prime_handle p = { .handle = c.handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR, .fd = -1 };
	check(ioctl(card, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) == 0, "PRIME_HANDLE_TO_FD");
	int buf = p.fd;

	/* names: DMA_BUF_NAME_LEN is 32 with the NUL */
	check(ioctl(buf, DSIM_DMA_BUF_SET_NAME_B, "scanout-0") == 0, "SET_NAME");
	check(ioctl(buf, DSIM_DMA_BUF_SET_NAME_A, "0123456789012345678901234567890") == 0, "SET_NAME 31 bytes (the _A number)");
	check(ioctl(buf, DSIM_DMA_BUF_SET_NAME_B, "01234567890123456789012345678901") == -1, "SET_NAME 32 bytes refused");

	/* DMA_BUF_IOCTL_SYNC */
	check(sync_flags(buf, DSIM_DMA_BUF_SYNC_READ) == 0, "SYNC START READ");
	check(sync_flags(buf, DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_END) == 0, "SYNC END READ");
	check(sync_flags(buf, DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_WRITE) == 0, "SYNC START RW");
	check(sync_flags(buf, DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_WRITE | DSIM_DMA_BUF_SYNC_END) == 0, "SYNC END RW");
	check(sync_flags(buf, 0) == -EINVAL, "SYNC without READ or WRITE");
	check(sync_flags(buf, DSIM_DMA_BUF_SYNC_READ | 0x8) == -EINVAL, "SYNC with unknown flags");
	check(ioctl(buf, _IO('b', 9)) == -1 && errno == ENOTTY, "unknown dma-buf ioctl");

	/* llseek: SEEK_END 0 is the size, SEEK_SET 0 is 0, the rest -EINVAL */
	check(lseek(buf, 0, SEEK_END) == (off_t)c.size, "lseek SEEK_END");
	check(lseek(buf, 0, SEEK_SET) == 0, "lseek SEEK_SET");
	check(lseek(buf, 4096, SEEK_SET) == -1 && errno == EINVAL, "lseek SEEK_SET 4096");
	check(lseek(buf, 0, SEEK_CUR) == -1 && errno == EINVAL, "lseek SEEK_CUR");

	/* mmap past the end */
	check(mmap(NULL, 4096, PROT_READ, MAP_SHARED, buf, (off_t)c.size) == MAP_FAILED, "mmap past the end refused");
	void *m = mmap(NULL, (size_t)c.size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	check(m != MAP_FAILED, "mmap of the whole buffer");

	/* poll: idle, then a read fence (readers go on), then a write fence (nobody does) */
	check(ready(buf, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "idle buffer");
	struct dsim_drm_vgem_fence_attach r = { .handle = c.handle, .flags = 0 };
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_ATTACH, &r) == 0, "VGEM_FENCE_ATTACH read");
	check(ready(buf, POLLIN | POLLOUT) == POLLIN, "read fence: POLLIN only");
	int dupfd = dup(buf);
	check(ready(dupfd, POLLOUT) == 0, "the dup'd fd sees the same fences");
	struct dsim_drm_vgem_fence_signal s = { .fence = r.out_fence };
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) == 0, "VGEM_FENCE_SIGNAL read");
	struct dsim_drm_vgem_fence_attach w = { .handle = c.handle, .flags = DSIM_VGEM_FENCE_WRITE };
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_ATTACH, &w) == 0, "VGEM_FENCE_ATTACH write");
	check(ready(buf, POLLIN | POLLOUT) == 0, "write fence: neither");
	s.fence = w.out_fence;
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) == 0, "VGEM_FENCE_SIGNAL write");
	check(ready(buf, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "idle again");

	if (m != MAP_FAILED)
		munmap(m, (size_t)c.size);
	close(dupfd);
	close(buf);
	close(card);
	printf("dmabuf_file: %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}
