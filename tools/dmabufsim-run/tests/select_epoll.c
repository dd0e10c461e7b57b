/* select, pselect and epoll over simulated descriptors (sw_sync fences: sync_files, readable once signaled) mixed
 * with real ones (a pipe), including a wait that another thread ends by signaling the fence. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

/* drivers/dma-buf/sw_sync.c's uAPI */
struct sw_sync_create_fence_data { uint32_t value; char name[32]; int32_t fence; };
#define SW_SYNC_IOC_CREATE_FENCE _IOWR('W', 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW('W', 1, uint32_t)

static int timeline;

static int fence(uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value };
	strcpy(d.name, "f");
	if (ioctl(timeline, SW_SYNC_IOC_CREATE_FENCE, &d))
		return -1;
	return d.fence;
}

static void inc(uint32_t n) { ioctl(timeline, SW_SYNC_IOC_INC, &n); }

static void sel(const char *what, int f, int rfd, int wfd, int ms)
{
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(f, &r);
	FD_SET(f, &w);
	FD_SET(rfd, &r);
	FD_SET(wfd, &w);
	int nfds = (f > rfd ? f : rfd) > wfd ? (f > rfd ? f : rfd) + 1 : wfd + 1;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	int n = select(nfds, &r, &w, NULL, &tv);
	printf("%s: select %d fence r%d w%d pipe r%d w%d\n", what, n, FD_ISSET(f, &r), FD_ISSET(f, &w), FD_ISSET(rfd, &r), FD_ISSET(wfd, &w));
}

static void *signal_later(void *arg)
{
	(void)arg;
	struct timespec t = { 0, 50 * 1000000L };
	nanosleep(&t, NULL);
	inc(1);
	return NULL;
}

int main(void)
{
	timeline = open("/sys/kernel/debug/sync/sw_sync", O_RDWR);
	int p[2];
	pipe(p);
	int f = fence(1);
	printf("timeline %d pipe %d %d fence %d\n", timeline, p[0], p[1], f);

	sel("nothing yet", f, p[0], p[1], 0);
	write(p[1], "x", 1);
	sel("pipe written", f, p[0], p[1], 0);
	inc(1);
	sel("fence signaled", f, p[0], p[1], 0);

	/* pselect with a signal mask, only the fence in the read set */
	fd_set r;
	FD_ZERO(&r);
	FD_SET(f, &r);
	sigset_t mask;
	sigemptyset(&mask);
	struct timespec ts = { 0, 0 };
	printf("pselect: %d fence r%d\n", pselect(f + 1, &r, NULL, NULL, &ts, &mask), FD_ISSET(f, &r));

	/* select on a closed simulated descriptor: EBADF */
	int g = fence(5);
	close(g);
	FD_ZERO(&r);
	FD_SET(g, &r);
	struct timeval tv0 = { 0, 0 };
	int n = select(g + 1, &r, NULL, NULL, &tv0);
	printf("select closed: %d %s\n", n, n < 0 ? strerror(errno) : "");

	/* epoll: a signaled fence, an unsignaled one and the pipe's read end */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int u = fence(2);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 100 };
	printf("epoll_ctl add fence: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, f, &e));
	e.data.u64 = 200;
	printf("epoll_ctl add unsignaled: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, u, &e));
	e.data.u64 = 300;
	printf("epoll_ctl add pipe: %d\n", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
	n = epoll_ctl(ep, EPOLL_CTL_ADD, f, &e);
	printf("epoll_ctl add again: %d %s\n", n, strerror(errno));
	n = epoll_ctl(ep, EPOLL_CTL_DEL, timeline, NULL);
	printf("epoll_ctl del unregistered: %d %s\n", n, strerror(errno));
	n = epoll_ctl(p[0], EPOLL_CTL_ADD, f, &e);
	printf("epoll_ctl on a pipe: %d %s\n", n, strerror(errno));
	struct epoll_event out[8];
	n = epoll_wait(ep, out, 8, 0);
	unsigned long long sum = 0;
	for (int k = 0; k < n; k++)
		sum += out[k].data.u64 + (out[k].events == EPOLLIN ? 1 : 1000);
	printf("epoll_wait: %d (data+1 each: %llu)\n", n, sum);
	n = epoll_wait(ep, out, 1, 0);
	printf("epoll_wait max 1: %d\n", n);
	epoll_ctl(ep, EPOLL_CTL_DEL, f, NULL);
	char c;
	read(p[0], &c, 1);
	n = epoll_wait(ep, out, 8, 0);
	printf("after del and read: %d\n", n);

	/* a thread signals the fence 50 ms into a wait on the fence and the (empty) pipe */
	pthread_t t;
	pthread_create(&t, NULL, signal_later, NULL);
	n = epoll_wait(ep, out, 8, 5000);
	printf("epoll_wait woken: %d data %llu\n", n, n > 0 ? (unsigned long long)out[0].data.u64 : 0ULL);
	pthread_join(t, NULL);
	int v = fence(3);
	pthread_create(&t, NULL, signal_later, NULL);
	FD_ZERO(&r);
	FD_SET(v, &r);
	FD_SET(p[0], &r);
	struct timeval tv5 = { 5, 0 };
	n = select((v > p[0] ? v : p[0]) + 1, &r, NULL, NULL, &tv5);
	printf("select woken: %d fence r%d pipe r%d, time left %s\n", n, FD_ISSET(v, &r), FD_ISSET(p[0], &r),
	       tv5.tv_sec >= 4 && tv5.tv_sec < 5 ? "about 4.95 s" : "wrong");
	pthread_join(t, NULL);
	close(ep);
	return 0;
}
