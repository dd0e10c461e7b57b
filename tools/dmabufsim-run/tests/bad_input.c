/* Garbage pointers, a double close, half an unmapped mapping, then SIGSEGV in the middle of the program. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "dmabufsim_uapi.h"

int main(int argc, char **argv)
{
	int fd = open("/dev/dri/card0", O_RDWR);
	int r = ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, (void *)16);
	printf("create_dumb(16): %d %s\n", r, strerror(errno));
	struct dsim_drm_version v = { .name_len = 4, .name = (char *)8 };
	r = ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v);
	printf("version(name=8): %d %s\n", r, strerror(errno));
	struct dsim_drm_mode_create_dumb c = { .height = 4, .width = 1024, .bpp = 32 };
	ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c);
	struct dsim_drm_mode_map_dumb m = { .handle = c.handle };
	ioctl(fd, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m);
	char *p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	printf("munmap half: %d\n", munmap(p + 8192, 8192));
	p[0] = 'a';
	int dup_fd = dup(fd);
	printf("dup: %d\n", dup_fd);
	printf("close: %d\n", close(dup_fd));
	r = close(dup_fd);
	printf("close again: %d %s\n", r, strerror(errno));
	r = ioctl(dup_fd, DSIM_DRM_IOCTL_VERSION, &v);
	printf("ioctl on closed: %d %s\n", r, strerror(errno));
	fflush(stdout);
	if (argc > 1 && strcmp(argv[1], "segv") == 0)
		{ volatile int *volatile bad = (int *)8; *bad = 1; }
	return 0;
}
