/*
 * notify-listen PATH: play systemd's side of sd_notify for a test. Binds an
 * AF_UNIX datagram socket at PATH and prints one line per notification,
 * prefixed with the sched_ext state at the moment it arrived, e.g.
 *   state=enabled READY=1 STATUS=Scheduling: ...
 * so a test can check that READY=1 comes only once the scheduler is attached.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void read_state(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/sched_ext/state", "r");

	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "missing");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char msg[4096], state[64];
	int fd;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: notify-listen PATH\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		perror("notify-listen");
		return 1;
	}
	for (;;) {
		ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);

		if (n < 0)
			continue;
		msg[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (msg[i] == '\n')
				msg[i] = ' ';
		read_state(state, sizeof(state));
		printf("state=%s %s\n", state, msg);
		fflush(stdout);
	}
}
