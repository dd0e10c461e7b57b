/* Example for dmabufsim-trace: the system DMA-BUF heap (Linux 6.12; Debian's 6.1 has no heaps). Opens
 * /dev/dma_heap/system, allocates a 16 KiB buffer, maps it, writes and reads a string around
 * DMA_BUF_IOCTL_SYNC, polls it, tries the allocations Linux refuses (length 0, a wrapping length, a nonzero fd,
 * unknown fd_flags and heap_flags), allocates an unaligned length (rounded up to a page) and closes everything.
 * Run: DMABUFSIM_TRACE_OUT=out.jsonl LD_PRELOAD=build/libdmabufsim-trace.so build/heap_alloc */
#define _GNU_SOURCE
#include "dmabufsim_uapi.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int fails;

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "heap_alloc: %s failed (errno %d)\n", what, errno);
		fails++;
	}
}

static int alloc(int heap, uint64_t len, uint32_t fd, uint32_t fd_flags, uint64_t heap_flags)
{
	struct dsim_dma_heap_allocation_data a = { .len = len, .fd = fd, .fd_flags = fd_flags, .heap_flags = heap_flags };
	return ioctl(heap, DSIM_DMA_HEAP_IOCTL_ALLOC, &a) == 0 ? (int)a.fd : -errno;
}

int main(void)
{
	void (*note_write)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_write");
	void (*note_read)(const void *, size_t) = (void (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_read");
	int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
	check(heap >= 0, "open /dev/dma_heap/system");
	if (heap < 0)
		return 1;
	int buf = alloc(heap, 16384, 0, O_RDWR | O_CLOEXEC, 0);
	check(buf >= 0, "DMA_HEAP_IOCTL_ALLOC 16 KiB");
	if (buf >= 0) {
		check(lseek(buf, 0, SEEK_END) == 16384, "lseek SEEK_END");
		char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		check(p != MAP_FAILED, "mmap");
		if (p != MAP_FAILED) {
			struct dsim_dma_buf_sync s = { DSIM_DMA_BUF_SYNC_WRITE };
			check(ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC start");
			memcpy(p + 4096, "system heap", 12);
			if (note_write)
				note_write(p + 4096, 12);
			s.flags = DSIM_DMA_BUF_SYNC_WRITE | DSIM_DMA_BUF_SYNC_END;
			check(ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s) == 0, "SYNC end");
			if (note_read)
				note_read(p + 4096, 12);
			check(munmap(p, 16384) == 0, "munmap");
		}
		struct pollfd pf = { .fd = buf, .events = POLLIN | POLLOUT };
		check(poll(&pf, 1, 0) == 1, "poll");
	}
	check(alloc(heap, 0, 0, O_RDWR, 0) == -EINVAL, "length 0 refused");
	check(alloc(heap, 0xfffffffffffff001ull, 0, O_RDWR, 0) == -EINVAL, "wrapping length refused");
	check(alloc(heap, 4096, 5, O_RDWR, 0) == -EINVAL, "nonzero fd refused");
	check(alloc(heap, 4096, 0, O_RDWR | 0x40, 0) == -EINVAL, "fd_flags O_CREAT refused");
	check(alloc(heap, 4096, 0, O_RDWR, 1) == -EINVAL, "heap_flags refused");
	int odd = alloc(heap, 5000, 0, O_RDONLY, 0);
	check(odd >= 0, "unaligned length");
	if (odd >= 0) {
		check(lseek(odd, 0, SEEK_END) == 8192, "rounded up to two pages");
		close(odd);
	}
	if (buf >= 0)
		close(buf);
	close(heap);
	return fails ? 1 : 0;
}
