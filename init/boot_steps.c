#include "boot_steps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fatal.h"
#include "file_util.h"
#include "log.h"

enum step_kind { STEP_MKDIR, STEP_MOUNT, STEP_CONSOLE, STEP_WRITE, STEP_WRITE_IF_PRESENT, STEP_PRCTL };

struct boot_step {
	enum step_kind kind;
	const char *path;
	const char *fstype;  /* STEP_MOUNT */
	unsigned long flags; /* STEP_MOUNT */
	const char *data;    /* STEP_MOUNT options; STEP_WRITE* the text written */
	mode_t mode;         /* STEP_MKDIR */
};

#define NOSUID_NODEV_NOEXEC (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static const struct boot_step steps[] = {
	{STEP_MKDIR, "/dev", NULL, 0, NULL, 0755},
	{STEP_MOUNT, "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755", 0},
	{STEP_CONSOLE, "/dev/console", NULL, 0, NULL, 0},
	{STEP_MKDIR, "/proc", NULL, 0, NULL, 0555},
	{STEP_MOUNT, "/proc", "proc", NOSUID_NODEV_NOEXEC, NULL, 0},
	{STEP_MKDIR, "/sys", NULL, 0, NULL, 0555},
	{STEP_MOUNT, "/sys", "sysfs", NOSUID_NODEV_NOEXEC, NULL, 0},
	{STEP_MOUNT, "/sys/kernel/config", "configfs", NOSUID_NODEV_NOEXEC, NULL, 0},
	{STEP_MOUNT, "/sys/fs/cgroup", "cgroup2", NOSUID_NODEV_NOEXEC, "nsdelegate", 0},
	{STEP_MKDIR, "/run", NULL, 0, NULL, 0755},
	{STEP_MOUNT, "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64m", 0},
	{STEP_MKDIR, "/run/uvm", NULL, 0, NULL, 0700},
	{STEP_MKDIR, "/run/layers", NULL, 0, NULL, 0700},
	{STEP_MKDIR, "/run/containers", NULL, 0, NULL, 0700},
	{STEP_MKDIR, "/run/scratch", NULL, 0, NULL, 0700},
	{STEP_MKDIR, "/tmp", NULL, 0, NULL, 01777},
	{STEP_MOUNT, "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m", 0},
	/* PID 1 itself: never dumpable (its children inherit that until their
	 * execve, so no workload can ptrace or pidfd_getfd a child that still
	 * holds PID 1's memory), and the OOM killer's last choice. */
	{STEP_PRCTL, "PR_SET_DUMPABLE 0", NULL, 0, NULL, 0},
	{STEP_WRITE, "/proc/self/oom_score_adj", NULL, 0, "-1000", 0},
	/* VM-wide kernel settings belong to PID 1 (containers see /proc/sys
	 * read-only, docs/runtime.md "Kernel settings"). */
	{STEP_WRITE, "/proc/sys/kernel/dmesg_restrict", NULL, 0, "1", 0},
	{STEP_WRITE, "/proc/sys/kernel/kptr_restrict", NULL, 0, "2", 0},
	{STEP_WRITE, "/proc/sys/fs/suid_dumpable", NULL, 0, "0", 0},
	{STEP_WRITE, "/proc/sys/fs/protected_symlinks", NULL, 0, "1", 0},
	{STEP_WRITE, "/proc/sys/fs/protected_hardlinks", NULL, 0, "1", 0},
	{STEP_WRITE, "/proc/sys/fs/protected_fifos", NULL, 0, "2", 0},
	{STEP_WRITE, "/proc/sys/fs/protected_regular", NULL, 0, "2", 0},
	{STEP_WRITE, "/proc/sys/vm/panic_on_oom", NULL, 0, "0", 0},
	{STEP_WRITE, "/proc/sys/vm/overcommit_memory", NULL, 0, "0", 0},
	{STEP_WRITE, "/proc/sys/kernel/randomize_va_space", NULL, 0, "2", 0},
	/* Only where the kernel has the feature (the UVM's may not). */
	{STEP_WRITE_IF_PRESENT, "/proc/sys/kernel/perf_event_paranoid", NULL, 0, "3", 0},
	{STEP_WRITE_IF_PRESENT, "/proc/sys/kernel/unprivileged_bpf_disabled", NULL, 0, "2", 0},
	{STEP_WRITE_IF_PRESENT, "/proc/sys/kernel/sysrq", NULL, 0, "0", 0},
	{STEP_WRITE_IF_PRESENT, "/proc/sys/kernel/kexec_load_disabled", NULL, 0, "1", 0},
	{STEP_WRITE_IF_PRESENT, "/proc/sys/vm/unprivileged_userfaultfd", NULL, 0, "0", 0},
};

static void step_mkdir(const struct boot_step *s)
{
	if (mkdir(s->path, s->mode) != 0 && errno != EEXIST)
		fatal("boot step mkdir %s failed: %s", s->path, strerror(errno));
}

static void step_mount(const struct boot_step *s)
{
	if (mount(s->fstype, s->path, s->fstype, s->flags, s->data) != 0)
		fatal("boot step mount %s on %s failed: %s (is it built into the kernel? see kernel-config/)",
		      s->fstype, s->path, strerror(errno));
}

/* The kernel gives PID 1 /dev/console if the initrd has the node; make sure
 * stdio is the console in any case, so logs reach the host's serial log. */
static void step_console(const struct boot_step *s)
{
	int fd = open(s->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fatal("boot step open %s failed: %s", s->path, strerror(errno));
	for (int target = 0; target <= 2; target++)
		if (dup2(fd, target) < 0)
			fatal("boot step dup2 console to fd %d failed: %s", target, strerror(errno));
	close(fd);
	log_open();
}

/* Writes s->data to a /proc file (a sysctl, oom_score_adj). A setting the
 * kernel refuses stops the boot: running with a weaker setting than the
 * image promises would be a silent downgrade. */
static void step_write(const struct boot_step *s)
{
	struct uvm_err err;
	if (file_write_text(s->path, s->data, &err) == 0)
		return;
	if (err.code == ENOENT && s->kind == STEP_WRITE_IF_PRESENT)
		return;
	fatal("boot step: %s", err.msg);
}

static void step_prctl(const struct boot_step *s)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatal("boot step %s failed: %s", s->path, strerror(errno));
}

void boot_steps_run(void)
{
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct boot_step *s = &steps[i];
		switch (s->kind) {
		case STEP_MKDIR: step_mkdir(s); break;
		case STEP_MOUNT: step_mount(s); break;
		case STEP_CONSOLE: step_console(s); break;
		case STEP_WRITE:
		case STEP_WRITE_IF_PRESENT: step_write(s); break;
		case STEP_PRCTL: step_prctl(s); break;
		}
	}
}
