/* Regular expressions of the policy: POSIX ERE from libc, every pattern
 * anchored at both ends by wrapping it as ^(PATTERN)$. The wrapping is only
 * sound when PATTERN's parentheses balance: "a)|(b" would otherwise become
 * "^(a)|(b)$", which matches any string containing "b" at the end. So the
 * pattern is scanned first (escapes and bracket expressions understood) and
 * refused unless balanced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

#define REGEX_MAX_LEN 4096

/* Skips a bracket expression starting at p[i] == '['; returns the index
 * after its closing ']' or 0 if it is not terminated. */
static size_t skip_bracket(const char *p, size_t i)
{
	i++;
	if (p[i] == '^')
		i++;
	if (p[i] == ']')
		i++; /* a leading ']' is literal */
	while (p[i] && p[i] != ']') {
		if (p[i] == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
			char kind = p[i + 1];
			const char *end = p + i + 2;
			while (*end && !(end[0] == kind && end[1] == ']'))
				end++;
			if (!*end)
				return 0;
			i = (size_t)(end - p) + 2;
			continue;
		}
		i++;
	}
	return p[i] == ']' ? i + 1 : 0;
}

/* A repetition ('*', '+', '?' or a '{...}' bound) right after another is
 * refused: POSIX leaves stacked duplication symbols undefined, and glibc's
 * matcher can take gigabytes on "a++++++++" (found by fuzz_policy). */
static int stacked(const char *p, size_t i, int after_repeat, char *why, size_t why_size)
{
	if (!after_repeat || !strchr("*+?{", p[i]))
		return 0;
	snprintf(why, why_size,
		 "a repetition '%c' at offset %zu follows another repetition (POSIX leaves that "
		 "undefined): write the repetition once",
		 p[i], i);
	return 1;
}

static int balanced(const char *p, char *why, size_t why_size)
{
	long depth = 0;
	int after_repeat = 0;
	for (size_t i = 0; p[i];) {
		if (p[i] && stacked(p, i, after_repeat, why, why_size))
			return 0;
		after_repeat = p[i] == '*' || p[i] == '+' || p[i] == '?' || p[i] == '}';
		if (p[i] == '\\') {
			if (!p[i + 1]) {
				snprintf(why, why_size, "trailing backslash");
				return 0;
			}
			i += 2;
		} else if (p[i] == '[') {
			size_t next = skip_bracket(p, i);
			if (!next) {
				snprintf(why, why_size, "unterminated bracket expression at offset %zu", i);
				return 0;
			}
			i = next;
		} else {
			if (p[i] == '(')
				depth++;
			else if (p[i] == ')' && --depth < 0) {
				snprintf(why, why_size, "unmatched ')' at offset %zu", i);
				return 0;
			}
			i++;
		}
	}
	if (depth != 0)
		snprintf(why, why_size, "unmatched '('");
	return depth == 0;
}

int policy_regex_compile(regex_t *re, const char *pattern, char *why, size_t why_size)
{
	size_t len = strlen(pattern);
	if (len > REGEX_MAX_LEN) {
		snprintf(why, why_size, "longer than %d bytes", REGEX_MAX_LEN);
		return -1;
	}
	if (!balanced(pattern, why, why_size))
		return -1;
	char *anchored = malloc(len + 5);
	if (!anchored) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	memcpy(anchored, "^(", 2);
	memcpy(anchored + 2, pattern, len);
	memcpy(anchored + 2 + len, ")$", 3);
	int rc = regcomp(re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (rc != 0) {
		regerror(rc, re, why, why_size);
		return -1;
	}
	return 0;
}

int policy_regex_match(const regex_t *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}
