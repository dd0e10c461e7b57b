/* Example for dmabufsim-trace: udmabuf (Linux 6.12; Debian's 6.1 does not build it). A sealable memfd of 64 KiB,
 * sealed against shrinking, becomes a dma-buf of its pages 1..4 (UDMABUF_CREATE) and of two ranges
 * (UDMABUF_CREATE_LIST); a string written through the memfd's mapping is read through the dma-buf's, and back.
 * Then what udmabuf refuses: no F_SEAL_SHRINK, a misaligned offset, a size over size_limit_mb, a list over
 * list_limit, a file that is not shmem (the DRM-less /dev/udmabuf fd itself), and F_SEAL_WRITE while a shared
 * writable mapping exists.
 * Run: DMABUFSIM_TRACE_OUT=out.jsonl LD_PRELOAD=build/libdmabufsim-trace.so build/udmabuf_alias */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "udmabuf_alias: %s failed (errno %d)\n", what, errno);
		fails++;
	}
}

static int create(int dev, int memfd, uint64_t offset, uint64_t size)
{
	struct dsim_udmabuf_create c = { .memfd = (uint32_t)memfd, .flags = DSIM_UDMABUF_FLAGS_CLOEXEC, .offset = offset, .size = size };
	int r = ioctl(dev, DSIM_UDMABUF_CREATE, &c);
	return r < 0 ? -errno : r;
}

int main(void)
{
	void (*note_write)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_write");
	void (*note_read)(const void *, size_t) = (void (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_read");
	int dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	check(dev >= 0, "open /dev/udmabuf");
	if (dev < 0)
		return 1;
	int memfd = memfd_create("udmabuf-example", MFD_ALLOW_SEALING | MFD_CLOEXEC);
	check(memfd >= 0, "memfd_create");
	check(ftruncate(memfd, 65536) == 0, "ftruncate 64 KiB");
	check(create(dev, memfd, 0, 4096) == -EINVAL, "no F_SEAL_SHRINK refused");
	check(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "F_SEAL_SHRINK");
	check(fcntl(memfd, F_GET_SEALS) == F_SEAL_SHRINK, "F_GET_SEALS");
	int buf = create(dev, memfd, 4096, 4 * 4096);
	check(buf >= 0, "UDMABUF_CREATE pages 1..4");
	check(create(dev, memfd, 100, 4096) == -EINVAL, "misaligned offset refused");
	check(create(dev, memfd, 0, (64ull << 20) + 4096) == -EINVAL, "over size_limit_mb refused");
	check(create(dev, dev, 0, 4096) == -EBADFD, "a file that is not shmem refused");
	char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	check(m != MAP_FAILED, "mmap memfd");
	if (buf >= 0 && m != MAP_FAILED) {
		char *b = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		check(b != MAP_FAILED, "mmap udmabuf");
		if (b != MAP_FAILED) {
			memcpy(m + 4096 + 8, "through the memfd", 18);
			if (note_write)
				note_write(m + 4096 + 8, 18);
			if (note_read)
				note_read(b + 8, 18);
			struct dsim_dma_buf_sync s = { DSIM_DMA_BUF_SYNC_WRITE };
			check(ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC start");
			memcpy(b + 3 * 4096, "through the dma-buf", 20);
			if (note_write)
				note_write(b + 3 * 4096, 20);
			s.flags = DSIM_DMA_BUF_SYNC_WRITE | DSIM_DMA_BUF_SYNC_END;
			check(ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC end");
			if (note_read)
				note_read(m + 4 * 4096, 20);
			munmap(b, 4 * 4096);
		}
		check(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EBUSY, "F_SEAL_WRITE while mapped refused");
		munmap(m, 65536);
	}
	static unsigned char list[DSIM_UDMABUF_LIST_HEAD + 2 * sizeof(struct dsim_udmabuf_create_item)];
	uint32_t head[2] = { DSIM_UDMABUF_FLAGS_CLOEXEC, 2 };
	struct dsim_udmabuf_create_item items[2] = {
		{ .memfd = (uint32_t)memfd, .offset = 0, .size = 8192 },
		{ .memfd = (uint32_t)memfd, .offset = 32768, .size = 4096 },
	};
	memcpy(list, head, sizeof head);
	memcpy(list + DSIM_UDMABUF_LIST_HEAD, items, sizeof items);
	int lbuf = ioctl(dev, DSIM_UDMABUF_CREATE_LIST, list);
	check(lbuf >= 0, "UDMABUF_CREATE_LIST");
	if (lbuf >= 0)
		check(lseek(lbuf, 0, SEEK_END) == 12288, "list buffer is 3 pages");
	head[1] = 1025;
	memcpy(list, head, sizeof head);
	check(ioctl(dev, DSIM_UDMABUF_CREATE_LIST, list) == -1 && errno == EINVAL, "over list_limit refused");
	if (lbuf >= 0)
		close(lbuf);
	if (buf >= 0)
		close(buf);
	close(memfd);
	close(dev);
	return fails ? 1 : 0;
}
