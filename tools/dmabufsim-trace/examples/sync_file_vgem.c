/* Example for dmabufsim-trace: sync_file export and import on vgem dma-bufs (DMA_BUF_IOCTL_EXPORT_SYNC_FILE and
 * DMA_BUF_IOCTL_IMPORT_SYNC_FILE, Linux 6.0+), with vgem fences as the GPU work. An idle buffer exports a signalled
 * sync_file; after VGEM_FENCE_ATTACH of a write fence, a reader's export (READ) and a writer's (WRITE) both wait for
 * it; a read fence makes only the writer's export wait. The sync_files are polled before and after
 * VGEM_FENCE_SIGNAL. Importing a pending sync_file into a second buffer as a write fence makes that buffer busy
 * (poll) until the fence signals. Then what the ioctls refuse: no RW flag, unknown flags, a fd that is not a
 * sync_file, a bad fd.
 * Run: DMABUFSIM_TRACE_OUT=out.jsonl LD_PRELOAD=build/libdmabufsim-trace.so build/sync_file_vgem [/dev/dri/card0] */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "sync_file_vgem: %s failed (errno %d)\n", what, errno);
		fails++;
	}
}

static int dumb_fd(int card, uint32_t *handle)
{
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	check(ioctl(card, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c) == 0, "CREATE_DUMB");
	*handle = c.handle;
	struct dsim_drm_prime_handle p = { .handle = c.handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR, .fd = -1 };
	check(ioctl(card, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p) == 0, "PRIME_HANDLE_TO_FD");
	return p.fd;
}

/* EXPORT_SYNC_FILE: the new fd, or -errno */
static int export_sync(int buf, uint32_t flags)
{
	struct dsim_dma_buf_export_sync_file e = { .flags = flags, .fd = -1 };
	return ioctl(buf, DSIM_DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) == 0 ? e.fd : -errno;
}

static int import_sync(int buf, uint32_t flags, int fd)
{
	struct dsim_dma_buf_import_sync_file i = { .flags = flags, .fd = fd };
	return ioctl(buf, DSIM_DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &i) == 0 ? 0 : -errno;
}

static int attach(int card, uint32_t handle, uint32_t flags)
{
	struct dsim_drm_vgem_fence_attach a = { .handle = handle, .flags = flags };
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_ATTACH, &a) == 0, "VGEM_FENCE_ATTACH");
	return (int)a.out_fence;
}

static void signal_fence(int card, int fence)
{
	struct dsim_drm_vgem_fence_signal s = { .fence = (uint32_t)fence };
	check(ioctl(card, DSIM_DRM_IOCTL_VGEM_FENCE_SIGNAL, &s) == 0, "VGEM_FENCE_SIGNAL");
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
	uint32_t h1, h2;
	int b1 = dumb_fd(card, &h1), b2 = dumb_fd(card, &h2);

	/* idle: the export is a signalled sync_file */
	int idle = export_sync(b1, DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_WRITE);
	check(idle >= 0, "EXPORT_SYNC_FILE of an idle buffer");
	check(ready(idle, POLLIN) == POLLIN, "idle sync_file is signalled");

	/* a pending write fence: readers and writers wait for it */
	int wf = attach(card, h1, DSIM_VGEM_FENCE_WRITE);
	int rd = export_sync(b1, DSIM_DMA_BUF_SYNC_READ);
	int wr = export_sync(b1, DSIM_DMA_BUF_SYNC_WRITE);
	check(rd >= 0 && wr >= 0, "EXPORT_SYNC_FILE READ and WRITE");
	check(ready(rd, POLLIN) == 0 && ready(wr, POLLIN) == 0, "exports wait for the write fence");
	check(ready(b1, POLLIN | POLLOUT) == 0, "dma-buf busy for readers and writers");

	/* import the pending sync_file into the second buffer as its write fence */
	check(import_sync(b2, DSIM_DMA_BUF_SYNC_WRITE, rd) == 0, "IMPORT_SYNC_FILE WRITE");
	check(ready(b2, POLLIN | POLLOUT) == 0, "imported write fence makes b2 busy");
	signal_fence(card, wf);
	check(ready(rd, POLLIN) == POLLIN && ready(wr, POLLIN) == POLLIN, "exports signalled");
	check(ready(b2, POLLIN | POLLOUT) == (POLLIN | POLLOUT), "b2 idle once the fence signalled");

	/* a read fence: only a writer's export waits */
	int rf = attach(card, h1, 0);
	int rd2 = export_sync(b1, DSIM_DMA_BUF_SYNC_READ);
	int wr2 = export_sync(b1, DSIM_DMA_BUF_SYNC_WRITE);
	check(ready(rd2, POLLIN) == POLLIN, "a reader does not wait for readers");
	check(ready(wr2, POLLIN) == 0, "a writer waits for readers");
	check(import_sync(b2, DSIM_DMA_BUF_SYNC_READ, wr2) == 0, "IMPORT_SYNC_FILE READ");
	check(ready(b2, POLLIN) == POLLIN && ready(b2, POLLOUT) == 0, "imported read fence blocks writers only");
	signal_fence(card, rf);
	check(ready(wr2, POLLIN) == POLLIN, "writer's export signalled");

	/* what the ioctls refuse */
	check(export_sync(b1, 0) == -EINVAL, "EXPORT without READ or WRITE");
	check(export_sync(b1, 0x10) == -EINVAL, "EXPORT with unknown flags");
	check(import_sync(b1, 0, idle) == -EINVAL, "IMPORT without READ or WRITE");
	check(import_sync(b1, DSIM_DMA_BUF_SYNC_READ | 0x10, idle) == -EINVAL, "IMPORT with unknown flags");
	check(import_sync(b1, DSIM_DMA_BUF_SYNC_READ, b2) == -EINVAL, "IMPORT of a dma-buf fd");
	check(import_sync(b1, DSIM_DMA_BUF_SYNC_READ, 999) == -EINVAL, "IMPORT of a bad fd");

	int fds[] = { idle, rd, wr, rd2, wr2, b1, b2, card };
	for (unsigned k = 0; k < sizeof fds / sizeof fds[0]; k++)
		close(fds[k]);
	printf("sync_file_vgem: %s\n", fails ? "FAILED" : "ok");
	return fails ? 1 : 0;
}
