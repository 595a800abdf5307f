/* uvm: the host-side command line of the project (measure, verify, policy,
 * layer, launch, ctl, ...). This file only dispatches; each subcommand lives
 * in its own cmd_NAME.c, which reads its arguments with cli.h. Exit status
 * 2 here means a usage error. */
#include <stdio.h>
#include <string.h>

#include "command.h"

#define UVM_COMMAND(name) extern const struct uvm_command uvm_command_##name;
#include "uvm_commands.h"
#undef UVM_COMMAND

static const struct uvm_command *const commands[] = {
#define UVM_COMMAND(name) &uvm_command_##name,
#include "uvm_commands.h"
#undef UVM_COMMAND
};

static void usage(FILE *out)
{
	fprintf(out, "usage: uvm COMMAND [ARGS...]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(out, "\n'uvm COMMAND --help' describes one command, with its exit statuses;\n"
		     "every command exits 2 on a usage error.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i]->name) == 0)
			return commands[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "uvm: unknown command '%s' (try 'uvm --help')\n", argv[1]);
	return 2;
}
