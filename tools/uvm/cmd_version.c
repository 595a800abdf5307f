/* uvm version: which build of the host tools this is. */
#include <stdio.h>

#include "command.h"

#ifndef UVM_VERSION
#define UVM_VERSION "0.1.0"
#endif

static int run(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: uvm version\n");
		return 2;
	}
	printf("uvm %s\n", UVM_VERSION);
	return 0;
}

const struct uvm_command uvm_command_version = {"version", "print the version of the host tools", run};
