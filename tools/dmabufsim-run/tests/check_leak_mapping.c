/* --check: a mapping of a dumb buffer the program never unmaps (the handle and the card are closed): exit_mmap
 * tears it down, and with it the buffer's last reference. */
#include "check_common.h"

static char *map_buffer(int card, unsigned handle, unsigned long long size)
{
	struct dsim_drm_mode_map_dumb m = { .handle = handle };
	if (ioctl(card, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m))
		fail("MAP_DUMB");
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, card, (off_t)m.offset); /* PLANTED */
	if (p == MAP_FAILED)
		fail("mmap");
	return p;
}

int main(void)
{
	int card = open_card();
	struct dsim_drm_mode_create_dumb c = create_dumb(card);
	char *p = map_buffer(card, c.handle, c.size);
	strcpy(p, "still mapped");
	destroy_dumb(card, c.handle);
	close(card);
	printf("%s\n", p);
	return 0;
}
