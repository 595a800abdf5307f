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

struct agent {
	struct channel ch;
	struct frame_reader reader;
	int host_away;            /* serial port hung up: re-poll after a pause */
	uint64_t requests;        /* served since boot */
	int shutdown_requested;
	int policy_bound;         /* a policy matching HOST_DATA was accepted */
};

int agent_init(struct agent *a, struct uvm_err *err);

/* Fills one pollfd for the channel (fd -1 while the host is away) and lowers
 * *timeout_ms if the agent needs a wake-up. */
void agent_pollfd(struct agent *a, struct pollfd *p, int *timeout_ms);

/* Handles the poll result of that pollfd (revents may be 0 after a timeout). */
void agent_handle(struct agent *a, short revents);

#endif
