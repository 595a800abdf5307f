/* Unit tests of lib/seccomp_profile.h: the syscall table, spec checks, the
 * built program read by a small classic-BPF interpreter (every syscall
 * number, argument edge cases), and the real thing: children install the
 * filter (after no_new_privs, so no privilege is needed) and report what
 * their system calls returned through a pipe. */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "seccomp_profile.h"

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RET_EPERM (SECCOMP_RET_ERRNO | EPERM)
#define RET_ENOSYS (SECCOMP_RET_ERRNO | ENOSYS)
#define BAD_PROGRAM 0xdeadbeefU

static const struct seccomp_profile_spec default_spec = {0, NULL, 0, NULL, 0};
static const struct seccomp_profile_spec unconfined_spec = {1, NULL, 0, NULL, 0};

/* ------------------------------------------------------------ table */

static void test_table(void)
{
	static const struct {
		const char *name;
		int nr;
	} known[] = {
		{"read", 0},
		{"write", 1},
		{"clone", 56},
		{"personality", 135},
		{"_sysctl", 156},
		{"keyctl", 250},
		{"bpf", 321},
		{"uretprobe", 335},
		{"io_uring_setup", 425},
		{"clone3", 435},
		{"set_mempolicy_home_node", 450},
		{"mseal", 462},
		{"getpid", SYS_getpid},
		{"socket", SYS_socket},
		{"mount", SYS_mount},
		{"openat2", SYS_openat2},
	};
	for (size_t i = 0; i < ARRAY_LEN(known); i++) {
		CHECK_EQ_INT(seccomp_syscall_number(known[i].name), known[i].nr, "number of %s", known[i].name);
		CHECK_EQ_STR(seccomp_syscall_name(known[i].nr), known[i].name, "name of %d", known[i].nr);
	}
	static const char *const unknown[] = {"",         "nosuch",   "KEYCTL", "keyctl ", " keyctl", "keyct",
					      "x32_read", "sys_read", "umount", "stime",   "mmap2"};
	for (size_t i = 0; i < ARRAY_LEN(unknown); i++)
		CHECK_EQ_INT(seccomp_syscall_number(unknown[i]), -1, "\"%s\" is not an x86-64 syscall", unknown[i]);
	CHECK_EQ_INT(seccomp_syscall_number(NULL), -1, "NULL name");
	CHECK(seccomp_syscall_name(-1) == NULL && seccomp_syscall_name(336) == NULL &&
		      seccomp_syscall_name(423) == NULL && seccomp_syscall_name(463) == NULL &&
		      seccomp_syscall_name(512) == NULL && seccomp_syscall_name(0x40000000) == NULL,
	      "no names for -1, the 336..423 gap, 463, x32 512, 0x40000000");

	/* every name maps back to its number; none twice; 0..335 and 424..462 */
	int count = 0, roundtrip = 1, dense = 1;
	for (int nr = 0; nr < 1024; nr++) {
		const char *n = seccomp_syscall_name(nr);
		if (n && seccomp_syscall_number(n) != nr) {
			roundtrip = 0;
			printf("#   %d -> %s -> %d\n", nr, n, seccomp_syscall_number(n));
		}
		if (!!n != ((nr <= 335) || (nr >= 424 && nr <= 462)))
			dense = 0;
		count += !!n;
	}
	CHECK(roundtrip, "every name maps back to its number");
	CHECK(dense, "names for exactly 0..335 and 424..462");
	CHECK_EQ_INT(count, 375, "375 x86-64 syscalls in the table (linux 6.12)");
}

/* ------------------------------------------------------------ spec checks */

struct reject_case {
	struct seccomp_profile_spec spec;
	const char *why;
};

static void test_spec_check(void)
{
	static const char *const keyctl[] = {"keyctl"};
	static const char *const unknown[] = {"read", "nosuch"};
	static const char *const twice[] = {"getcwd", "read", "getcwd"};
	static const char *const with_null[] = {"read", NULL};
	static const char *const nasty[] = {
		"\x01\x1b[31mred\nline\xff"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
	const struct reject_case cases[] = {
		{{0, unknown, 2, NULL, 0}, "\"allow\"[1]: \"nosuch\" is not an x86-64 system call name"},
		{{0, NULL, 0, unknown, 2}, "\"deny\"[1]: \"nosuch\""},
		{{0, NULL, 0, twice, 3}, "\"deny\"[2]: \"getcwd\" is listed twice"},
		{{0, twice, 3, NULL, 0}, "\"allow\"[2]: \"getcwd\" is listed twice"},
		{{0, keyctl, 1, keyctl, 1}, "\"deny\"[0]: \"keyctl\" is in both \"allow\" and \"deny\""},
		{{1, keyctl, 1, NULL, 0}, "\"unconfined\" takes no \"allow\"/\"deny\" names (got 1 and 0)"},
		{{1, NULL, 0, keyctl, 1}, "(got 0 and 1)"},
		{{0, with_null, 2, NULL, 0}, "\"allow\"[1] is null"},
		{{0, NULL, 3, NULL, 0}, "\"allow\" claims 3 names but has no array"},
		{{0, keyctl, SECCOMP_MAX_NAMES + 1, NULL, 0}, "lists 513 names, at most 512"},
		{{0, nasty, 1, NULL, 0}, "\"??[31mred?line?aaaa"},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct uvm_err err = {0, ""};
		int rc = seccomp_spec_check(&cases[i].spec, &err);
		CHECK(rc == -1 && strstr(err.msg, cases[i].why), "spec %zu rejected: %s", i, cases[i].why);
		if (rc != -1 || !strstr(err.msg, cases[i].why))
			printf("#   message: %s\n", err.msg);
		int printable = 1;
		for (const char *p = err.msg; *p; p++)
			printable &= *p >= 0x20 && *p < 0x7f;
		CHECK(printable, "spec %zu: the message is printable ASCII", i);
		size_t n = 99;
		struct sock_filter prog[8];
		CHECK(seccomp_build(&cases[i].spec, prog, ARRAY_LEN(prog), &n, &err) == -1 && n == 0,
		      "spec %zu: build refuses it too", i);
	}
	CHECK(seccomp_spec_check(NULL, NULL) == -1, "no spec, no err: -1 without crashing");

	static const char *const allow[] = {"keyctl", "clone3", "socket"};
	static const char *const deny[] = {"getcwd", "chroot"};
	const struct seccomp_profile_spec ok[] = {
		default_spec, unconfined_spec, {0, allow, 3, deny, 2}, {0, NULL, 0, deny, 2}, {0, keyctl, 1, NULL, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		struct uvm_err err = {0, ""};
		CHECK(seccomp_spec_check(&ok[i], &err) == 0, "spec %zu accepted", i);
		if (err.msg[0])
			printf("#   message: %s\n", err.msg);
	}
}

/* ------------------------------------------------------------ the program */

/* Runs a seccomp program the way the kernel would, for the subset the
 * builder uses; BAD_PROGRAM for anything else, an out-of-range load or
 * jump, or running off the end. */
static uint32_t interpret(const struct sock_filter *prog, size_t n, const struct seccomp_data *d)
{
	uint32_t a = 0;
	for (size_t pc = 0; pc < n; pc++) {
		const struct sock_filter *f = &prog[pc];
		switch (f->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (f->k % 4 || f->k > sizeof *d - 4)
				return BAD_PROGRAM;
			memcpy(&a, (const char *)d + f->k, 4);
			break;
		case BPF_JMP | BPF_JA: pc += f->k; break;
		case BPF_JMP | BPF_JEQ | BPF_K: pc += a == f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGE | BPF_K: pc += a >= f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JGT | BPF_K: pc += a > f->k ? f->jt : f->jf; break;
		case BPF_JMP | BPF_JSET | BPF_K: pc += (a & f->k) ? f->jt : f->jf; break;
		case BPF_RET | BPF_K: return f->k;
		default: return BAD_PROGRAM;
		}
	}
	return BAD_PROGRAM;
}

static uint32_t verdict(const struct sock_filter *prog, size_t n, uint32_t arch, int nr, uint64_t arg0)
{
	struct seccomp_data d;
	memset(&d, 0, sizeof d);
	d.arch = arch;
	d.nr = nr;
	d.args[0] = arg0;
	return interpret(prog, n, &d);
}

/* What the brief and Docker's profile require the default to refuse. */
static const char *const must_deny[] = {
	"acct",
	"add_key",
	"bpf",
	"clock_adjtime",
	"clock_settime",
	"create_module",
	"delete_module",
	"finit_module",
	"get_kernel_syms",
	"get_mempolicy",
	"init_module",
	"ioperm",
	"iopl",
	"kcmp",
	"kexec_file_load",
	"kexec_load",
	"keyctl",
	"lookup_dcookie",
	"mbind",
	"mount",
	"mount_setattr",
	"move_mount",
	"move_pages",
	"name_to_handle_at",
	"nfsservctl",
	"open_by_handle_at",
	"open_tree",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"perf_event_open",
	"pivot_root",
	"process_vm_readv",
	"process_vm_writev",
	"ptrace",
	"pidfd_getfd",
	"query_module",
	"quotactl",
	"quotactl_fd",
	"reboot",
	"request_key",
	"set_mempolicy",
	"setns",
	"settimeofday",
	"swapon",
	"swapoff",
	"sysfs",
	"_sysctl",
	"syslog",
	"umount2",
	"unshare",
	"uselib",
	"userfaultfd",
	"ustat",
	"vhangup",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"afs_syscall",
	"tuxcall",
	"security",
	"vserver",
	"sethostname",
	"setdomainname",
	"fanotify_init",
	"process_madvise",
	"migrate_pages",
	"set_mempolicy_home_node",
};

/* What ordinary programs need (Docker allows all of these). */
static const char *const must_allow[] = {
	"read",
	"write",
	"openat",
	"close",
	"mmap",
	"execve",
	"exit_group",
	"futex",
	"rt_sigaction",
	"getcwd",
	"chroot",
	"arch_prctl",
	"modify_ldt",
	"seccomp",
	"prctl",
	"fork",
	"vfork",
	"wait4",
	"landlock_create_ruleset",
	"memfd_create",
	"fchmodat2",
	"futex_wait",
	"cachestat",
	"map_shadow_stack",
	"rseq",
	"mseal",
	"pidfd_open",
	"statx",
	"io_setup",
	"getrandom",
	"clock_gettime",
	"adjtimex",
	"sched_setaffinity",
	"capset",
	"setuid",
};

static int build(const struct seccomp_profile_spec *spec, struct sock_filter *prog, size_t max, size_t *n)
{
	struct uvm_err err = {0, ""};
	int rc = seccomp_build(spec, prog, max, n, &err);
	if (rc)
		printf("#   build: %s\n", err.msg);
	return rc;
}

static void test_default_program(void)
{
	static struct sock_filter prog[SECCOMP_MAX_INSNS];
	size_t n = 0;
	const uint32_t X86_64 = AUDIT_ARCH_X86_64;
	CHECK(build(&default_spec, prog, ARRAY_LEN(prog), &n) == 0, "default profile builds");
	printf("# default profile: %zu BPF instructions\n", n);
	CHECK(n > 50 && n < 200, "default profile is small (%zu instructions)", n);
	CHECK(prog[0].code == (BPF_LD | BPF_W | BPF_ABS) && prog[0].k == offsetof(struct seccomp_data, arch),
	      "the first instruction loads the architecture");

	int deny_ok = 1, allow_ok = 1, neperm = 0;
	for (size_t i = 0; i < ARRAY_LEN(must_deny); i++)
		if (verdict(prog, n, X86_64, seccomp_syscall_number(must_deny[i]), 0) != RET_EPERM) {
			deny_ok = 0;
			printf("#   %s is not EPERM\n", must_deny[i]);
		}
	for (size_t i = 0; i < ARRAY_LEN(must_allow); i++)
		if (verdict(prog, n, X86_64, seccomp_syscall_number(must_allow[i]), 0) != SECCOMP_RET_ALLOW) {
			allow_ok = 0;
			printf("#   %s is not allowed\n", must_allow[i]);
		}
	int all_valid = 1;
	for (int nr = 0; nr <= 462; nr++) {
		uint32_t v = verdict(prog, n, X86_64, nr, 0);
		neperm += v == RET_EPERM;
		all_valid &= v == RET_EPERM || v == RET_ENOSYS || v == SECCOMP_RET_ALLOW;
	}
	CHECK(deny_ok, "every required name is EPERM");
	CHECK(allow_ok, "ordinary syscalls are allowed");
	CHECK(all_valid, "every number 0..462 gets ALLOW, EPERM or ENOSYS");
	printf("# default profile denies %d syscalls with EPERM\n", neperm);

	static const struct {
		const char *what;
		uint32_t arch;
		int nr;
		uint64_t arg0;
		uint32_t want;
	} edge[] = {
		{"i386 (int 0x80) getpid", AUDIT_ARCH_I386, 20, 0, SECCOMP_RET_KILL_PROCESS},
		{"i386 read (nr 3, = x86-64 close)", AUDIT_ARCH_I386, 3, 0, SECCOMP_RET_KILL_PROCESS},
		{"x32 getpid", AUDIT_ARCH_X86_64, 0x40000000 | 39, 0, SECCOMP_RET_KILL_PROCESS},
		{"x32 rt_sigaction 512", AUDIT_ARCH_X86_64, 0x40000000 | 512, 0, SECCOMP_RET_KILL_PROCESS},
		{"nr -2", AUDIT_ARCH_X86_64, -2, 0, SECCOMP_RET_KILL_PROCESS},
		{"nr -1", AUDIT_ARCH_X86_64, -1, 0, RET_ENOSYS},
		{"nr 463 (newer kernel)", AUDIT_ARCH_X86_64, 463, 0, RET_ENOSYS},
		{"nr 512 without the x32 bit", AUDIT_ARCH_X86_64, 512, 0, RET_ENOSYS},
		{"nr 0x3fffffff", AUDIT_ARCH_X86_64, 0x3fffffff, 0, RET_ENOSYS},
		{"nr 336 (unassigned)", AUDIT_ARCH_X86_64, 336, 0, SECCOMP_RET_ALLOW},
		{"clone3", AUDIT_ARCH_X86_64, 435, 0, RET_ENOSYS},
		{"socket(AF_INET)", AUDIT_ARCH_X86_64, 41, AF_INET, SECCOMP_RET_ALLOW},
		{"socket(AF_UNIX)", AUDIT_ARCH_X86_64, 41, AF_UNIX, SECCOMP_RET_ALLOW},
		{"socket(AF_VSOCK)", AUDIT_ARCH_X86_64, 41, AF_VSOCK, RET_EPERM},
		{"socket(AF_VSOCK) with high bits", AUDIT_ARCH_X86_64, 41, (1ULL << 32) | AF_VSOCK, RET_EPERM},
		{"socket(AF_VSOCK | 1 << 31)", AUDIT_ARCH_X86_64, 41, 0x80000000ULL | AF_VSOCK, SECCOMP_RET_ALLOW},
		{"clone(SIGCHLD)", AUDIT_ARCH_X86_64, 56, SIGCHLD, SECCOMP_RET_ALLOW},
		{"clone(thread flags)", AUDIT_ARCH_X86_64, 56,
		 CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
			 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
		 SECCOMP_RET_ALLOW},
		{"clone(CLONE_NEWNS)", AUDIT_ARCH_X86_64, 56, CLONE_NEWNS | SIGCHLD, RET_EPERM},
		{"clone(CLONE_NEWUTS)", AUDIT_ARCH_X86_64, 56, CLONE_NEWUTS, RET_EPERM},
		{"clone(CLONE_NEWIPC)", AUDIT_ARCH_X86_64, 56, CLONE_NEWIPC, RET_EPERM},
		{"clone(CLONE_NEWUSER)", AUDIT_ARCH_X86_64, 56, CLONE_NEWUSER, RET_EPERM},
		{"clone(CLONE_NEWPID)", AUDIT_ARCH_X86_64, 56, CLONE_NEWPID, RET_EPERM},
		{"clone(CLONE_NEWNET)", AUDIT_ARCH_X86_64, 56, CLONE_NEWNET, RET_EPERM},
		{"clone(CLONE_NEWCGROUP)", AUDIT_ARCH_X86_64, 56, CLONE_NEWCGROUP, RET_EPERM},
		{"clone(CLONE_NEWNET) with high bits", AUDIT_ARCH_X86_64, 56, (0xffULL << 32) | CLONE_NEWNET,
		 RET_EPERM},
		{"clone(exit signal 0x80: not CLONE_NEWTIME for clone)", AUDIT_ARCH_X86_64, 56, 0x80 | SIGCHLD,
		 SECCOMP_RET_ALLOW},
		{"personality(PER_LINUX)", AUDIT_ARCH_X86_64, 135, 0, SECCOMP_RET_ALLOW},
		{"personality(PER_LINUX32)", AUDIT_ARCH_X86_64, 135, 8, SECCOMP_RET_ALLOW},
		{"personality(UNAME26)", AUDIT_ARCH_X86_64, 135, 0x20000, SECCOMP_RET_ALLOW},
		{"personality(UNAME26|PER_LINUX32)", AUDIT_ARCH_X86_64, 135, 0x20008, SECCOMP_RET_ALLOW},
		{"personality(0xffffffff)", AUDIT_ARCH_X86_64, 135, 0xffffffffULL, SECCOMP_RET_ALLOW},
		{"personality(-1 in 64 bits)", AUDIT_ARCH_X86_64, 135, ~0ULL, SECCOMP_RET_ALLOW},
		{"personality(ADDR_NO_RANDOMIZE)", AUDIT_ARCH_X86_64, 135, 0x0040000, RET_EPERM},
		{"personality(READ_IMPLIES_EXEC)", AUDIT_ARCH_X86_64, 135, 0x0400000, RET_EPERM},
		{"personality(1)", AUDIT_ARCH_X86_64, 135, 1, RET_EPERM},
	};
	for (size_t i = 0; i < ARRAY_LEN(edge); i++) {
		uint32_t v = verdict(prog, n, edge[i].arch, edge[i].nr, edge[i].arg0);
		CHECK(v == edge[i].want, "default: %s -> 0x%08x", edge[i].what, edge[i].want);
		if (v != edge[i].want)
			printf("#   got 0x%08x\n", v);
	}

	size_t small = 99;
	struct uvm_err err = {0, ""};
	CHECK(seccomp_build(&default_spec, prog, 10, &small, &err) == -1 && small == 0 && strstr(err.msg, "needs") &&
		      strstr(err.msg, "room for 10"),
	      "10 instructions of room is refused: %s", err.msg);
	CHECK(build(&unconfined_spec, prog, ARRAY_LEN(prog), &small) == 0 && small == 0, "unconfined builds nothing");
	CHECK(build(&unconfined_spec, NULL, 0, &small) == 0 && small == 0, "unconfined needs no buffer");
}

static void test_lists_program(void)
{
	static struct sock_filter prog[SECCOMP_MAX_INSNS];
	static const char *const allow[] = {"keyctl", "clone3", "socket", "personality", "ptrace"};
	static const char *const deny[] = {"getcwd", "chroot", "read"};
	const struct seccomp_profile_spec spec = {0, allow, ARRAY_LEN(allow), deny, ARRAY_LEN(deny)};
	const uint32_t X86_64 = AUDIT_ARCH_X86_64;
	size_t n = 0;
	CHECK(build(&spec, prog, ARRAY_LEN(prog), &n) == 0, "allow/deny profile builds (%zu instructions)", n);
	CHECK(verdict(prog, n, X86_64, 250, 0) == SECCOMP_RET_ALLOW, "allow keyctl lifts its denial");
	CHECK(verdict(prog, n, X86_64, 101, 0) == SECCOMP_RET_ALLOW, "allow ptrace lifts its denial");
	CHECK(verdict(prog, n, X86_64, 435, 0) == SECCOMP_RET_ALLOW, "allow clone3 lifts ENOSYS");
	CHECK(verdict(prog, n, X86_64, 41, AF_VSOCK) == SECCOMP_RET_ALLOW, "allow socket lifts the vsock rule");
	CHECK(verdict(prog, n, X86_64, 135, 0x0040000) == SECCOMP_RET_ALLOW, "allow personality lifts its rule");
	CHECK(verdict(prog, n, X86_64, 56, CLONE_NEWNET) == RET_EPERM, "clone's rule stays");
	CHECK(verdict(prog, n, X86_64, 79, 0) == RET_EPERM, "deny getcwd");
	CHECK(verdict(prog, n, X86_64, 161, 0) == RET_EPERM, "deny chroot");
	CHECK(verdict(prog, n, X86_64, 0, 0) == RET_EPERM, "deny read (nr 0)");
	CHECK(verdict(prog, n, X86_64, 321, 0) == RET_EPERM, "bpf stays denied");

	static const char *const deny_rules[] = {"clone3", "socket", "clone"};
	const struct seccomp_profile_spec spec2 = {0, NULL, 0, deny_rules, 3};
	CHECK(build(&spec2, prog, ARRAY_LEN(prog), &n) == 0, "deny of rule syscalls builds");
	CHECK(verdict(prog, n, X86_64, 435, 0) == RET_ENOSYS, "deny clone3 still answers ENOSYS");
	CHECK(verdict(prog, n, X86_64, 41, AF_UNIX) == RET_EPERM, "deny socket denies every family");
	CHECK(verdict(prog, n, X86_64, 56, SIGCHLD) == RET_EPERM, "deny clone denies plain clone");

	/* every syscall denied: two chain blocks (255 + 120), jumps in range */
	static const char *everything[512];
	size_t count = 0;
	for (int nr = 0; nr <= 462; nr++)
		if (seccomp_syscall_name(nr))
			everything[count++] = seccomp_syscall_name(nr);
	const struct seccomp_profile_spec all = {0, NULL, 0, everything, count};
	CHECK(build(&all, prog, ARRAY_LEN(prog), &n) == 0, "denying all %zu syscalls builds (%zu instructions)", count,
	      n);
	int ok = 1;
	for (int nr = 0; nr <= 462; nr++) {
		uint32_t want = !seccomp_syscall_name(nr) ? SECCOMP_RET_ALLOW : nr == 435 ? RET_ENOSYS : RET_EPERM;
		if (verdict(prog, n, X86_64, nr, 0) != want) {
			ok = 0;
			printf("#   nr %d: got 0x%08x\n", nr, verdict(prog, n, X86_64, nr, 0));
		}
	}
	CHECK(ok, "with everything denied every number is EPERM (clone3 ENOSYS, gaps ALLOW)");
	CHECK(n < 450, "the largest program stays well under install's room (%zu)", n);
}

/* ------------------------------------------------------------ in a child */

static int err_of(long rc)
{
	return rc < 0 ? errno : 0;
}

static int wait_ok(pid_t pid)
{
	int st = 0;
	if (waitpid(pid, &st, 0) != pid)
		return errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : ECHILD;
}

static int raw_clone(unsigned long flags)
{
	long pid = syscall(SYS_clone, flags, 0L, NULL, NULL, 0L);
	if (pid < 0)
		return errno;
	if (pid == 0)
		syscall(SYS_exit_group, 0); /* a copy of us, like fork: leave at once */
	return wait_ok((pid_t)pid);
}

static int p_getpid(void)
{
	return err_of(syscall(SYS_getpid));
}
static int p_getcwd(void)
{
	char b[4096];
	return err_of(syscall(SYS_getcwd, b, sizeof b));
}
static int p_devnull(void)
{
	char c;
	int fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return errno;
	ssize_t r = read(fd, &c, 1);
	int e = r < 0 ? errno : r == 0 ? 0 : EIO;
	close(fd);
	return e;
}
static int sock(long family)
{
	long fd = syscall(SYS_socket, family, (long)SOCK_STREAM, 0L);
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}
static int p_unix(void)
{
	return sock(AF_UNIX);
}
static int p_vsock(void)
{
	return sock(AF_VSOCK);
}
static int p_vsock_high(void)
{
	return sock((long)((1ULL << 32) | AF_VSOCK));
}
static int p_fork(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0)
		_exit(0);
	return wait_ok(pid);
}
static int p_clone(void)
{
	return raw_clone(SIGCHLD);
}
static int p_clone_newnet(void)
{
	return raw_clone(CLONE_NEWNET | SIGCHLD);
}
static int p_clone_newuser(void)
{
	return raw_clone(CLONE_NEWUSER | SIGCHLD);
}
static void *thread_main(void *arg)
{
	return arg;
}
static int p_thread(void)
{
	pthread_t t;
	int e = pthread_create(&t, NULL, thread_main, NULL);
	return e ? e : pthread_join(t, NULL);
}
static int p_clone3(void)
{
	return err_of(syscall(SYS_clone3, NULL, 0L));
}
static int p_keyctl(void)
{
	return err_of(syscall(SYS_keyctl, 0L /* GET_KEYRING_ID */, -1L /* thread */, 0L));
}
static int p_bpf(void)
{
	return err_of(syscall(SYS_bpf, 0x7fffffffL, NULL, 0L));
}
static int p_perf(void)
{
	return err_of(syscall(SYS_perf_event_open, NULL, 0L, -1L, -1L, 0L));
}
static int p_uffd(void)
{
	return err_of(syscall(SYS_userfaultfd, -1L));
}
static int p_unshare_ns(void)
{
	return err_of(syscall(SYS_unshare, (long)CLONE_NEWNS));
}
static int p_unshare_0(void)
{
	return err_of(syscall(SYS_unshare, 0L));
}
static int p_setns(void)
{
	return err_of(syscall(SYS_setns, -1L, 0L));
}
static int p_mount(void)
{
	return err_of(syscall(SYS_mount, NULL, NULL, NULL, 0L, NULL));
}
static int p_traceme(void)
{
	return err_of(syscall(SYS_ptrace, (long)PTRACE_TRACEME, 0L, 0L, 0L));
}
static int p_463(void)
{
	return err_of(syscall(463, -1L, NULL, 0L, NULL, 0L, 0L));
}
static int p_minus1(void)
{
	return err_of(syscall(-1L));
}
static int p_pers_query(void)
{
	return err_of(syscall(SYS_personality, 0xffffffffL));
}
static int p_pers_query64(void)
{
	return err_of(syscall(SYS_personality, -1L));
}
static int p_pers_norandom(void)
{
	return err_of(syscall(SYS_personality, 0x0040000L));
}
/* Not an errno: the Seccomp: mode of /proc/self/status (0 none, 2 filter). */
static int p_mode(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -EIO;
	buf[r] = '\0';
	const char *m = strstr(buf, "\nSeccomp:");
	return m ? atoi(m + 9) : -ENOENT;
}

enum want_kind { EQ, NE };

struct probe {
	const char *what;
	int (*fn)(void);
	enum want_kind kind;
	int want;
	const char *want_text;
};

#define W(v) (v), #v

#define MAX_PROBES 40

/* Runs probes in a child that installs spec first; 0 with results[]. The
 * child reports through a pipe; a child that fails to install writes
 * nothing and exits 2, one that dies exits by a signal. */
static int run_child(const struct seccomp_profile_spec *spec, const struct probe *probes, size_t n, int *results)
{
	int fds[2];
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct uvm_err err = {0, ""};
		close(fds[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 || seccomp_install(spec, &err) != 0) {
			fprintf(stderr, "child: %s\n", err.msg);
			_exit(2);
		}
		int out[MAX_PROBES];
		for (size_t i = 0; i < n; i++)
			out[i] = probes[i].fn();
		ssize_t w = write(fds[1], out, n * sizeof out[0]);
		_exit(w == (ssize_t)(n * sizeof out[0]) ? 0 : 3);
	}
	close(fds[1]);
	size_t got = 0;
	while (pid > 0 && got < n * sizeof results[0]) {
		ssize_t r = read(fds[0], (char *)results + got, n * sizeof results[0] - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fds[0]);
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("#   child status 0x%x\n", st);
		return -1;
	}
	return got == n * sizeof results[0] ? 0 : -1;
}

static void run_probes(const char *label, const struct seccomp_profile_spec *spec, const struct probe *probes, size_t n)
{
	int results[MAX_PROBES];
	if (n > MAX_PROBES)
		abort();
	int rc = run_child(spec, probes, n, results);
	CHECK(rc == 0, "%s: the child installed the filter and reported", label);
	if (rc)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct probe *p = &probes[i];
		int ok = p->kind == EQ ? results[i] == p->want : results[i] != p->want;
		CHECK(ok, "%s: %s -> %s%s", label, p->what, p->kind == EQ ? "" : "not ", p->want_text);
		if (!ok)
			printf("#   got %d (%s)\n", results[i], results[i] > 0 ? strerror(results[i]) : "");
	}
}

/* ptrace(TRACEME) stays last: once traced, a signal (SIGCHLD from a probe's
 * child) would stop the child until the parent, which only reads the pipe,
 * resumes it. */
static const struct probe default_probes[] = {
	{"seccomp mode", p_mode, EQ, W(2)},
	{"getpid", p_getpid, EQ, W(0)},
	{"open+read /dev/null", p_devnull, EQ, W(0)},
	{"getcwd", p_getcwd, EQ, W(0)},
	{"socket(AF_UNIX)", p_unix, EQ, W(0)},
	{"fork", p_fork, EQ, W(0)},
	{"clone(SIGCHLD)", p_clone, EQ, W(0)},
	{"pthread_create (clone3 ENOSYS, then clone)", p_thread, EQ, W(0)},
	{"personality(0xffffffff)", p_pers_query, EQ, W(0)},
	{"personality(-1 in 64 bits)", p_pers_query64, EQ, W(0)},
	{"personality(ADDR_NO_RANDOMIZE)", p_pers_norandom, EQ, W(EPERM)},
	{"keyctl", p_keyctl, EQ, W(EPERM)},
	{"bpf", p_bpf, EQ, W(EPERM)},
	{"perf_event_open", p_perf, EQ, W(EPERM)},
	{"userfaultfd", p_uffd, EQ, W(EPERM)},
	{"unshare(CLONE_NEWNS)", p_unshare_ns, EQ, W(EPERM)},
	{"unshare(0)", p_unshare_0, EQ, W(EPERM)},
	{"setns", p_setns, EQ, W(EPERM)},
	{"mount", p_mount, EQ, W(EPERM)},
	{"socket(AF_VSOCK)", p_vsock, EQ, W(EPERM)},
	{"socket(AF_VSOCK with high bits)", p_vsock_high, EQ, W(EPERM)},
	{"clone(CLONE_NEWNET)", p_clone_newnet, EQ, W(EPERM)},
	{"clone(CLONE_NEWUSER)", p_clone_newuser, EQ, W(EPERM)},
	{"clone3", p_clone3, EQ, W(ENOSYS)},
	{"syscall 463", p_463, EQ, W(ENOSYS)},
	{"syscall -1", p_minus1, EQ, W(ENOSYS)},
	{"ptrace(PTRACE_TRACEME)", p_traceme, EQ, W(EPERM)},
};

/* Without a filter the same calls answer differently, which shows it is
 * the filter, not missing privilege, that refused them above. */
static const struct probe baseline_probes[] = {
	{"seccomp mode", p_mode, EQ, W(0)},           {"unshare(0)", p_unshare_0, EQ, W(0)},
	{"setns(-1)", p_setns, EQ, W(EBADF)},         {"mount(NULL)", p_mount, EQ, W(EFAULT)},
	{"clone3(NULL, 0)", p_clone3, NE, W(ENOSYS)}, {"personality(ADDR_NO_RANDOMIZE)", p_pers_norandom, EQ, W(0)},
};

/* What keyctl, clone3 and socket(AF_VSOCK) answer with no filter of ours:
 * a lifted rule must give the same (the host may refuse them itself, e.g.
 * without vsock support or under a container runtime's own filter). */
static int unfiltered(int (*fn)(void))
{
	const struct probe p = {"", fn, EQ, W(0)};
	int r = -1;
	return run_child(&unconfined_spec, &p, 1, &r) == 0 ? r : -1;
}

static void test_in_child(void)
{
	run_probes("default", &default_spec, default_probes, ARRAY_LEN(default_probes));
	run_probes("unconfined", &unconfined_spec, baseline_probes, ARRAY_LEN(baseline_probes));
	int keyctl = unfiltered(p_keyctl), clone3 = unfiltered(p_clone3), vsock = unfiltered(p_vsock);
	printf("# without a filter: keyctl %d, clone3(NULL, 0) %d, socket(AF_VSOCK) %d\n", keyctl, clone3, vsock);

	static const char *const allow[] = {"keyctl"};
	static const char *const deny[] = {"getcwd"};
	const struct seccomp_profile_spec lists = {0, allow, 1, deny, 1};
	const struct probe lists_probes[] = {
		{"keyctl as without a filter", p_keyctl, EQ, keyctl, "the unfiltered answer"},
		{"getcwd", p_getcwd, EQ, W(EPERM)},
		{"bpf", p_bpf, EQ, W(EPERM)},
		{"getpid", p_getpid, EQ, W(0)},
	};
	run_probes("allow keyctl, deny getcwd", &lists, lists_probes, ARRAY_LEN(lists_probes));

	static const char *const lift[] = {"clone3", "socket", "personality"};
	const struct seccomp_profile_spec lifted = {0, lift, 3, NULL, 0};
	const struct probe lifted_probes[] = {
		{"clone3(NULL, 0) as without a filter", p_clone3, EQ, clone3, "the unfiltered answer"},
		{"socket(AF_VSOCK) as without a filter", p_vsock, EQ, vsock, "the unfiltered answer"},
		{"personality(ADDR_NO_RANDOMIZE)", p_pers_norandom, EQ, W(0)},
		{"clone(CLONE_NEWNET)", p_clone_newnet, EQ, W(EPERM)},
		{"pthread_create", p_thread, EQ, W(0)},
	};
	run_probes("allow clone3, socket, personality", &lifted, lifted_probes, ARRAY_LEN(lifted_probes));
	CHECK(keyctl != EPERM || clone3 != ENOSYS || vsock != EPERM,
	      "the host itself lets at least one of keyctl/clone3/vsock through, so a lifted rule is visible");
}

/* Runs fn in a child under spec (or none); returns its wait status. */
static int child_status(const struct seccomp_profile_spec *spec, void (*fn)(void))
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct uvm_err err = {0, ""};
		if (spec && (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 || seccomp_install(spec, &err) != 0))
			_exit(2);
		fn();
		_exit(0);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static void x32_getpid(void)
{
	syscall(0x40000000L | SYS_getpid);
}

/* An i386 getpid (nr 20) through int 0x80; exits 1 if it did not return
 * our pid (no IA-32 emulation). */
static void i386_getpid(void)
{
	long ret = 20;
	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	if (ret != getpid())
		_exit(1);
}

static void test_kills(void)
{
	int st = child_status(&default_spec, x32_getpid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "an x32 syscall kills the process with SIGSYS (0x%x)", st);
	st = child_status(NULL, i386_getpid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("# skipping the int 0x80 test: this kernel has no IA-32 emulation (status 0x%x)\n", st);
		return;
	}
	st = child_status(&default_spec, i386_getpid);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "an i386 int 0x80 syscall kills with SIGSYS (0x%x)", st);
}

int main(void)
{
	test_table();
	test_spec_check();
	test_default_program();
	test_lists_program();
	test_in_child();
	test_kills();
	return check_done();
}
