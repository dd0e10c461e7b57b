/* /sys/kernel/debug/dma_buf/bufinfo as a program reads it, at the points where the real-kernel captures took their
 * snapshots (data/traces/linux-6.1-vgem/vgem-prime.jsonl events 4 and 9, vgem-virtio-xdev.jsonl events 9 and 11):
 *   bufinfo prime   vgem: two dumb buffers; snapshot; the first exported with flags 0; snapshot
 *   bufinfo xdev    virtio-gpu and vgem (run with --machine virtio-gpu): a dumb buffer on each, both exported with
 *                   DRM_CLOEXEC | DRM_RDWR; snapshot; the virtio-gpu buffer imported by vgem; snapshot
 * Each snapshot is printed as "### snapshot N" and the file's text, read with open + read as the capture's logger did. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "dmabufsim_uapi.h"

static int snapshot_no;

static void snapshot(void)
{
	static char buf[65536];
	int fd = open("/sys/kernel/debug/dma_buf/bufinfo", O_RDONLY);
	if (fd < 0) {
		perror("open bufinfo");
		exit(1);
	}
	size_t len = 0;
	ssize_t n;
	while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	printf("### snapshot %d\n%.*s", snapshot_no++, (int)len, buf);
}

static uint32_t dumb(int fd)
{
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	if (ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
		perror("CREATE_DUMB");
		exit(1);
	}
	return c.handle;
}

static int export(int fd, uint32_t handle, uint32_t flags)
{
	struct dsim_drm_prime_handle p = { .handle = handle, .flags = flags, .fd = -1 };
	if (ioctl(fd, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)) {
		perror("PRIME_HANDLE_TO_FD");
		exit(1);
	}
	return p.fd;
}

/* The driver name of a DRM file (DRM_IOCTL_VERSION). */
static void driver(int fd, char *name, size_t len)
{
	struct dsim_drm_version v = { .name_len = len - 1, .name = name };
	memset(name, 0, len);
	if (ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v)) {
		perror("VERSION");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "prime";
	if (!strcmp(mode, "prime")) {
		int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
		uint32_t h = dumb(card);
		dumb(card);
		snapshot();
		export(card, h, 0);
		snapshot();
		return 0;
	}
	/* xdev: find which node is which driver (the real guest and the simulated machine number them differently). */
	int vgem = -1, virtio = -1;
	for (int k = 0; k < 2; k++) {
		char path[32], name[64];
		snprintf(path, sizeof path, "/dev/dri/card%d", k);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			perror(path);
			return 1;
		}
		driver(fd, name, sizeof name);
		if (!strcmp(name, "vgem"))
			vgem = fd;
		else if (!strcmp(name, "virtio_gpu"))
			virtio = fd;
	}
	if (vgem < 0 || virtio < 0) {
		fprintf(stderr, "need vgem and virtio_gpu\n");
		return 1;
	}
	uint32_t hv = dumb(virtio);
	uint32_t hg = dumb(vgem);
	int fv = export(virtio, hv, DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR);
	export(vgem, hg, DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR);
	snapshot();
	struct dsim_drm_prime_handle imp = { .fd = fv };
	if (ioctl(vgem, DSIM_DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp)) {
		perror("PRIME_FD_TO_HANDLE");
		return 1;
	}
	snapshot();
	return 0;
}
