/* One process: a vgem dumb buffer written through its GEM mapping, exported with PRIME and read back through the
 * dma-buf's own mapping (built with -I tools/dmabufsim-trace for the uAPI structs). */
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include "dmabufsim_uapi.h"

int main(void)
{
	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	char name[16] = { 0 };
	struct dsim_drm_version v = { .name_len = sizeof name - 1, .name = name };
	if (ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v)) {
		perror("DRM_IOCTL_VERSION");
		return 1;
	}
	printf("card0 fd %d driver %s\n", fd, name);
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	if (ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
		perror("CREATE_DUMB");
		return 1;
	}
	printf("dumb handle %u pitch %u size %llu\n", c.handle, c.pitch, (unsigned long long)c.size);
	struct dsim_drm_mode_map_dumb m = { .handle = c.handle };
	if (ioctl(fd, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m)) {
		perror("MAP_DUMB");
		return 1;
	}
	char *gem = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	if (gem == MAP_FAILED) {
		perror("mmap gem");
		return 1;
	}
	strcpy(gem + 4096, "Hello through PRIME");
	struct dsim_drm_prime_handle p = { .handle = c.handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR };
	if (ioctl(fd, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p)) {
		perror("PRIME_HANDLE_TO_FD");
		return 1;
	}
	printf("dma-buf fd %d cloexec %d\n", p.fd, (fcntl(p.fd, F_GETFD) & FD_CLOEXEC) != 0);
	struct dsim_dma_buf_sync s = { .flags = DSIM_DMA_BUF_SYNC_READ };
	if (ioctl(p.fd, DSIM_DMA_BUF_IOCTL_SYNC, &s))
		perror("DMA_BUF_IOCTL_SYNC start");
	char *buf = mmap(NULL, c.size, PROT_READ, MAP_SHARED, p.fd, 0);
	if (buf == MAP_FAILED) {
		perror("mmap dma-buf");
		return 1;
	}
	printf("read through the dma-buf: %s\n", buf + 4096);
	s.flags = DSIM_DMA_BUF_SYNC_READ | DSIM_DMA_BUF_SYNC_END;
	if (ioctl(p.fd, DSIM_DMA_BUF_IOCTL_SYNC, &s))
		perror("DMA_BUF_IOCTL_SYNC end");
	gem[0] = 'X';
	printf("same page: %c, size by lseek %lld\n", buf[0], (long long)lseek(p.fd, 0, SEEK_END));
	munmap(buf, c.size);
	munmap(gem, c.size);
	struct dsim_drm_mode_destroy_dumb d = { .handle = c.handle };
	ioctl(fd, DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	close(p.fd);
	close(fd);
	printf("next fd %d\n", open("/dev/null", O_RDONLY));
	return 0;
}
