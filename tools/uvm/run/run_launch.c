/* Starting the UVM for `uvm run` (docs/sandbox.md, step 3): `uvm launch`
 * as a child of this binary, so the launch (HOST_DATA, the measurement
 * the test PSP is told, the disks) is exactly what `uvm launch` does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define READY "uvm-init: ready"

/* --snp: the agent is on vsock, at --cid (default 3, as uvm launch's). */
static void agent_address(const struct run_opts *o, const char *work_dir, struct run_vm *vm)
{
	int snp = 0;
	const char *cid = "3";
	for (size_t i = 0; i < o->nlaunch; i++) {
		const char *a = o->launch_args[i];
		if (strcmp(a, "--snp") == 0)
			snp = 1;
		else if (strncmp(a, "--cid=", 6) == 0)
			cid = a + 6;
		else if (strcmp(a, "--cid") == 0 && i + 1 < o->nlaunch)
			cid = o->launch_args[i + 1];
	}
	if (snp)
		snprintf(vm->socket, sizeof vm->socket, "vsock:%s", cid);
	else
		snprintf(vm->socket, sizeof vm->socket, "%s/agent.sock", work_dir);
}

int run_launch_start(const struct run_opts *o, const char *work_dir, const char *policy_path,
		     const struct run_layer *layers, size_t n, struct run_vm *vm, struct uvm_err *err)
{
	static char disks[RUN_MAX_LAYERS + 1][RUN_PATH_MAX + 32];
	char *argv[16 + 2 * (RUN_MAX_LAYERS + 1) + RUN_MAX_LAUNCH_ARGS];
	size_t k = 0;
	memset(vm, 0, sizeof *vm);
	agent_address(o, work_dir, vm);
	if (snprintf(vm->console, sizeof vm->console, "%s/console.log", work_dir) >= (int)sizeof vm->console ||
	    snprintf(vm->scratch, sizeof vm->scratch, "%s/scratch.img", work_dir) >= (int)sizeof vm->scratch)
		return uvm_fail(err, ENAMETOOLONG, "--work-dir path too long");
	int fd = open(vm->scratch, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return uvm_fail(err, errno, "create the scratch disk %s: %s", vm->scratch, strerror(errno));
	if (ftruncate(fd, (off_t)RUN_SCRATCH_BYTES) < 0) {
		int e = errno;
		close(fd);
		return uvm_fail(err, e, "size the scratch disk %s: %s", vm->scratch, strerror(e));
	}
	close(fd);
	argv[k++] = "uvm";
	argv[k++] = "launch";
	argv[k++] = "--policy";
	argv[k++] = (char *)policy_path;
	if (vm->socket[0] == '/') {
		argv[k++] = "--socket";
		argv[k++] = vm->socket;
	}
	for (size_t i = 0; i < n; i++) {
		if (snprintf(disks[i], sizeof disks[i], "layer%zu=%s:ro", i, layers[i].image) >= (int)sizeof disks[i])
			return uvm_fail(err, ENAMETOOLONG, "layer path too long");
		argv[k++] = "--disk";
		argv[k++] = disks[i];
	}
	snprintf(disks[n], sizeof disks[n], "scratch=%s", vm->scratch);
	argv[k++] = "--disk";
	argv[k++] = disks[n];
	for (size_t i = 0; i < o->nlaunch; i++)
		argv[k++] = (char *)o->launch_args[i];
	argv[k] = NULL;
	int out = open(vm->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return uvm_fail(err, errno, "create %s: %s", vm->console, strerror(errno));
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(out);
		return uvm_fail(err, errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Its own process group: a terminal's ^C reaches uvm run, which
		 * shuts the VM down in order; if uvm run dies, so does QEMU. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int in = open("/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv("/proc/self/exe", argv);
		dprintf(2, "uvm run: cannot run /proc/self/exe launch: %s\n", strerror(errno));
		_exit(127);
	}
	close(out);
	vm->pid = pid;
	return 0;
}

int run_launch_exited(struct run_vm *vm)
{
	if (vm->pid <= 0)
		return 1;
	pid_t r = waitpid(vm->pid, &vm->status, WNOHANG);
	if (r == vm->pid || (r < 0 && errno == ECHILD)) {
		vm->pid = 0;
		return 1;
	}
	return 0;
}

void run_launch_tail(const struct run_vm *vm)
{
	char buf[2048];
	int fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof buf - 1 ? end - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof buf - 1, from);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "uvm run: the end of the console (%s):\n%s\n", vm->console, buf);
	}
}

int run_launch_wait_ready(struct run_vm *vm, int timeout_s, struct uvm_err *err)
{
	char buf[4096 + sizeof READY];
	size_t keep = 0;
	off_t pos = 0;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = open(vm->console, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return uvm_fail(err, errno, "open %s: %s", vm->console, strerror(errno));
	for (;;) {
		ssize_t n = pread(fd, buf + keep, 4096, pos);
		if (n > 0) {
			pos += n;
			size_t len = keep + (size_t)n;
			buf[len] = '\0';
			if (memmem(buf, len, READY, sizeof READY - 1)) {
				close(fd);
				return 0;
			}
			keep = len < sizeof READY ? len : sizeof READY;
			memmove(buf, buf + len - keep, keep);
			continue;
		}
		if (run_launch_exited(vm)) {
			close(fd);
			run_launch_tail(vm);
			return uvm_fail(err, ECHILD,
					"uvm launch (QEMU) exited with status 0x%x before the guest was ready",
					vm->status);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > timeout_s) {
			close(fd);
			run_launch_tail(vm);
			return uvm_fail(err, ETIMEDOUT, "the guest did not report ready within %d s (see %s)",
					timeout_s, vm->console);
		}
		struct timespec nap = {0, 100 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
}

void run_launch_stop(struct run_vm *vm, int timeout_s)
{
	for (int i = 0; i < timeout_s * 10 && !run_launch_exited(vm); i++) {
		struct timespec nap = {0, 100 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
	if (!run_launch_exited(vm)) {
		kill(vm->pid, SIGKILL);
		waitpid(vm->pid, &vm->status, 0);
		vm->pid = 0;
	}
}
