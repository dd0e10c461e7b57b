/* Malformed messages on the channel of `dmabufsim run`: the program opens extra connections of its own to the host
 * (DMABUFSIM_RUN_SOCK) beside the preload's, and on each breaks the protocol one way: a channel descriptor that is
 * not one, a packet shorter than a header, a payload over the limit, a packet longer than the region, too many
 * return addresses, a poll whose payload is not whole (fd, events) pairs, a callback reply nobody asked for. Each
 * must end that connection's session only (the host closes it); a wild pointer in an ioctl is -EFAULT and the
 * session goes on; the program's own calls keep working throughout. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "dmabufsim_uapi.h"
#include "../dmabufsim_run_proto.h"

struct conn {
	int sock;
	unsigned char *map;
};

static struct conn open_conn(int attach_fd_of_chan)
{
	struct conn c = { -1, NULL };
	c.sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strncpy(a.sun_path, getenv("DMABUFSIM_RUN_SOCK"), sizeof a.sun_path - 1);
	if (c.sock < 0 || connect(c.sock, (struct sockaddr *)&a, sizeof a)) {
		perror("connect");
		exit(1);
	}
	int m = memfd_create("dmabufsim-chan", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0 || ftruncate(m, 2L * RUN_CHAN_REGION) || fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)) {
		perror("channel");
		exit(1);
	}
	c.map = mmap(NULL, 2L * RUN_CHAN_REGION, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	struct run_req at = { .op = RUN_ATTACH };
	at.a[0] = attach_fd_of_chan ? m : 0; /* 0: stdin, not a channel */
	at.a[1] = RUN_CHAN_REGION;
	if (write(c.sock, &at, sizeof at) != sizeof at) {
		perror("attach");
		exit(1);
	}
	return c;
}

/* Posts len bytes already written at the request region's data; then waits for a reply (1) or the end of the
 * session (0), whichever comes first. */
static int post(struct conn *c, uint32_t len)
{
	uint32_t *seq = (uint32_t *)(c->map + RUN_CHAN_SEQ);
	uint32_t *rseq = (uint32_t *)(c->map + RUN_CHAN_REGION + RUN_CHAN_SEQ);
	uint32_t last = __atomic_load_n(rseq, __ATOMIC_ACQUIRE);
	*(uint32_t *)(c->map + RUN_CHAN_LEN) = len;
	__atomic_store_n(seq, *seq + 1, __ATOMIC_SEQ_CST);
	char b = 0;
	send(c->sock, &b, 1, MSG_NOSIGNAL); /* a wake-up, in case the host sleeps */
	for (int k = 0; k < 60000; k++) {
		if (__atomic_load_n(rseq, __ATOMIC_ACQUIRE) != last)
			return 1;
		struct pollfd p = { c->sock, POLLIN, 0 };
		if (poll(&p, 1, 1) == 1) {
			char sink[64];
			if (recv(c->sock, sink, sizeof sink, MSG_DONTWAIT) == 0)
				return 0;
		}
	}
	return -1;
}

static unsigned char *data(struct conn *c) { return c->map + RUN_CHAN_DATA; }

static struct run_rep *reply(struct conn *c) { return (struct run_rep *)(c->map + RUN_CHAN_REGION + RUN_CHAN_DATA); }

static void put(struct conn *c, size_t at, uint32_t op, uint32_t len, int64_t a0, int64_t a1, int64_t a2)
{
	struct run_req q = { .op = op, .len = len };
	q.a[0] = a0;
	q.a[1] = a1;
	q.a[2] = a2;
	memcpy(data(c) + at, &q, sizeof q);
}

/* HELLO as a new thread of this process (kind 2): the connection is bound, the session goes on. */
static int hello(struct conn *c)
{
	put(c, 0, RUN_HELLO, 0, 2, 0, 0);
	return post(c, sizeof(struct run_req)) == 1 && reply(c)->ret == 0;
}

static void close_conn(struct conn *c)
{
	munmap(c->map, 2L * RUN_CHAN_REGION);
	close(c->sock);
}

static const char *outcome(int r) { return r == 0 ? "session ended" : r == 1 ? "answered" : "no answer"; }

static int card_version(int card)
{
	struct dsim_drm_version v = { 0 };
	return ioctl(card, DSIM_DRM_IOCTL_VERSION, &v);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	if (card < 0) {
		perror("open /dev/dri/card0");
		return 1;
	}
	struct conn c;

	/* RUN_ATTACH naming stdin: no session at all */
	c = open_conn(0);
	char sink[8];
	printf("attach of a non-channel: %s\n", read(c.sock, sink, sizeof sink) == 0 ? "session ended" : "still open");
	close_conn(&c);

	c = open_conn(1);
	memset(data(&c), 0, 10);
	printf("short packet: %s\n", outcome(post(&c, 10)));
	close_conn(&c);

	c = open_conn(1);
	put(&c, 0, RUN_WRITE, RUN_MAX_PAYLOAD + 1, 3, 0, 0);
	printf("oversized payload length: %s\n", outcome(post(&c, sizeof(struct run_req))));
	close_conn(&c);

	c = open_conn(1);
	put(&c, 0, RUN_CLOSE, 0, 3, 0, 0);
	printf("packet longer than its region: %s\n", outcome(post(&c, RUN_CHAN_REGION)));
	close_conn(&c);

	c = open_conn(1);
	put(&c, 0, RUN_ORIGIN, 8 * (RUN_MAX_FRAMES + 1), 0, 0, 0);
	put(&c, sizeof(struct run_req) + 8 * (RUN_MAX_FRAMES + 1), RUN_CLOSE, 0, 99, 0, 0);
	printf("origin of %d frames: %s\n", RUN_MAX_FRAMES + 1, outcome(post(&c, 2 * sizeof(struct run_req) + 8 * (RUN_MAX_FRAMES + 1))));
	close_conn(&c);

	c = open_conn(1);
	printf("hello: %d\n", hello(&c));
	put(&c, 0, RUN_POLL, 12, 0, 0, 0);
	memset(data(&c) + sizeof(struct run_req), 0, 12);
	printf("poll of 1.5 descriptors: %s\n", outcome(post(&c, sizeof(struct run_req) + 12)));
	close_conn(&c);

	c = open_conn(1);
	printf("hello: %d\n", hello(&c));
	put(&c, 0, RUN_CB_REPLY, 0, 5, 0, 0);
	printf("callback reply outside a callback: %s\n", outcome(post(&c, sizeof(struct run_req))));
	close_conn(&c);

	/* a wild pointer is the program's own business: -EFAULT, as from Linux, and the session goes on */
	c = open_conn(1);
	printf("hello: %d\n", hello(&c));
	put(&c, 0, RUN_IOCTL, 0, card, (int64_t)(uint32_t)DSIM_DRM_IOCTL_VERSION, 0x7fffdead0000LL);
	int r = post(&c, sizeof(struct run_req));
	printf("wild pointer: %s, ret %lld\n", outcome(r), r == 1 ? (long long)reply(&c)->ret : 0LL);
	put(&c, 0, RUN_CLOSE, 0, 1000, 0, 0);
	r = post(&c, sizeof(struct run_req));
	printf("then close(1000): %s, ret %lld\n", outcome(r), r == 1 ? (long long)reply(&c)->ret : 0LL);
	close_conn(&c);

	printf("the program's own DRM_IOCTL_VERSION: %d\n", card_version(card));
	close(card);
	return 0;
}
