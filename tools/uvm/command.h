/* The uvm host CLI is a table of subcommands. Each tools/uvm/cmd_NAME.c
 * defines `const struct uvm_command uvm_command_NAME`; the Makefile generates
 * the list of them (out/gen/uvm_commands.h) from the file names, so adding a
 * subcommand is adding one file. A subcommand reads its arguments with
 * cli.h (getopt_long, -h/--help, one-line usage errors, exit status 2) and
 * documents its exit statuses in its --help. */
#ifndef UVM_COMMAND_H
#define UVM_COMMAND_H

struct uvm_command {
	const char *name;    /* as typed: "uvm NAME ..." */
	const char *summary; /* one line for "uvm help" */
	/* argv[0] is NAME; returns the process exit status. */
	int (*run)(int argc, char **argv);
};

#endif
