/*
 * sched-ext-run CMD [ARGS...]: run CMD with the SCHED_EXT policy, so that a
 * scheduler attached in partial mode takes it. util-linux's chrt in Debian 12
 * predates SCHED_EXT.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SCHED_EXT_POLICY 7

int main(int argc, char **argv)
{
	const struct sched_param param = {0};

	if (argc < 2) {
		fprintf(stderr, "usage: sched-ext-run CMD [ARGS...]\n");
		return 2;
	}
	if (sched_setscheduler(0, SCHED_EXT_POLICY, &param) != 0) {
		fprintf(stderr, "sched-ext-run: sched_setscheduler(SCHED_EXT): %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[1], argv + 1);
	fprintf(stderr, "sched-ext-run: %s: %s\n", argv[1], strerror(errno));
	return 127;
}
