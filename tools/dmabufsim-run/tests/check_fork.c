/* --check: a child inherits a dma-buf fd (and the card and a mapping) through fork and exits without closing it;
 * the parent still holds everything, then releases it all itself: nothing leaks. */
#include "check_common.h"
#include <sys/wait.h>

int main(void)
{
	int card = open_card();
	struct dsim_drm_mode_create_dumb c = create_dumb(card);
	int buf = export_fd(card, c.handle);
	char *p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	pid_t child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0) {
		strcpy(p, "from the child");
		exit(0); /* fd, mapping and card inherited, left to exit */
	}
	int status = 0;
	waitpid(child, &status, 0);
	printf("parent reads: %s (child exit %d)\n", p, WEXITSTATUS(status));
	munmap(p, c.size);
	close(buf);
	destroy_dumb(card, c.handle);
	close(card);
	return 0;
}
