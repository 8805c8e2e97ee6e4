/*
 * dbus-hostile: the clients of the system test's hostile checks
 * (tests/vm/system/hostile-checks.sh), calling org.scx.Rustland1 on the
 * system bus with raw sd-bus, as whichever user runs it:
 *
 *   dbus-hostile flood SECONDS CONNECTIONS DEPTH
 *       CONNECTIONS connections each keep DEPTH Release() calls of unknown
 *       cookies in flight for SECONDS, sending a new one for every answer.
 *       Prints "connected=N" once every connection has its first calls
 *       out, then at the end "sent=N no_such_hold=N limit_exceeded=N other=N".
 *   dbus-hostile hold-release PID ROUNDS PAUSE_MS START_FILE
 *       Connects, waits until START_FILE exists ("-": no wait), then ROUNDS
 *       times HoldPid(PID) and Release() of its cookie, PAUSE_MS apart.
 *       Prints the seconds each round took and "max=S"; fails on any error.
 *   dbus-hostile release FIRST COUNT
 *       Release() of the cookies FIRST .. FIRST+COUNT-1 on one connection.
 *       Prints "ok=N no_such_hold=N permission_denied=N limit_exceeded=N other=N".
 *
 * Exit status: 0 done, 1 a call or the bus failed, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#define DEST "org.scx.Rustland1"
#define PATH "/org/scx/Rustland1"
#define IFACE "org.scx.Rustland1"
#define ERROR_PREFIX "org.scx.Rustland1.Error."

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long number(const char *text, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || end == text || v < min) {
		fprintf(stderr, "dbus-hostile: '%s' is not a number >= %ld\n", text, min);
		exit(2);
	}
	return v;
}

static sd_bus *connect_system(void)
{
	sd_bus *bus = NULL;
	int r = sd_bus_open_system(&bus);

	if (r < 0) {
		fprintf(stderr, "dbus-hostile: cannot connect to the system bus: %s\n", strerror(-r));
		exit(1);
	}
	return bus;
}

/* ---- flood ---- */

struct flood {
	int ended;
	uint64_t sent, no_such_hold, limit_exceeded, other;
	uint64_t next_cookie;
};

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

static int send_release(sd_bus *bus, struct flood *f)
{
	/* Cookies nobody holds (the service's are random 64-bit numbers). */
	int r = sd_bus_call_method_async(bus, NULL, DEST, PATH, IFACE, "Release", on_flood_reply, f, "t",
					 f->next_cookie++);
	if (r >= 0)
		f->sent++;
	return r;
}

static int on_flood_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct flood *f = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	(void)ret_error;
	if (e && strcmp(e->name, ERROR_PREFIX "NoSuchHold") == 0)
		f->no_such_hold++;
	else if (e && strcmp(e->name, ERROR_PREFIX "LimitExceeded") == 0)
		f->limit_exceeded++;
	else
		f->other++;
	if (!f->ended)
		send_release(sd_bus_message_get_bus(m), f);
	return 0;
}

static int on_flood_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)usec;
	((struct flood *)userdata)->ended = 1;
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int flood(long seconds, long connections, long depth)
{
	struct flood f = { .next_cookie = 1 };
	sd_event *event = NULL;
	sd_bus **buses = calloc((size_t)connections, sizeof(*buses));
	uint64_t start;
	long i, j;

	if (!buses || sd_event_default(&event) < 0)
		return 1;
	for (i = 0; i < connections; i++) {
		buses[i] = connect_system();
		if (sd_bus_attach_event(buses[i], event, SD_EVENT_PRIORITY_NORMAL) < 0)
			return 1;
		for (j = 0; j < depth; j++)
			if (send_release(buses[i], &f) < 0)
				return 1;
	}
	printf("connected=%ld\n", connections);
	fflush(stdout);
	sd_event_now(event, CLOCK_MONOTONIC, &start);
	if (sd_event_add_time(event, NULL, CLOCK_MONOTONIC, start + (uint64_t)seconds * 1000000u, 0, on_flood_end,
			      &f) < 0)
		return 1;
	sd_event_loop(event);
	printf("sent=%" PRIu64 " no_such_hold=%" PRIu64 " limit_exceeded=%" PRIu64 " other=%" PRIu64 "\n", f.sent,
	       f.no_such_hold, f.limit_exceeded, f.other);
	return 0;
}

/* ---- hold-release ---- */

static int call(sd_bus *bus, const char *what, sd_bus_message **reply, const char *method, const char *types, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL;
	int r = sd_bus_message_new_method_call(bus, &m, DEST, PATH, IFACE, method);
	va_list ap;

	if (r >= 0) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &error, reply);
	sd_bus_message_unref(m);
	if (r < 0)
		fprintf(stderr, "dbus-hostile: %s: %s: %s\n", what, error.name ? error.name : strerror(-r),
			error.message ? error.message : "");
	sd_bus_error_free(&error);
	return r;
}

static int hold_release(long pid, long rounds, long pause_ms, const char *start_file)
{
	sd_bus *bus = connect_system();
	double worst = 0;
	long i;

	while (strcmp(start_file, "-") != 0 && access(start_file, F_OK) != 0)
		sleep_ms(10);
	for (i = 0; i < rounds; i++) {
		sd_bus_message *reply = NULL;
		uint64_t cookie;
		double t0 = now_s(), took;

		if (call(bus, "HoldPid", &reply, "HoldPid", "ussa{sv}", (uint32_t)pid, "org.example.Bystander",
			 "hostile checks", 0) < 0 ||
		    sd_bus_message_read(reply, "t", &cookie) < 0)
			return 1;
		sd_bus_message_unref(reply);
		if (call(bus, "Release", NULL, "Release", "t", cookie) < 0)
			return 1;
		took = now_s() - t0;
		if (took > worst)
			worst = took;
		printf("round %ld: %.3f s\n", i + 1, took);
		fflush(stdout);
		if (i + 1 < rounds)
			sleep_ms(pause_ms);
	}
	printf("max=%.3f\n", worst);
	sd_bus_flush_close_unref(bus);
	return 0;
}

/* ---- release ---- */

static int release(uint64_t first, long count)
{
	sd_bus *bus = connect_system();
	unsigned long ok = 0, no_such_hold = 0, denied = 0, limited = 0, other = 0;
	long i;

	for (i = 0; i < count; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		int r = sd_bus_call_method(bus, DEST, PATH, IFACE, "Release", &error, NULL, "t", first + (uint64_t)i);

		if (r >= 0)
			ok++;
		else if (sd_bus_error_has_name(&error, ERROR_PREFIX "NoSuchHold"))
			no_such_hold++;
		else if (sd_bus_error_has_name(&error, ERROR_PREFIX "PermissionDenied"))
			denied++;
		else if (sd_bus_error_has_name(&error, ERROR_PREFIX "LimitExceeded"))
			limited++;
		else
			other++;
		sd_bus_error_free(&error);
	}
	printf("ok=%lu no_such_hold=%lu permission_denied=%lu limit_exceeded=%lu other=%lu\n", ok, no_such_hold,
	       denied, limited, other);
	sd_bus_flush_close_unref(bus);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return flood(number(argv[2], 1), number(argv[3], 1), number(argv[4], 1));
	if (argc == 6 && strcmp(argv[1], "hold-release") == 0)
		return hold_release(number(argv[2], 1), number(argv[3], 1), number(argv[4], 0), argv[5]);
	if (argc == 4 && strcmp(argv[1], "release") == 0)
		return release((uint64_t)number(argv[2], 0), number(argv[3], 1));
	fprintf(stderr, "usage: dbus-hostile flood SECONDS CONNECTIONS DEPTH\n"
			"       dbus-hostile hold-release PID ROUNDS PAUSE_MS START_FILE\n"
			"       dbus-hostile release FIRST COUNT\n");
	return 2;
}
