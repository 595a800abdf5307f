/* The one way every `uvm` subcommand reads its command line: getopt_long
 * over the command's option table, with
 *   - long options as `--opt VALUE` or `--opt=VALUE` (a unique prefix of a
 *     long name is accepted, as getopt_long does); unknown, ambiguous,
 *     value-less and wrongly valued options refused;
 *   - operands (arguments that are not options) returned in order, wherever
 *     they stand; everything after `--` is an operand;
 *   - -h/--help printing the command's help text to stdout (exit 0);
 *   - a usage error printed as ONE line on stderr, "uvm X: PROBLEM (try
 *     'uvm X --help')", with exit status 2 (CLI_EXIT_USAGE).
 *
 * Use:
 *   static const struct option opts[] = {{"out", required_argument, NULL, O_OUT},
 *                                        CLI_HELP_OPTION, {NULL, 0, NULL, 0}};
 *   struct cli cl;
 *   cli_init(&cl, "uvm layer", HELP, "", opts, argc, argv);
 *   for (int c; (c = cli_next(&cl)) != CLI_END;)
 *           switch (c) {
 *           case CLI_EXIT: return cl.status;       (help printed, or an error)
 *           case CLI_OPERAND: ... cl.arg ...;
 *           case O_OUT: if (cli_once(&cl, &out)) return cl.status; break;
 *           }
 * Option codes must not be 1, '?', ':' or 'h' (use 256 and up, or letters
 * listed in shortopts). Re-entrant: cli_init resets getopt's state, so a
 * command can run more than once in one process (the unit tests do). */
#ifndef UVM_CLI_H
#define UVM_CLI_H

#include <getopt.h>
#include <stdint.h>

#define CLI_EXIT_USAGE 2

/* The -h/--help entry every option table ends with (before the zero entry). */
#define CLI_HELP_OPTION                        \
	{                                      \
		"help", no_argument, NULL, 'h' \
	}

enum {
	CLI_END = -1,    /* no more arguments */
	CLI_EXIT = -2,   /* stop and return cl.status: 0 after --help, 2 after a usage error */
	CLI_OPERAND = 1, /* an operand: cl.arg */
};

struct cli {
	const char *cmd;  /* "uvm policy replay": starts every message and the hint */
	const char *help; /* printed by -h/--help */
	const struct option *longopts;
	int argc;
	char **argv;
	const char *arg; /* the option's value (NULL if it takes none), or the operand */
	char opt[64];    /* the option as named in messages: "--image", "-o" */
	int status;      /* with CLI_EXIT */
	int operands;    /* after `--`: the rest are operands */
	char shortopts[64];
};

void cli_init(struct cli *c, const char *cmd, const char *help, const char *shortopts, const struct option *longopts,
	      int argc, char **argv);

/* The next option's code, CLI_OPERAND, CLI_END, or CLI_EXIT (message or
 * help printed, c->status set). */
int cli_next(struct cli *c);

/* Prints "CMD: MESSAGE (try 'CMD --help')" on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same for the command being parsed; also sets c->status. Returns -1. */
int cli_fail(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stores the current option's value in *slot, refusing an option given
 * twice. 0, or -1 (message printed, c->status set). */
int cli_once(struct cli *c, const char **slot);

/* The current option's value as an unsigned decimal (or, with base 0, also
 * 0x hex) number in [min, max]: no sign, no junk. 0, or -1 (message printed,
 * c->status set). */
int cli_uint(struct cli *c, int base, uint64_t min, uint64_t max, uint64_t *out);

/* An operand past the expected ones: "unexpected argument 'X'". Returns -1. */
int cli_unexpected(struct cli *c);

#endif
