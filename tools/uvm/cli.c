/* Command-line parsing shared by every `uvm` subcommand (see cli.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void cli_init(struct cli *c, const char *cmd, const char *help, const char *shortopts, const struct option *longopts,
	      int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	c->cmd = cmd;
	c->help = help;
	c->longopts = longopts;
	c->argc = argc;
	c->argv = argv;
	/* '-': operands come back in order (code 1), whatever POSIXLY_CORRECT
	 * says; ':': a missing value is told apart from an unknown option. */
	snprintf(c->shortopts, sizeof c->shortopts, "-:h%s", shortopts ? shortopts : "");
	optind = 0; /* 0, not 1: glibc then forgets the previous parse entirely */
	opterr = 0; /* the messages are ours */
}

static void vusage_error(const char *cmd, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void vusage_error(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (try '%s --help')\n", cmd);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vusage_error(cmd, fmt, ap);
	va_end(ap);
	return CLI_EXIT_USAGE;
}

int cli_fail(struct cli *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vusage_error(c->cmd, fmt, ap);
	va_end(ap);
	c->status = CLI_EXIT_USAGE;
	return -1;
}

/* The long name of the option whose code is val, for messages. */
static const char *long_name(const struct cli *c, int val)
{
	for (const struct option *o = c->longopts; o && o->name; o++)
		if (!o->flag && o->val == val)
			return o->name;
	return "?";
}

/* getopt_long refused text ('?', or ':' for a missing value): say why. */
static int refused(struct cli *c, int code, const char *text)
{
	if (strncmp(text, "--", 2) != 0) /* a short option, maybe inside a cluster */
		return code == ':' ? cli_fail(c, "option '-%c' needs a value", optopt)
				   : cli_fail(c, "unknown option '-%c'", optopt);
	if (code == ':')
		return cli_fail(c, "option '--%s' needs a value", long_name(c, optopt));
	if (optopt)
		return cli_fail(c, "option '--%s' takes no value", long_name(c, optopt));
	const char *name = text + 2;
	size_t len = strcspn(name, "=");
	char some[160] = "";
	int n = 0;
	for (const struct option *o = c->longopts; o && o->name; o++)
		if (strncmp(o->name, name, len) == 0 && n++ < 4)
			snprintf(some + strlen(some), sizeof some - strlen(some), "%s--%s", n > 1 ? ", " : "", o->name);
	if (n > 1)
		return cli_fail(c, "ambiguous option '--%.*s' (%s%s?)", (int)(len > 100 ? 100 : len), name, some,
				n > 4 ? ", ..." : "");
	return cli_fail(c, "unknown option '--%.*s'", (int)(len > 100 ? 100 : len), name);
}

int cli_next(struct cli *c)
{
	c->opt[0] = '\0';
	if (c->operands) {
		if (optind >= c->argc)
			return CLI_END;
		c->arg = c->argv[optind++];
		return CLI_OPERAND;
	}
	int before = optind > 0 ? optind : 1; /* the argument getopt_long reads now */
	const char *text = before < c->argc ? c->argv[before] : "";
	int li = -1;
	int code = getopt_long(c->argc, c->argv, c->shortopts, c->longopts, &li);
	c->arg = optarg;
	switch (code) {
	case -1:
		if (optind >= c->argc)
			return CLI_END;
		c->operands = 1; /* stopped at `--`: optind is the first operand after it */
		return cli_next(c);
	case CLI_OPERAND: return CLI_OPERAND;
	case '?':
	case ':': refused(c, code, text); return CLI_EXIT;
	case 'h':
		fputs(c->help, stdout);
		c->status = fflush(stdout) == 0 ? 0 : 1;
		return CLI_EXIT;
	}
	if (li >= 0)
		snprintf(c->opt, sizeof c->opt, "--%s", c->longopts[li].name);
	else
		snprintf(c->opt, sizeof c->opt, "-%c", code);
	return code;
}

int cli_once(struct cli *c, const char **slot)
{
	if (*slot)
		return cli_fail(c, "option '%s' given twice", c->opt);
	*slot = c->arg;
	return 0;
}

int cli_uint(struct cli *c, int base, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *s = c->arg ? c->arg : "";
	char *end;
	errno = 0;
	unsigned long long v = *s >= '0' && *s <= '9' ? strtoull(s, &end, base) : 0;
	if (!(*s >= '0' && *s <= '9') || errno || *end || v < min || v > max)
		return cli_fail(c, "option '%s': '%.100s' is not a number from %llu to %llu", c->opt, s,
				(unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int cli_unexpected(struct cli *c)
{
	return cli_fail(c, "unexpected argument '%.100s'", c->arg ? c->arg : "");
}
