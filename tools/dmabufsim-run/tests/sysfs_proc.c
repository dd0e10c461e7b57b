/* What libdrm and ordinary programs read about the machine, printed as read: sysfs links (readlink, readlinkat,
 * realpath), attributes (fopen+fgets, open+read), stat/lstat, opendir of a sysfs directory, a path the machine does
 * not own (passed to the real system), and /proc/self/fdinfo of a DRM file and of a dma-buf. Run with
 * --machine virtio-gpu: vgem is card0, virtio-gpu card1 (PCI 0000:00:03.0). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dmabufsim_uapi.h"

static void link_of(const char *p)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof buf);
	if (n < 0)
		printf("readlink %s: %s\n", p, strerror(errno));
	else
		printf("readlink %s: %.*s\n", p, (int)n, buf);
}

static void cat_fopen(const char *p)
{
	FILE *f = fopen(p, "r");
	if (!f) {
		printf("fopen %s: %s\n", p, strerror(errno));
		return;
	}
	char line[512];
	printf("fopen %s:\n", p);
	while (fgets(line, sizeof line, f))
		printf("  %s", line);
	fclose(f);
}

static void cat_fd(int fd)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	int f = open(path, O_RDONLY);
	ssize_t n = f < 0 ? -1 : read(f, buf, sizeof buf - 1);
	if (n < 0) {
		printf("%s: %s\n", path, strerror(errno));
		return;
	}
	buf[n] = 0;
	close(f);
	struct stat st;
	fstat(fd, &st);
	printf("fdinfo of fd %d (fstat ino %lu):\n%s", fd, (unsigned long)st.st_ino, buf);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void)
{
	link_of("/sys/dev/char/226:0");
	link_of("/sys/dev/char/226:1");
	link_of("/sys/dev/char/226:129");
	char l[PATH_MAX];
	ssize_t n = readlinkat(AT_FDCWD, "/sys/class/drm/card1/device", l, sizeof l);
	printf("readlinkat device: %.*s\n", n < 0 ? 0 : (int)n, l);
	link_of("/sys/class/drm/card1/dev");
	link_of("/sys/class/drm/card9");
	char *r = realpath("/sys/dev/char/226:1/device", NULL);
	printf("realpath 226:1/device: %s\n", r ? r : strerror(errno));
	free(r);
	r = realpath("/sys/dev/char/226:0/device/subsystem", NULL);
	printf("realpath 226:0/device/subsystem: %s\n", r ? r : strerror(errno));
	free(r);
	cat_fopen("/sys/dev/char/226:1/device/uevent");
	cat_fopen("/sys/class/drm/card0/device/uevent");
	int fd = open("/sys/class/drm/card1/dev", O_RDONLY);
	char buf[64] = { 0 };
	n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	printf("open+read card1/dev: %zd %s", n, buf);
	close(fd);
	struct stat st;
	int e = stat("/sys/class/drm/card1/uevent", &st);
	printf("stat card1/uevent: %d mode %o size %lld\n", e, st.st_mode, (long long)st.st_size);
	e = lstat("/sys/class/drm/card1", &st);
	printf("lstat class/drm/card1: %d mode %o\n", e, st.st_mode);
	e = stat("/sys/class/drm/card1", &st);
	printf("stat class/drm/card1: %d mode %o\n", e, st.st_mode);
	e = stat("/sys/class/drm/card9", &st);
	printf("stat class/drm/card9: %d %s\n", e, e ? strerror(errno) : "");
	DIR *d = opendir("/sys/class/drm/card0");
	char *names[64];
	int k = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) && k < 64)
		names[k++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, (size_t)k, sizeof *names, cmp);
	printf("opendir class/drm/card0:");
	for (int j = 0; j < k; j++) {
		printf(" %s", names[j]);
		free(names[j]);
	}
	printf("\n");
	/* not the machine's: the real system answers */
	cat_fopen("/sys/devices/system/cpu/online");

	int card = open("/dev/dri/card0", O_RDWR);
	cat_fd(card);
	struct dsim_drm_mode_create_dumb c = { .height = 64, .width = 64, .bpp = 32 };
	ioctl(card, DSIM_DRM_IOCTL_MODE_CREATE_DUMB, &c);
	struct dsim_drm_prime_handle p = { .handle = c.handle, .flags = DSIM_DRM_CLOEXEC | DSIM_DRM_RDWR, .fd = -1 };
	ioctl(card, DSIM_DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	cat_fd(p.fd);
	char self[64];
	snprintf(self, sizeof self, "/proc/%d/fdinfo/%d", (int)getpid(), p.fd);
	FILE *f = fopen(self, "r");
	printf("fopen /proc/PID/fdinfo: %s\n", f && fgets(buf, sizeof buf, f) ? buf : strerror(errno));
	if (f)
		fclose(f);
	return 0;
}
