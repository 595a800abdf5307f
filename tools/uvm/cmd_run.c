/* uvm run: one confidential container from an OCI image, as `docker run`
 * (docs/sandbox.md). This file only reads the command line; the sequence
 * is tools/uvm/run/ (run.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "command.h"
#include "run.h"

#define MAX_ARGS 1024

static const char HELP[] = "usage: uvm run --image OCI_LAYOUT [--policy FILE] [--container NAME] [--layer-cache DIR]\n"
			   "               [--work-dir DIR] [--control PATH [--no-start]]\n"
			   "               [--stdin PATH] [--stdout PATH] [--stderr PATH]\n"
			   "               [--launch-arg ARG]... [-- ARGS...]\n"
			   "\n"
			   "Runs the image's container in a fresh UVM and exits with its status, as `docker\n"
			   "run` does (docs/sandbox.md):\n"
			   " 1. converts the image's layers as `uvm layer` does into --layer-cache DIR (default\n"
			   "    $XDG_CACHE_HOME/uvm/layers, else /var/cache/uvm/layers), one directory per\n"
			   "    chain id; a layer already there is reused (needs root and mkfs.erofs otherwise)\n"
			   " 2. takes --policy FILE, or generates the policy `uvm policy gen --image` would\n"
			   "    (with ARGS as its argv); uses the policy container whose layers are the\n"
			   "    image's (of several: --container NAME, or the one whose argv is ARGS)\n"
			   " 3. starts `uvm launch` (HOST_DATA = SHA-256 of the policy, the layers and a sparse\n"
			   "    1 GiB scratch as disks; --launch-arg passes one argument, e.g. --memory=1024)\n"
			   " 4. binds the policy, mounts the layers, an encrypted scratch and the overlay\n"
			   " 5. creates the container from the policy container's own fields (ARGS instead\n"
			   "    of its argv) and starts it (with --no-start: on the control socket's start)\n"
			   " 6. copies its stdout/stderr to --stdout/--stderr (default: uvm run's own) and\n"
			   "    --stdin (a file, a FIFO, or - for uvm run's stdin; default: none) to it\n"
			   " 7. unmounts, shuts the UVM down, removes the disks and the work directory\n"
			   "    (--work-dir DIR: kept, with console.log and the generated policy.json)\n"
			   "\n"
			   "--control PATH: a unix socket (mode 0600) taking one JSON request per line: start,\n"
			   "exec, kill, close_stdin, state, pids, stats, shutdown (docs/sandbox.md); it\n"
			   "appears once the container is created, and uvm run then keeps the UVM after the\n"
			   "container exits until shutdown, SIGTERM or SIGINT.\n"
			   "\n"
			   "exit status: the container's (128 + N after signal N); 1 the policy has no\n"
			   "container for the image; 125 uvm run failed (the message says which step, on\n"
			   "which input, and the agent's reason, e.g. a policy denial); 2 usage error\n";

enum {
	O_IMAGE = 256,
	O_POLICY,
	O_CONTAINER,
	O_CACHE,
	O_WORK,
	O_CONTROL,
	O_NO_START,
	O_STDIN,
	O_STDOUT,
	O_STDERR,
	O_LAUNCH,
};

static const struct option OPTS[] = {
	{"image", required_argument, NULL, O_IMAGE},
	{"policy", required_argument, NULL, O_POLICY},
	{"container", required_argument, NULL, O_CONTAINER},
	{"layer-cache", required_argument, NULL, O_CACHE},
	{"work-dir", required_argument, NULL, O_WORK},
	{"control", required_argument, NULL, O_CONTROL},
	{"no-start", no_argument, NULL, O_NO_START},
	{"stdin", required_argument, NULL, O_STDIN},
	{"stdout", required_argument, NULL, O_STDOUT},
	{"stderr", required_argument, NULL, O_STDERR},
	{"launch-arg", required_argument, NULL, O_LAUNCH},
	CLI_HELP_OPTION,
	{NULL, 0, NULL, 0},
};

/* 0, or CLI_EXIT (help or a usage error printed; cl->status says which). */
static int parse_args(struct cli *cl, struct run_opts *o, char **args)
{
	for (int c; (c = cli_next(cl)) != CLI_END;) {
		int bad = 0;
		switch (c) {
		case CLI_EXIT: return CLI_EXIT;
		case O_IMAGE: bad = cli_once(cl, &o->image); break;
		case O_POLICY: bad = cli_once(cl, &o->policy); break;
		case O_CONTAINER: bad = cli_once(cl, &o->container); break;
		case O_CACHE: bad = cli_once(cl, &o->layer_cache); break;
		case O_WORK: bad = cli_once(cl, &o->work_dir); break;
		case O_CONTROL: bad = cli_once(cl, &o->control); break;
		case O_NO_START: o->no_start = 1; break;
		case O_STDIN: bad = cli_once(cl, &o->stdin_path); break;
		case O_STDOUT: bad = cli_once(cl, &o->stdout_path); break;
		case O_STDERR: bad = cli_once(cl, &o->stderr_path); break;
		case O_LAUNCH:
			if (o->nlaunch == RUN_MAX_LAUNCH_ARGS)
				bad = cli_fail(cl, "at most %d --launch-arg", RUN_MAX_LAUNCH_ARGS);
			else
				o->launch_args[o->nlaunch++] = cl->arg;
			break;
		default: /* an operand: only after `--` */
			if (!cl->operands)
				bad = cli_fail(cl, "unexpected argument '%.100s' (the container's ARGS go after --)",
					       cl->arg);
			else if (o->nargs == MAX_ARGS)
				bad = cli_fail(cl, "at most %d ARGS", MAX_ARGS);
			else
				args[o->nargs++] = (char *)cl->arg;
			break;
		}
		if (bad)
			return CLI_EXIT;
	}
	if (!o->image)
		cli_fail(cl, "--image OCI_LAYOUT is required");
	else if (o->no_start && !o->control)
		cli_fail(cl, "--no-start needs --control PATH (start comes on the control socket)");
	else
		return 0;
	return CLI_EXIT;
}

static int run(int argc, char **argv)
{
	static struct run_opts o;
	static char *args[MAX_ARGS];
	struct cli cl;
	memset(&o, 0, sizeof o);
	cli_init(&cl, "uvm run", HELP, "", OPTS, argc, argv);
	if (parse_args(&cl, &o, args) == CLI_EXIT)
		return cl.status;
	o.args = args;
	return run_main(&o);
}

const struct uvm_command uvm_command_run = {"run", "run an OCI image's container in a fresh UVM (as docker run)", run};
