/* The enforcement loop: serves the untrusted host's requests one at a time
 * over the host channel, asks the policy before every action, and performs
 * only what was allowed. It runs inside PID 1 (init/main.c owns the poll loop
 * and calls in here), so its state - the bound policy above all - lives
 * exactly as long as the VM. Protocol: docs/protocol.md. */
#ifndef UVM_AGENT_H
#define UVM_AGENT_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "channel.h"
#include "err.h"
#include "frame.h"

/* The largest policy set_policy accepts (base64 of it fits in one frame). */
#define AGENT_POLICY_MAX (512u << 10)

enum binding_state { BINDING_NONE, BINDING_BOUND, BINDING_FAILED };

struct policy;
struct policy_state;
struct rt_table;
struct storage_state;

struct agent {
	struct channel ch;
	struct frame_reader reader;
	int host_away;                 /* serial port hung up: re-poll after a pause */
	long long partial_deadline_ms; /* a started message must be completed by then */
	uint64_t requests;             /* served since boot */
	uint64_t decisions;            /* policy engine calls (decide.c) ... */
	uint64_t decide_ns;            /* ... and the time spent in them */
	uint64_t containers_started;
	int shutdown_requested;
	/* binding.c */
	enum binding_state binding;
	char deny_reason[768]; /* why requests are denied while not BOUND */
	uint8_t policy_sha256[32];
	struct policy *policy;
	struct policy_state *pstate;
	/* storage (agent/storage_*.c): what undoing each mount needs (scratch
	 * keys are never kept); allocated on first use */
	struct storage_state *storage;
	/* containers (agent/ops_container.c, agent/runtime*.c) */
	struct rt_table *procs; /* the process table, made by agent_init (runtime.h) */
	int runtime_logging;    /* runtime_logging was allowed: log container ops */
};

int agent_init(struct agent *a, struct uvm_err *err);

/* binding.c: probes attestation at start-up (fail closed if none). */
void binding_init(struct agent *a);
/* REPORT_DATA = SHA-512(label || NUL || data): every report request inside
 * the guest uses its own label (docs/protocol.md "Report data"). len <= 64. */
void binding_report_data(const char *label, const uint8_t *data, size_t len, uint8_t out[64]);

/* Fills one pollfd for the channel (fd -1 while the host is away) and lowers
 * *timeout_ms if the agent needs a wake-up. */
void agent_pollfd(struct agent *a, struct pollfd *p, int *timeout_ms);

/* PID 1's reaper hands every reaped child's status here (runtime_table.c). */
void agent_child_exited(struct agent *a, pid_t pid, int status);

/* Handles the poll result of that pollfd (revents may be 0 after a timeout). */
void agent_handle(struct agent *a, short revents);

#endif
