/* The container seccomp filter (lib/seccomp_profile.h): a syscall table,
 * Docker's default deny list, and a classic-BPF builder.
 *
 * The program, in order:
 *   arch != x86-64                        -> KILL_PROCESS (an i386 int 0x80
 *                                            call would be numbered differently)
 *   nr > SECCOMP_NR_MAX:
 *     x32 (bit 0x40000000, but not -1)    -> KILL_PROCESS
 *     otherwise (newer or invalid)        -> ERRNO(ENOSYS)
 *   nr in the EPERM set                   -> ERRNO(EPERM)   (blocks of jeq)
 *   nr in the ENOSYS set (clone3)         -> ERRNO(ENOSYS)
 *   socket, clone, personality            -> argument rules
 *   anything else                         -> ALLOW
 * Only the argument rules load an argument, so the kernel's seccomp action
 * cache (5.11+) sees every other syscall as a constant ALLOW and skips the
 * filter for it entirely: the deny list costs nothing on the hot path. */
#include "seccomp_profile.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>

/* Guards for old uapi headers (the guest builds with the pinned kernel's). */
#ifndef PR_SET_SECCOMP
#define PR_SET_SECCOMP 22
#endif
#ifndef SECCOMP_MODE_FILTER
#define SECCOMP_MODE_FILTER 2
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_ERRNO
#define SECCOMP_RET_ERRNO 0x00050000U
#endif
#ifndef SECCOMP_RET_ALLOW
#define SECCOMP_RET_ALLOW 0x7fff0000U
#endif
#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eU /* EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE */
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Highest number in the table below (mseal, linux 6.12). */
#define SECCOMP_NR_MAX 462
#define X32_SYSCALL_BIT 0x40000000U

/* x86-64 system call numbers, from the pinned kernel's (linux-source-6.12,
 * tools/build/pins.sh) arch/x86/entry/syscalls/syscall_64.tbl, abi "common"
 * and "64" (the "x32" rows 512..547 are only reachable with the x32 bit,
 * which the filter kills). Generated with
 *   awk '!/^#/ && NF && $2 != "x32" {printf "\t[%d] = \"%s\",\n", $1, $3}'
 * and cross-checked against <asm/unistd_64.h> (__NR_*) up to 450. The
 * numbers 336..423 are unassigned on x86-64. */
static const char *const syscall_names[SECCOMP_NR_MAX + 1] = {
	[0] = "read",
	[1] = "write",
	[2] = "open",
	[3] = "close",
	[4] = "stat",
	[5] = "fstat",
	[6] = "lstat",
	[7] = "poll",
	[8] = "lseek",
	[9] = "mmap",
	[10] = "mprotect",
	[11] = "munmap",
	[12] = "brk",
	[13] = "rt_sigaction",
	[14] = "rt_sigprocmask",
	[15] = "rt_sigreturn",
	[16] = "ioctl",
	[17] = "pread64",
	[18] = "pwrite64",
	[19] = "readv",
	[20] = "writev",
	[21] = "access",
	[22] = "pipe",
	[23] = "select",
	[24] = "sched_yield",
	[25] = "mremap",
	[26] = "msync",
	[27] = "mincore",
	[28] = "madvise",
	[29] = "shmget",
	[30] = "shmat",
	[31] = "shmctl",
	[32] = "dup",
	[33] = "dup2",
	[34] = "pause",
	[35] = "nanosleep",
	[36] = "getitimer",
	[37] = "alarm",
	[38] = "setitimer",
	[39] = "getpid",
	[40] = "sendfile",
	[41] = "socket",
	[42] = "connect",
	[43] = "accept",
	[44] = "sendto",
	[45] = "recvfrom",
	[46] = "sendmsg",
	[47] = "recvmsg",
	[48] = "shutdown",
	[49] = "bind",
	[50] = "listen",
	[51] = "getsockname",
	[52] = "getpeername",
	[53] = "socketpair",
	[54] = "setsockopt",
	[55] = "getsockopt",
	[56] = "clone",
	[57] = "fork",
	[58] = "vfork",
	[59] = "execve",
	[60] = "exit",
	[61] = "wait4",
	[62] = "kill",
	[63] = "uname",
	[64] = "semget",
	[65] = "semop",
	[66] = "semctl",
	[67] = "shmdt",
	[68] = "msgget",
	[69] = "msgsnd",
	[70] = "msgrcv",
	[71] = "msgctl",
	[72] = "fcntl",
	[73] = "flock",
	[74] = "fsync",
	[75] = "fdatasync",
	[76] = "truncate",
	[77] = "ftruncate",
	[78] = "getdents",
	[79] = "getcwd",
	[80] = "chdir",
	[81] = "fchdir",
	[82] = "rename",
	[83] = "mkdir",
	[84] = "rmdir",
	[85] = "creat",
	[86] = "link",
	[87] = "unlink",
	[88] = "symlink",
	[89] = "readlink",
	[90] = "chmod",
	[91] = "fchmod",
	[92] = "chown",
	[93] = "fchown",
	[94] = "lchown",
	[95] = "umask",
	[96] = "gettimeofday",
	[97] = "getrlimit",
	[98] = "getrusage",
	[99] = "sysinfo",
	[100] = "times",
	[101] = "ptrace",
	[102] = "getuid",
	[103] = "syslog",
	[104] = "getgid",
	[105] = "setuid",
	[106] = "setgid",
	[107] = "geteuid",
	[108] = "getegid",
	[109] = "setpgid",
	[110] = "getppid",
	[111] = "getpgrp",
	[112] = "setsid",
	[113] = "setreuid",
	[114] = "setregid",
	[115] = "getgroups",
	[116] = "setgroups",
	[117] = "setresuid",
	[118] = "getresuid",
	[119] = "setresgid",
	[120] = "getresgid",
	[121] = "getpgid",
	[122] = "setfsuid",
	[123] = "setfsgid",
	[124] = "getsid",
	[125] = "capget",
	[126] = "capset",
	[127] = "rt_sigpending",
	[128] = "rt_sigtimedwait",
	[129] = "rt_sigqueueinfo",
	[130] = "rt_sigsuspend",
	[131] = "sigaltstack",
	[132] = "utime",
	[133] = "mknod",
	[134] = "uselib",
	[135] = "personality",
	[136] = "ustat",
	[137] = "statfs",
	[138] = "fstatfs",
	[139] = "sysfs",
	[140] = "getpriority",
	[141] = "setpriority",
	[142] = "sched_setparam",
	[143] = "sched_getparam",
	[144] = "sched_setscheduler",
	[145] = "sched_getscheduler",
	[146] = "sched_get_priority_max",
	[147] = "sched_get_priority_min",
	[148] = "sched_rr_get_interval",
	[149] = "mlock",
	[150] = "munlock",
	[151] = "mlockall",
	[152] = "munlockall",
	[153] = "vhangup",
	[154] = "modify_ldt",
	[155] = "pivot_root",
	[156] = "_sysctl",
	[157] = "prctl",
	[158] = "arch_prctl",
	[159] = "adjtimex",
	[160] = "setrlimit",
	[161] = "chroot",
	[162] = "sync",
	[163] = "acct",
	[164] = "settimeofday",
	[165] = "mount",
	[166] = "umount2",
	[167] = "swapon",
	[168] = "swapoff",
	[169] = "reboot",
	[170] = "sethostname",
	[171] = "setdomainname",
	[172] = "iopl",
	[173] = "ioperm",
	[174] = "create_module",
	[175] = "init_module",
	[176] = "delete_module",
	[177] = "get_kernel_syms",
	[178] = "query_module",
	[179] = "quotactl",
	[180] = "nfsservctl",
	[181] = "getpmsg",
	[182] = "putpmsg",
	[183] = "afs_syscall",
	[184] = "tuxcall",
	[185] = "security",
	[186] = "gettid",
	[187] = "readahead",
	[188] = "setxattr",
	[189] = "lsetxattr",
	[190] = "fsetxattr",
	[191] = "getxattr",
	[192] = "lgetxattr",
	[193] = "fgetxattr",
	[194] = "listxattr",
	[195] = "llistxattr",
	[196] = "flistxattr",
	[197] = "removexattr",
	[198] = "lremovexattr",
	[199] = "fremovexattr",
	[200] = "tkill",
	[201] = "time",
	[202] = "futex",
	[203] = "sched_setaffinity",
	[204] = "sched_getaffinity",
	[205] = "set_thread_area",
	[206] = "io_setup",
	[207] = "io_destroy",
	[208] = "io_getevents",
	[209] = "io_submit",
	[210] = "io_cancel",
	[211] = "get_thread_area",
	[212] = "lookup_dcookie",
	[213] = "epoll_create",
	[214] = "epoll_ctl_old",
	[215] = "epoll_wait_old",
	[216] = "remap_file_pages",
	[217] = "getdents64",
	[218] = "set_tid_address",
	[219] = "restart_syscall",
	[220] = "semtimedop",
	[221] = "fadvise64",
	[222] = "timer_create",
	[223] = "timer_settime",
	[224] = "timer_gettime",
	[225] = "timer_getoverrun",
	[226] = "timer_delete",
	[227] = "clock_settime",
	[228] = "clock_gettime",
	[229] = "clock_getres",
	[230] = "clock_nanosleep",
	[231] = "exit_group",
	[232] = "epoll_wait",
	[233] = "epoll_ctl",
	[234] = "tgkill",
	[235] = "utimes",
	[236] = "vserver",
	[237] = "mbind",
	[238] = "set_mempolicy",
	[239] = "get_mempolicy",
	[240] = "mq_open",
	[241] = "mq_unlink",
	[242] = "mq_timedsend",
	[243] = "mq_timedreceive",
	[244] = "mq_notify",
	[245] = "mq_getsetattr",
	[246] = "kexec_load",
	[247] = "waitid",
	[248] = "add_key",
	[249] = "request_key",
	[250] = "keyctl",
	[251] = "ioprio_set",
	[252] = "ioprio_get",
	[253] = "inotify_init",
	[254] = "inotify_add_watch",
	[255] = "inotify_rm_watch",
	[256] = "migrate_pages",
	[257] = "openat",
	[258] = "mkdirat",
	[259] = "mknodat",
	[260] = "fchownat",
	[261] = "futimesat",
	[262] = "newfstatat",
	[263] = "unlinkat",
	[264] = "renameat",
	[265] = "linkat",
	[266] = "symlinkat",
	[267] = "readlinkat",
	[268] = "fchmodat",
	[269] = "faccessat",
	[270] = "pselect6",
	[271] = "ppoll",
	[272] = "unshare",
	[273] = "set_robust_list",
	[274] = "get_robust_list",
	[275] = "splice",
	[276] = "tee",
	[277] = "sync_file_range",
	[278] = "vmsplice",
	[279] = "move_pages",
	[280] = "utimensat",
	[281] = "epoll_pwait",
	[282] = "signalfd",
	[283] = "timerfd_create",
	[284] = "eventfd",
	[285] = "fallocate",
	[286] = "timerfd_settime",
	[287] = "timerfd_gettime",
	[288] = "accept4",
	[289] = "signalfd4",
	[290] = "eventfd2",
	[291] = "epoll_create1",
	[292] = "dup3",
	[293] = "pipe2",
	[294] = "inotify_init1",
	[295] = "preadv",
	[296] = "pwritev",
	[297] = "rt_tgsigqueueinfo",
	[298] = "perf_event_open",
	[299] = "recvmmsg",
	[300] = "fanotify_init",
	[301] = "fanotify_mark",
	[302] = "prlimit64",
	[303] = "name_to_handle_at",
	[304] = "open_by_handle_at",
	[305] = "clock_adjtime",
	[306] = "syncfs",
	[307] = "sendmmsg",
	[308] = "setns",
	[309] = "getcpu",
	[310] = "process_vm_readv",
	[311] = "process_vm_writev",
	[312] = "kcmp",
	[313] = "finit_module",
	[314] = "sched_setattr",
	[315] = "sched_getattr",
	[316] = "renameat2",
	[317] = "seccomp",
	[318] = "getrandom",
	[319] = "memfd_create",
	[320] = "kexec_file_load",
	[321] = "bpf",
	[322] = "execveat",
	[323] = "userfaultfd",
	[324] = "membarrier",
	[325] = "mlock2",
	[326] = "copy_file_range",
	[327] = "preadv2",
	[328] = "pwritev2",
	[329] = "pkey_mprotect",
	[330] = "pkey_alloc",
	[331] = "pkey_free",
	[332] = "statx",
	[333] = "io_pgetevents",
	[334] = "rseq",
	[335] = "uretprobe",
	[424] = "pidfd_send_signal",
	[425] = "io_uring_setup",
	[426] = "io_uring_enter",
	[427] = "io_uring_register",
	[428] = "open_tree",
	[429] = "move_mount",
	[430] = "fsopen",
	[431] = "fsconfig",
	[432] = "fsmount",
	[433] = "fspick",
	[434] = "pidfd_open",
	[435] = "clone3",
	[436] = "close_range",
	[437] = "openat2",
	[438] = "pidfd_getfd",
	[439] = "faccessat2",
	[440] = "process_madvise",
	[441] = "epoll_pwait2",
	[442] = "mount_setattr",
	[443] = "quotactl_fd",
	[444] = "landlock_create_ruleset",
	[445] = "landlock_add_rule",
	[446] = "landlock_restrict_self",
	[447] = "memfd_secret",
	[448] = "process_mrelease",
	[449] = "futex_waitv",
	[450] = "set_mempolicy_home_node",
	[451] = "cachestat",
	[452] = "fchmodat2",
	[453] = "map_shadow_stack",
	[454] = "futex_wake",
	[455] = "futex_wait",
	[456] = "futex_requeue",
	[457] = "statmount",
	[458] = "listmount",
	[459] = "lsm_get_self_attr",
	[460] = "lsm_set_self_attr",
	[461] = "lsm_list_modules",
	[462] = "mseal",
};

/* The default deny list. Docker's default profile (moby
 * profiles/seccomp/default.json) allows a list and answers EPERM to the
 * rest; inverted over the table above, for a container without
 * CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SYS_MODULE, CAP_SYS_TIME, CAP_SYS_NICE,
 * CAP_SYS_BOOT, CAP_SYS_RAWIO, CAP_SYS_PACCT, CAP_SYS_TTY_CONFIG, CAP_SYSLOG
 * and CAP_DAC_READ_SEARCH, that is this list. Where it differs it is
 * stricter, for a confidential guest: ptrace and process_vm_readv/writev
 * (Docker allows them on kernels >= 4.8), clock_adjtime, name_to_handle_at,
 * io_uring_* (allowed by older Docker releases, denied by recent ones).
 * Syscalls newer than Docker's list that act only on the caller (cachestat,
 * fchmodat2, map_shadow_stack, futex_wake/wait/requeue, statmount, listmount,
 * lsm_*, mseal, uretprobe) stay allowed: an EPERM would break libcs that try
 * them first and fall back to older calls only on ENOSYS. */
static const char *const default_deny[] = {
	/* modules, kexec, reboot, swap, accounting, quotas */
	"create_module",
	"init_module",
	"finit_module",
	"delete_module",
	"query_module",
	"get_kernel_syms",
	"kexec_load",
	"kexec_file_load",
	"reboot",
	"swapon",
	"swapoff",
	"acct",
	"quotactl",
	"quotactl_fd",
	/* mounts and namespaces (clone's namespace flags: see clone_rule) */
	"mount",
	"umount2",
	"pivot_root",
	"mount_setattr",
	"move_mount",
	"open_tree",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"unshare",
	"setns",
	/* the kernel keyring is not namespaced */
	"add_key",
	"request_key",
	"keyctl",
	/* large kernel attack surface */
	"bpf",
	"perf_event_open",
	"io_uring_setup",
	"io_uring_enter",
	"io_uring_register",
	"userfaultfd",
	/* reaching into other processes */
	"ptrace",
	"process_vm_readv",
	"process_vm_writev",
	"process_madvise",
	"kcmp",
	"pidfd_getfd",
	/* file handles bypass path-based checks */
	"name_to_handle_at",
	"open_by_handle_at",
	/* NUMA memory policy */
	"mbind",
	"get_mempolicy",
	"set_mempolicy",
	"set_mempolicy_home_node",
	"migrate_pages",
	"move_pages",
	/* machine-wide state: clock, names, kernel log, I/O ports, ttys, fanotify */
	"settimeofday",
	"clock_settime",
	"clock_adjtime",
	"sethostname",
	"setdomainname",
	"syslog",
	"ioperm",
	"iopl",
	"vhangup",
	"fanotify_init",
	"lookup_dcookie",
	/* obsolete or never implemented on x86-64 */
	"_sysctl",
	"sysfs",
	"ustat",
	"uselib",
	"nfsservctl",
	"getpmsg",
	"putpmsg",
	"afs_syscall",
	"tuxcall",
	"security",
	"vserver",
};

/* clone's namespace flags: Docker's mask 0x7E020000. CLONE_NEWTIME (0x80)
 * is deliberately absent: in clone()'s flags that bit belongs to the exit
 * signal (CSIGNAL), so clone() cannot create a time namespace; unshare and
 * setns are denied and clone3 answers ENOSYS, which closes the other ways. */
#define CLONE_NEW_MASK \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

/* Argument rules. Each compares only the low 32 bits of arg0 (little
 * endian: the low word is at the argument's offset, the high word at +4)
 * because the kernel itself uses only those: socket's family is an int,
 * personality's persona an unsigned int, and clone takes
 * lower_32_bits(flags) (kernel/fork.c). Comparing the high word too would
 * only refuse calls the kernel reads as allowed ones, e.g. personality(-1). */
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARG0_LO BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define RET_EPERM RET(SECCOMP_RET_ERRNO | EPERM)
#define RET_ENOSYS RET(SECCOMP_RET_ERRNO | ENOSYS)
#define RET_ALLOW RET(SECCOMP_RET_ALLOW)
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))

/* socket(AF_VSOCK, ...): the vsock is the guest's channel to the host agent. */
static const struct sock_filter socket_rule[] = {
	LD_ARG0_LO,
	JEQ(AF_VSOCK, 0, 1),
	RET_EPERM,
	RET_ALLOW,
};

static const struct sock_filter clone_rule[] = {
	LD_ARG0_LO,
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEW_MASK, 0, 1),
	RET_EPERM,
	RET_ALLOW,
};

/* Docker's values: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32 and
 * 0xffffffff (query). Anything else could switch off ASLR
 * (ADDR_NO_RANDOMIZE) or make data executable (READ_IMPLIES_EXEC). */
static const struct sock_filter personality_rule[] = {
	LD_ARG0_LO,         JEQ(0x0, 5, 0),         JEQ(0x8, 4, 0), JEQ(0x20000, 3, 0),
	JEQ(0x20008, 2, 0), JEQ(0xffffffffU, 1, 0), RET_EPERM,      RET_ALLOW,
};

struct arg_rule {
	const char *name;
	const struct sock_filter *body;
	size_t len;
};

static const struct arg_rule arg_rules[] = {
	{"socket", socket_rule, ARRAY_LEN(socket_rule)},
	{"clone", clone_rule, ARRAY_LEN(clone_rule)},
	{"personality", personality_rule, ARRAY_LEN(personality_rule)},
};

/* clone3 takes its flags through a pointer the filter cannot read; ENOSYS
 * (not EPERM) makes glibc and musl fall back to clone, whose flags it can.
 * A "deny" of clone3 keeps ENOSYS for the same reason. */
#define CLONE3_NAME "clone3"

const char *seccomp_syscall_name(int nr)
{
	if (nr < 0 || nr > SECCOMP_NR_MAX)
		return NULL;
	return syscall_names[nr];
}

int seccomp_syscall_number(const char *name)
{
	if (!name)
		return -1;
	for (int nr = 0; nr <= SECCOMP_NR_MAX; nr++)
		if (syscall_names[nr] && strcmp(syscall_names[nr], name) == 0)
			return nr;
	return -1;
}

/* A name from the policy, fit for an error message: at most 64 bytes,
 * anything but printable ASCII shown as '?'. */
static const char *shown(const char *name, char *buf, size_t size)
{
	size_t i = 0;
	for (; name[i] && i < 64 && i + 4 < size; i++)
		buf[i] = (name[i] >= 0x20 && name[i] < 0x7f) ? name[i] : '?';
	if (name[i]) { /* cut short: say so */
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

#define IN_ALLOW 1u
#define IN_DENY 2u

static int check_list(const char *list, const char *const *names, size_t count, uint8_t bit, uint8_t *seen,
		      struct uvm_err *err)
{
	char buf[80];
	if (count > SECCOMP_MAX_NAMES)
		return uvm_fail(err, E2BIG, "seccomp: \"%s\" lists %zu names, at most %d are accepted", list, count,
				SECCOMP_MAX_NAMES);
	if (count && !names)
		return uvm_fail(err, EINVAL, "seccomp: \"%s\" claims %zu names but has no array", list, count);
	for (size_t i = 0; i < count; i++) {
		if (!names[i])
			return uvm_fail(err, EINVAL, "seccomp: \"%s\"[%zu] is null", list, i);
		int nr = seccomp_syscall_number(names[i]);
		if (nr < 0)
			return uvm_fail(err, EINVAL,
					"seccomp: \"%s\"[%zu]: \"%s\" is not an x86-64 system call name "
					"(names as in the kernel's syscall_64.tbl, e.g. \"keyctl\")",
					list, i, shown(names[i], buf, sizeof buf));
		if (seen[nr] & bit)
			return uvm_fail(err, EINVAL, "seccomp: \"%s\"[%zu]: \"%s\" is listed twice", list, i, names[i]);
		if (seen[nr])
			return uvm_fail(
				err, EINVAL,
				"seccomp: \"%s\"[%zu]: \"%s\" is in both \"allow\" and \"deny\": keep it in one", list,
				i, names[i]);
		seen[nr] |= bit;
	}
	return 0;
}

int seccomp_spec_check(const struct seccomp_profile_spec *spec, struct uvm_err *err)
{
	uint8_t seen[SECCOMP_NR_MAX + 1] = {0};
	if (!spec)
		return uvm_fail(err, EINVAL, "seccomp: no profile given");
	if (spec->unconfined && (spec->nallow || spec->ndeny))
		return uvm_fail(err, EINVAL,
				"seccomp: profile \"unconfined\" takes no \"allow\"/\"deny\" names (got %zu and %zu): "
				"drop them or use profile \"default\"",
				spec->nallow, spec->ndeny);
	if (check_list("allow", spec->allow, spec->nallow, IN_ALLOW, seen, err))
		return -1;
	return check_list("deny", spec->deny, spec->ndeny, IN_DENY, seen, err);
}

/* What the filter does with each syscall number. */
enum action { ACT_ALLOW, ACT_EPERM, ACT_ENOSYS, ACT_RULE };

struct plan {
	uint8_t act[SECCOMP_NR_MAX + 1];
};

/* Sets name's action; the names here come from this file or from a spec
 * seccomp_spec_check accepted, so a miss is a bug in this file. */
static int plan_set(struct plan *p, const char *name, enum action act, struct uvm_err *err)
{
	int nr = seccomp_syscall_number(name);
	if (nr < 0)
		return uvm_fail(err, EINVAL, "seccomp: internal error: \"%s\" is not in the syscall table", name);
	p->act[nr] = (uint8_t)act;
	return 0;
}

/* Default list, then "allow" lifts (rules too), then "deny" adds. */
static int plan_init(struct plan *p, const struct seccomp_profile_spec *spec, struct uvm_err *err)
{
	int rc = 0;
	memset(p->act, ACT_ALLOW, sizeof p->act);
	for (size_t i = 0; i < ARRAY_LEN(default_deny); i++)
		rc |= plan_set(p, default_deny[i], ACT_EPERM, err);
	for (size_t i = 0; i < ARRAY_LEN(arg_rules); i++)
		rc |= plan_set(p, arg_rules[i].name, ACT_RULE, err);
	rc |= plan_set(p, CLONE3_NAME, ACT_ENOSYS, err);
	for (size_t i = 0; i < spec->nallow; i++)
		rc |= plan_set(p, spec->allow[i], ACT_ALLOW, err);
	for (size_t i = 0; i < spec->ndeny; i++) {
		int clone3 = strcmp(spec->deny[i], CLONE3_NAME) == 0;
		rc |= plan_set(p, spec->deny[i], clone3 ? ACT_ENOSYS : ACT_EPERM, err);
	}
	return rc ? -1 : 0;
}

/* Appends instructions while they fit and counts them all, so that an
 * overflow can say how many were needed. */
struct emitter {
	struct sock_filter *prog;
	size_t max;
	size_t n;
};

static void emit(struct emitter *e, struct sock_filter insn)
{
	if (e->n < e->max)
		e->prog[e->n] = insn;
	e->n++;
}

static void emit_jeq(struct emitter *e, uint32_t k, uint8_t jt, uint8_t jf)
{
	struct sock_filter insn = JEQ(k, jt, jf);
	emit(e, insn);
}

static void emit_ret(struct emitter *e, uint32_t value)
{
	struct sock_filter insn = RET(value);
	emit(e, insn);
}

static void emit_prologue(struct emitter *e)
{
	static const struct sock_filter prologue[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		JEQ(AUDIT_ARCH_X86_64, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD_NR,
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, SECCOMP_NR_MAX, 0, 4),
		/* above the table: x32 (and garbage) is killed; -1, which
		 * tracers and probes use, and numbers of newer kernels answer
		 * ENOSYS as an older kernel would */
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 2),
		JEQ(0xffffffffU, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		RET_ENOSYS,
	};
	for (size_t i = 0; i < ARRAY_LEN(prologue); i++)
		emit(e, prologue[i]);
}

/* Every number with action act, as blocks of "jeq nr -> ret" ending in one
 * return: a classic-BPF jump reaches at most 255 instructions ahead. */
#define CHAIN_BLOCK 255

static void emit_chain(struct emitter *e, const struct plan *p, enum action act, uint32_t ret)
{
	int nrs[SECCOMP_NR_MAX + 1];
	size_t count = 0;
	for (int nr = 0; nr <= SECCOMP_NR_MAX; nr++)
		if (p->act[nr] == act)
			nrs[count++] = nr;
	for (size_t start = 0; start < count; start += CHAIN_BLOCK) {
		size_t len = count - start < CHAIN_BLOCK ? count - start : CHAIN_BLOCK;
		for (size_t i = 0; i < len; i++) {
			int last = i + 1 == len;
			/* match: to this block's return; the last miss skips it */
			emit_jeq(e, (uint32_t)nrs[start + i], (uint8_t)(len - 1 - i), last ? 1 : 0);
		}
		emit_ret(e, ret);
	}
}

static void emit_rules(struct emitter *e, const struct plan *p)
{
	for (size_t i = 0; i < ARRAY_LEN(arg_rules); i++) {
		const struct arg_rule *r = &arg_rules[i];
		int nr = seccomp_syscall_number(r->name);
		if (nr < 0 || p->act[nr] != ACT_RULE)
			continue;
		/* other syscalls jump over the rule, which ends in returns */
		emit_jeq(e, (uint32_t)nr, 0, (uint8_t)r->len);
		for (size_t j = 0; j < r->len; j++)
			emit(e, r->body[j]);
	}
}

int seccomp_build(const struct seccomp_profile_spec *spec, struct sock_filter *prog, size_t max, size_t *n,
		  struct uvm_err *err)
{
	struct plan p;
	if (!n || (!prog && max))
		return uvm_fail(err, EINVAL, "seccomp: build called without an output buffer");
	*n = 0;
	if (seccomp_spec_check(spec, err))
		return -1;
	if (spec->unconfined)
		return 0;
	if (plan_init(&p, spec, err))
		return -1;
	if (max > SECCOMP_MAX_INSNS)
		max = SECCOMP_MAX_INSNS; /* the kernel refuses longer programs */
	struct emitter e = {prog, max, 0};
	emit_prologue(&e);
	emit_chain(&e, &p, ACT_EPERM, SECCOMP_RET_ERRNO | EPERM);
	emit_chain(&e, &p, ACT_ENOSYS, SECCOMP_RET_ERRNO | ENOSYS);
	emit_rules(&e, &p);
	emit_ret(&e, SECCOMP_RET_ALLOW);
	if (e.n > max)
		return uvm_fail(err, E2BIG, "seccomp: the filter needs %zu instructions, room for %zu", e.n, max);
	*n = e.n;
	return 0;
}

/* Room for the largest program this file can build: prologue (9), every
 * table entry in a chain (375, plus a return per block of 255) and the
 * rules (17), about 410; on the stack it is 8 KiB. */
#define INSTALL_ROOM 1024

int seccomp_install(const struct seccomp_profile_spec *spec, struct uvm_err *err)
{
	struct sock_filter prog[INSTALL_ROOM];
	size_t n = 0;
	if (seccomp_build(spec, prog, INSTALL_ROOM, &n, err))
		return -1;
	if (n == 0)
		return 0; /* unconfined */
	struct sock_fprog fprog = {.len = (unsigned short)n, .filter = prog};
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0L, 0L) != 0) {
		int e = errno;
		return uvm_fail(err, e, "seccomp: installing the %zu-instruction filter (prctl PR_SET_SECCOMP): %s%s",
				n, strerror(e),
				e == EACCES ? " (the caller needs no_new_privs set or CAP_SYS_ADMIN)" : "");
	}
	return 0;
}
