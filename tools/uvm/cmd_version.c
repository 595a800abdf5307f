/* uvm version: which build of the host tools this is. */
#include <stdio.h>

#include "cli.h"
#include "command.h"

#ifndef UVM_VERSION
#define UVM_VERSION "0.1.0"
#endif

static const char HELP[] = "usage: uvm version\n"
			   "Prints the version of the host tools: \"uvm VERSION\".\n"
			   "exit status: 0 printed, 2 usage error\n";

static const struct option OPTS[] = {CLI_HELP_OPTION, {NULL, 0, NULL, 0}};

static int run(int argc, char **argv)
{
	struct cli cl;
	cli_init(&cl, "uvm version", HELP, "", OPTS, argc, argv);
	for (int c; (c = cli_next(&cl)) != CLI_END;) {
		if (c == CLI_EXIT)
			return cl.status;
		cli_unexpected(&cl); /* the only code left is an operand */
		return cl.status;
	}
	printf("uvm %s\n", UVM_VERSION);
	return 0;
}

const struct uvm_command uvm_command_version = {"version", "print the version of the host tools", run};
