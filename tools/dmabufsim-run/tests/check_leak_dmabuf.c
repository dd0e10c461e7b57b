/* --check: a dma-buf fd the program never closes (the GEM handle and the card are closed): exit_files drops the
 * last reference. */
#include "check_common.h"

static int share(int card, unsigned handle)
{
	struct dsim_drm_prime_handle p = { .handle = handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR };
	if (ioctl(card, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)) /* PLANTED */
		fail("PRIME_HANDLE_TO_FD");
	return p.fd;
}

int main(void)
{
	int card = open_card();
	struct dsim_drm_mode_create_dumb c = create_dumb(card);
	int fd = share(card, c.handle);
	destroy_dumb(card, c.handle);
	close(card);
	printf("leaked dma-buf fd %d\n", fd);
	return 0;
}
