/* --check: a sync_file fd the program never closes (sw_sync's timeline is closed, which signals the fence):
 * exit_files drops the last reference. */
#include "check_common.h"
#include <stdint.h>

struct sw_sync_create_fence_data { uint32_t value; char name[32]; int32_t fence; };
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)

static int fence_at(int timeline, unsigned value)
{
	struct sw_sync_create_fence_data d = { .value = value };
	strcpy(d.name, "check");
	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d)) /* PLANTED */
		fail("SW_SYNC_IOC_CREATE_FENCE");
	return d.fence;
}

int main(void)
{
	int timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR);
	if (timeline < 0)
		fail("open sw_sync");
	int fence = fence_at(timeline, 1);
	close(timeline);
	printf("leaked sync_file fd %d\n", fence);
	return 0;
}
