/* uvm-init: PID 1 of the utility VM.
 *
 * Order: off the initramfs onto a tmpfs root (root_move.c), early set-up
 * (boot_steps.c), then the enforcement loop (agent/) in
 * this same process, then forever: reap children and serve the host. PID 1
 * never exits; a fatal error logs its reason and powers the VM off
 * (fatal.c). Timestamps on the console ("uvm-init: timestamp NAME SECONDS",
 * CLOCK_BOOTTIME) let the boot benchmark split the boot into phases. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "boot_steps.h"
#include "fatal.h"
#include "log.h"
#include "root_move.h"

#ifdef UVM_TEST_FLAVOUR
#define FLAVOUR "test"
#else
#define FLAVOUR "production"
#endif

/* Signals PID 1 takes through a signalfd instead of handlers: SIGCHLD to
 * reap; the others (e.g. SIGINT from ctrl-alt-del, SIGTERM) are logged and
 * ignored, because only the host's shutdown request may stop the guest. */
static int open_signalfd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPWR);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		fatal("sigprocmask failed: %s", strerror(errno));
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		fatal("signalfd failed: %s", strerror(errno));
	return fd;
}

static void reap_children(struct agent *agent)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		agent_child_exited(agent, pid, status); /* orphans re-parented to PID 1 end here too */
	}
}

static void handle_signals(struct agent *agent, int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			reap_children(agent);
		else
			log_msg("ignoring signal %u from pid %u", si.ssi_signo, si.ssi_pid);
	}
	reap_children(agent); /* SIGCHLDs coalesce: always sweep */
}

static void serve_forever(struct agent *agent, int sfd)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}};
		int timeout = -1;
		agent_pollfd(agent, &p[1], &timeout);
		int n = poll(p, 2, timeout);
		if (n < 0 && errno != EINTR)
			fatal("poll failed: %s", strerror(errno));
		if (n < 0)
			continue;
		if (p[0].revents)
			handle_signals(agent, sfd);
		if (p[1].revents || n == 0) /* n == 0: a timeout the agent asked for */
			agent_handle(agent, p[1].revents);
		if (agent->shutdown_requested)
			power_off("the host requested shutdown");
	}
}

int main(void)
{
	if (getpid() != 1) {
		fprintf(stderr, "uvm-init: must run as PID 1 of the utility VM (it mounts, reaps and powers off)\n");
		return 2;
	}
	root_move_to_tmpfs();
	boot_steps_run();
	log_timestamp("init_start");
	log_msg("flavour %s", FLAVOUR);
	int sfd = open_signalfd();

	static struct agent agent;
	struct uvm_err err = {0};
	if (agent_init(&agent, &err))
		fatal("agent: %s", err.msg);
	log_msg("agent channel %s", agent.ch.desc);
	log_timestamp("agent_ready");
	log_msg("ready");
	serve_forever(&agent, sfd);
}
