/* --check: DMA_BUF_IOCTL_SYNC END without a START (a misuse), and a GEM_CLOSE of a handle that does not exist
 * (-EINVAL on the program's own argument: a note). Everything is released by the program. */
#include "check_common.h"

static void end_access(int buf)
{
	struct dsim_dma_buf_sync s = { .flags = DSIM_DMA_BUF_SYNC_END | DSIM_DMA_BUF_SYNC_READ };
	if (ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s)) /* PLANTED misuse */
		fail("DMA_BUF_IOCTL_SYNC end");
}

static int close_handle(int card, unsigned handle)
{
	struct dsim_drm_gem_close g = { .handle = handle };
	return ioctl(card, DSIM_DRM_IOCTL_GEM_CLOSE, &g); /* PLANTED note */
}

int main(void)
{
	int card = open_card();
	struct dsim_drm_mode_create_dumb c = create_dumb(card);
	int buf = export_fd(card, c.handle);
	end_access(buf);
	int r = close_handle(card, c.handle + 100);
	printf("GEM_CLOSE of handle %u: %d %s\n", c.handle + 100, r, r ? strerror(errno) : "");
	close(buf);
	destroy_dumb(card, c.handle);
	close(card);
	return 0;
}
