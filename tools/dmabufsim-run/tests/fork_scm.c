/* Two processes share a dumb buffer: the parent exports it with PRIME and sends the dma-buf fd over a Unix socket
 * with SCM_RIGHTS to a forked child, which writes through its own mapping; the parent reads what the child wrote. */
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "dmabufsim_uapi.h"

static int send_fd(int sock, int fd)
{
	char byte = 'f';
	struct iovec iov = { &byte, 1 };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } u;
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
	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
	return fd;
}

int main(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) {
		perror("socketpair");
		return 1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		int buf = recv_fd(sv[1]);
		char *p = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
		if (p == MAP_FAILED) {
			perror("child mmap");
			return 1;
		}
		strcpy(p, "written by the child");
		munmap(p, 16384);
		close(buf);
		char done = 'd';
		write(sv[1], &done, 1);
		return 0;
	}
	close(sv[1]);
	int fd = open("/dev/dri/card0", O_RDWR);
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	if (fd < 0 || ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c)) {
		perror("create");
		return 1;
	}
	struct dsim_drm_prime_handle ph = { .handle = c.handle, .flags = DSIM_DRM_RDWR };
	if (ioctl(fd, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &ph)) {
		perror("prime");
		return 1;
	}
	if (send_fd(sv[0], ph.fd)) {
		perror("sendmsg");
		return 1;
	}
	close(ph.fd); /* the child's copy keeps the dma-buf */
	char done;
	if (read(sv[0], &done, 1) != 1)
		return 1;
	int st;
	waitpid(pid, &st, 0);
	struct dsim_drm_mode_map_dumb m = { .handle = c.handle };
	ioctl(fd, DSIM_DRM_IOCTL_MODE_MAP_DUMB, &m);
	char *p = mmap(NULL, c.size, PROT_READ, MAP_SHARED, fd, (off_t)m.offset);
	if (p == MAP_FAILED) {
		perror("parent mmap");
		return 1;
	}
	printf("parent reads: %s (child exit %d)\n", p, WEXITSTATUS(st));
	return 0;
}
