/* --check: a GEM handle the program never closes (no DESTROY_DUMB, no close of the card): drm_release's handle
 * cleanup at exit drops the last handle. */
#include "check_common.h"

static unsigned make_buffer(int card)
{
	struct dsim_drm_mode_create_dumb c = { .height = 32, .width = 32, .bpp = 32 };
	if (ioctl(card, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c)) /* PLANTED */
		fail("CREATE_DUMB");
	return c.handle;
}

int main(void)
{
	int card = open_card();
	unsigned kept = create_dumb(card).handle;
	destroy_dumb(card, kept);
	printf("leaked handle %u\n", make_buffer(card));
	return 0;
}
