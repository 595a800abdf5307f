/* The syscall filter every container process runs under (docs/runtime.md
 * "Seccomp"). The policy names it per container ("seccomp" in
 * docs/policy.md) and the engine matches the request's value against it;
 * the runtime then builds the classic-BPF program from the approved value
 * and installs it just before the process takes the container's identity.
 *
 * Profiles:
 *   "default"     Docker's default profile as the reference: a fixed deny
 *                 list (keyctl, bpf, perf_event_open, userfaultfd, kexec_*,
 *                 mount family, namespaces, ptrace family, io_uring, ...),
 *                 socket(AF_VSOCK), clone with any CLONE_NEW* flag,
 *                 personality other than Docker's five values; clone3
 *                 answers ENOSYS so libcs fall back to clone. Everything
 *                 else is allowed. "allow" removes names from the deny list
 *                 and lifts a syscall's argument rule (looser), "deny" adds
 *                 names (stricter).
 *   "unconfined"  no filter at all; "allow"/"deny" must then be empty.
 * Denied calls fail with EPERM, except clone3, which answers ENOSYS even
 * when named in "deny" (an EPERM would stop libcs from falling back).
 * Numbers above the table (a newer kernel's syscalls, or -1) answer ENOSYS;
 * a foreign architecture (i386 int 0x80) or an x32 call kills the process.
 * x86-64 only (the UVM's architecture). */
#ifndef UVM_SECCOMP_PROFILE_H
#define UVM_SECCOMP_PROFILE_H

#include <linux/filter.h>
#include <stddef.h>

#include "err.h"

#define SECCOMP_MAX_NAMES 512  /* names in "allow" or "deny" */
#define SECCOMP_MAX_INSNS 4096 /* BPF_MAXINSNS */

struct seccomp_profile_spec {
	int unconfined;           /* profile "unconfined" */
	const char *const *allow; /* syscall names removed from the default deny list */
	size_t nallow;
	const char *const *deny; /* syscall names added to it */
	size_t ndeny;
};

/* x86-64 syscall name ("keyctl") -> number; -1 when the name is unknown. */
int seccomp_syscall_number(const char *name);
/* number -> name, NULL when unknown. */
const char *seccomp_syscall_name(int nr);

/* Checks a spec: every name known, no name twice in one list, nothing in
 * both lists, lists empty when unconfined. 0, or -1 with err naming the
 * offending entry. */
int seccomp_spec_check(const struct seccomp_profile_spec *spec, struct uvm_err *err);

/* Builds the filter program for spec into prog (at most max instructions);
 * *n is the count. An unconfined spec builds nothing (*n = 0). */
int seccomp_build(const struct seccomp_profile_spec *spec, struct sock_filter *prog, size_t max, size_t *n,
		  struct uvm_err *err);

/* Builds and installs the filter in the calling thread (PR_SET_SECCOMP with
 * SECCOMP_MODE_FILTER; the caller either has CAP_SYS_ADMIN or set
 * no_new_privs). Nothing is installed for an unconfined spec. */
int seccomp_install(const struct seccomp_profile_spec *spec, struct uvm_err *err);

#endif
