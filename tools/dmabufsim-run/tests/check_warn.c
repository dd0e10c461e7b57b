/* --check: a WARN the kernel prints for a legal call. With udmabuf's size_limit_mb raised to 4096 (a module
 * parameter root may set), UDMABUF_CREATE of 4 GiB passes udmabuf_create's limit check, and 6.1's
 * kmalloc_array(pagecount, sizeof(struct page *)) of its 1 Mi page pointers (8 MiB, above KMALLOC_MAX_SIZE) reaches
 * __alloc_pages with order >= MAX_ORDER: WARN_ON_ONCE_GFP, then -ENOMEM. Run with
 * --machine "udmabuf udmabuf.size_limit_mb=4096". The memfd is the program's own and released by it. */
#define _GNU_SOURCE
#include "check_common.h"

static int create(int dev, int memfd)
{
	struct dsim_udmabuf_create c = { .memfd = (uint32_t)memfd, .offset = 0, .size = 4ull << 30 };
	return ioctl(dev, DSIM_UDMABUF_CREATE, &c); /* PLANTED warning */
}

int main(void)
{
	int memfd = memfd_create("check_warn", MFD_ALLOW_SEALING);
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (memfd < 0 || dev < 0)
		fail("memfd_create or open /dev/udmabuf");
	int r = create(dev, memfd);
	printf("UDMABUF_CREATE of 4 GiB: %d %s\n", r, r < 0 ? strerror(errno) : "");
	close(dev);
	close(memfd);
	return 0;
}
