#include "boot_steps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fatal.h"
#include "log.h"

enum step_kind { STEP_MKDIR, STEP_MOUNT, STEP_CONSOLE };

struct boot_step {
	enum step_kind kind;
	const char *path;
	const char *fstype;     /* STEP_MOUNT */
	unsigned long flags;    /* STEP_MOUNT */
	const char *data;       /* STEP_MOUNT options */
	mode_t mode;            /* STEP_MKDIR */
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

void boot_steps_run(void)
{
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct boot_step *s = &steps[i];
		switch (s->kind) {
		case STEP_MKDIR:
			step_mkdir(s);
			break;
		case STEP_MOUNT:
			step_mount(s);
			break;
		case STEP_CONSOLE:
			step_console(s);
			break;
		}
	}
}
