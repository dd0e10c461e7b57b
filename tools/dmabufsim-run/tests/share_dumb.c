/* Two processes share a vgem dumb buffer through PRIME and SCM_RIGHTS: the parent creates it, exports it and sends
 * the dma-buf fd over a socketpair to its forked child, which maps it and writes a message between
 * DMA_BUF_IOCTL_SYNC START and END; the parent waits for the child, maps the dumb buffer itself and prints what it
 * reads. Run the same way under `dmabufsim run --trace` and `dmabufsim capture --program` (real kernel): the same
 * stdout and, by `dmabufsim diff`, the same trace (issue 15). The order of the two processes' traced calls is fixed
 * by the program (the child's first traced call is the receive; the parent's next ones come after it reaped the
 * child), so the two traces can be compared event by event. Memory accesses are reported to the tracer when it is
 * loaded (dmabufsim_trace_mem_write / _read, found with dlsym). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "dmabufsim_uapi.h"

static void (*note_write)(void *, size_t);
static void (*note_read)(const void *, size_t);

static int send_fd(int sock, int fd)
{
	char byte = 'f';
	struct iovec iov = { &byte, 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	memset(&u, 0, sizeof u);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
	if (recvmsg(sock, &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
	return fd;
}

static int child(int sock)
{
	int buf = recv_fd(sock);
	if (buf < 0) {
		perror("child recvmsg");
		return 1;
	}
	char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED) {
		perror("child mmap");
		return 1;
	}
	struct dsim_dma_buf_sync s = { DSIM_DMA_BUF_SYNC_WRITE } /* START (0) */;
	ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s);
	static const char msg[] = "written by the child through its dma-buf mapping";
	memcpy(p, msg, sizeof msg);
	if (note_write)
		note_write(p, sizeof msg);
	s.flags = DSIM_DMA_BUF_SYNC_END | DSIM_DMA_BUF_SYNC_WRITE;
	ioctl(buf, DSIM_DMA_BUF_IOCTL_SYNC, &s);
	munmap(p, 16384);
	close(buf);
	char done = 'd';
	return write(sock, &done, 1) == 1 ? 0 : 1;
}

int main(void)
{
	note_write = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_write");
	note_read = (void (*)(const void *, size_t))dlsym(RTLD_DEFAULT, "dmabufsim_trace_mem_read");
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0)
		return child(sv[1]);
	close(sv[1]);
	int fd = open("/dev/dri/card0", O_RDWR);
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	if (fd < 0 || ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
		perror("create");
		return 1;
	}
	struct dsim_drm_prime_handle ph = { .handle = c.handle, .flags = DSIM_DRM_RDWR, .fd = -1 };
	if (ioctl(fd, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph)) {
		perror("prime");
		return 1;
	}
	if (send_fd(sv[0], ph.fd)) {
		perror("sendmsg");
		return 1;
	}
	char done = 0;
	if (read(sv[0], &done, 1) != 1)
		return 1;
	int st = 0;
	waitpid(pid, &st, 0);
	close(ph.fd); /* the child's copy kept the dma-buf; now the GEM handle alone holds the buffer */
	struct dsim_drm_mode_map_dumb m = { .handle = c.handle };
	if (ioctl(fd, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m)) {
		perror("map dumb");
		return 1;
	}
	char *p = mmap(NULL, c.size, PROT_READ, MAP_SHARED, fd, (off_t)m.offset);
	if (p == MAP_FAILED) {
		perror("parent mmap");
		return 1;
	}
	if (note_read)
		note_read(p, 64);
	printf("buffer: %ux%u, %u bytes per line, %llu bytes\n", c.width, c.height, c.pitch, (unsigned long long)c.size);
	printf("child exit status: %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	printf("parent reads: %s\n", p);
	munmap(p, c.size);
	struct dsim_drm_gem_close gc = { .handle = c.handle };
	ioctl(fd, DSIM_DRM_IOCTL_GEM_CLOSE, &gc);
	close(fd);
	return 0;
}
