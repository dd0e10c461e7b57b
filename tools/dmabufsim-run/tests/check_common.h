/* Helpers of the --check test programs (built with -g -O0 -I tools/dmabufsim-trace). Each program plants one
 * thing for `dmabufsim run --check` to find on the line marked PLANTED. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "dmabufsim_uapi.h"

static inline void fail(const char *what)
{
	perror(what);
	exit(1);
}

static inline int open_card(void)
{
	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail("open /dev/dri/card0");
	return fd;
}

static inline struct dsim_drm_mode_create_dumb create_dumb(int card)
{
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	if (ioctl(card, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c))
		fail("CREATE_DUMB");
	return c;
}

static inline void destroy_dumb(int card, unsigned handle)
{
	struct dsim_drm_mode_destroy_dumb d = { .handle = handle };
	if (ioctl(card, DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, &d))
		fail("DESTROY_DUMB");
}

static inline int export_fd(int card, unsigned handle)
{
	struct dsim_drm_prime_handle p = { .handle = handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR };
	if (ioctl(card, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p))
		fail("PRIME_HANDLE_TO_FD");
	return p.fd;
}
