/* Moves PID 1 off the initramfs, in process, before anything else runs.
 *
 * Why: the initramfs ("rootfs") is the namespace's absolute root and can
 * never be unmounted, so pivot_root refuses it and a container root built
 * on top of it always has the initramfs underneath: a process holding
 * CAP_SYS_CHROOT could climb out to it. After this step "/" is an ordinary
 * tmpfs mount, pivot_root works, and a container's old root is detached
 * completely.
 *
 * How (what switch_root does, without re-exec): copy the initramfs into a
 * fresh tmpfs, empty the initramfs (returns its memory), move the tmpfs onto
 * "/" and chroot into it. PID 1 keeps running from its already mapped,
 * now-deleted executable. */
#include "root_move.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fatal.h"

#define NEW_ROOT "/.uvm-root"
#define PATH_LEN 512

static void copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
	char buf[65536];
	ssize_t n;
	if (in < 0 || out < 0)
		fatal("root move: copying %s: %s", from, strerror(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n)
			fatal("root move: writing %s: %s", to, strerror(errno));
	if (n < 0)
		fatal("root move: reading %s: %s", from, strerror(errno));
	close(in);
	close(out);
}

static void copy_entry(const char *from, const char *to, const struct stat *st);

static void copy_dir(const char *from, const char *to)
{
	DIR *d = opendir(from);
	struct dirent *e;
	if (!d)
		fatal("root move: opendir %s: %s", from, strerror(errno));
	while ((e = readdir(d))) {
		char src[PATH_LEN], dst[PATH_LEN];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (from[1] == '\0' && !strcmp(e->d_name, NEW_ROOT + 1)))
			continue;
		if ((size_t)snprintf(src, sizeof src, "%s/%s", from[1] ? from : "", e->d_name) >= sizeof src ||
		    (size_t)snprintf(dst, sizeof dst, "%s/%s", to, e->d_name) >= sizeof dst)
			fatal("root move: path too long under %s", from);
		if (lstat(src, &st) != 0)
			fatal("root move: lstat %s: %s", src, strerror(errno));
		copy_entry(src, dst, &st);
	}
	closedir(d);
}

static void copy_entry(const char *from, const char *to, const struct stat *st)
{
	char target[PATH_LEN];
	ssize_t n;
	switch (st->st_mode & S_IFMT) {
	case S_IFDIR:
		if (mkdir(to, 0700) != 0)
			fatal("root move: mkdir %s: %s", to, strerror(errno));
		copy_dir(from, to);
		break;
	case S_IFREG: copy_file(from, to, st->st_mode); break;
	case S_IFLNK:
		n = readlink(from, target, sizeof target - 1);
		if (n < 0)
			fatal("root move: readlink %s: %s", from, strerror(errno));
		target[n] = '\0';
		if (symlink(target, to) != 0)
			fatal("root move: symlink %s: %s", to, strerror(errno));
		return; /* no chmod/chown through a link */
	case S_IFCHR:
	case S_IFBLK:
		if (mknod(to, st->st_mode, st->st_rdev) != 0)
			fatal("root move: mknod %s: %s", to, strerror(errno));
		break;
	default: fatal("root move: %s has a type the initramfs should not contain", from);
	}
	/* Exact modes (umask does not apply) and the initrd's owner 0:0. */
	if (chmod(to, st->st_mode & 07777) != 0 || lchown(to, st->st_uid, st->st_gid) != 0)
		fatal("root move: setting mode/owner of %s: %s", to, strerror(errno));
}

/* Deletes everything of the old root except the new root's mount point.
 * Errors are ignored: this only returns memory. */
static void empty_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char p[PATH_LEN];
		struct stat st;
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (path[1] == '\0' && !strcmp(e->d_name, NEW_ROOT + 1)))
			continue;
		snprintf(p, sizeof p, "%s/%s", path[1] ? path : "", e->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			empty_dir(p);
			rmdir(p);
		} else {
			unlink(p);
		}
	}
	closedir(d);
}

void root_move_to_tmpfs(void)
{
	struct stat st;
	if (mkdir(NEW_ROOT, 0755) != 0)
		fatal("root move: mkdir %s: %s", NEW_ROOT, strerror(errno));
	if (mount("tmpfs", NEW_ROOT, "tmpfs", 0, "mode=0755") != 0)
		fatal("root move: mounting a tmpfs on %s: %s (CONFIG_TMPFS?)", NEW_ROOT, strerror(errno));
	copy_dir("/", NEW_ROOT);
	if (lstat("/", &st) == 0)
		chmod(NEW_ROOT, st.st_mode & 07777);
	empty_dir("/");
	if (chdir(NEW_ROOT) != 0 || mount(NEW_ROOT, "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 ||
	    chdir("/") != 0)
		fatal("root move: moving %s onto /: %s", NEW_ROOT, strerror(errno));
}
