/* The round trip of dmabufsim run: N x DRM_IOCTL_VERSION, N x (MODE_CREATE_DUMB + MODE_DESTROY_DUMB) on the
 * simulated vgem, and N x FIONREAD on a real pipe in the same process (the cost of a real ioctl on this machine).
 * Prints the mean per call in microseconds; the median of 5 rounds of N calls each. */
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "dmabufsim_uapi.h"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20000;
	int fd = open("/dev/dri/card0", O_RDWR);
	int p[2];
	if (fd < 0 || pipe(p)) {
		perror("setup");
		return 1;
	}
	double version[5], dumb[5], pipe_us[5];
	for (int round = 0; round < 5; round++) {
		double t0 = now_us();
		for (int i = 0; i < n; i++) {
			struct dsim_drm_version v = { 0 };
			ioctl(fd, DSIM_DRM_IOCTL_VERSION, &v);
		}
		double t1 = now_us();
		for (int i = 0; i < n; i++) {
			struct dsim_drm_mode_create_dumb c = { .height = 16, .width = 16, .bpp = 32 };
			ioctl(fd, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c);
			struct dsim_drm_mode_destroy_dumb d = { .handle = c.handle };
			ioctl(fd, DSIM_DRM_IOCTL_MODE_DESTROY_DUMB, &d);
		}
		double t2 = now_us();
		for (int i = 0; i < n; i++) {
			int avail;
			ioctl(p[0], FIONREAD, &avail);
		}
		double t3 = now_us();
		version[round] = (t1 - t0) / n;
		dumb[round] = (t2 - t1) / n;
		pipe_us[round] = (t3 - t2) / n;
	}
	qsort(version, 5, sizeof(double), cmp);
	qsort(dumb, 5, sizeof(double), cmp);
	qsort(pipe_us, 5, sizeof(double), cmp);
	printf("DRM_IOCTL_VERSION (simulated)                  %8.2f us\n", version[2]);
	printf("MODE_CREATE_DUMB + MODE_DESTROY_DUMB (simulated) %6.2f us\n", dumb[2]);
	printf("FIONREAD on a pipe (real kernel)               %8.2f us\n", pipe_us[2]);
	return 0;
}
