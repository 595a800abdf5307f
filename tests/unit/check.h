/* Minimal unit-test helpers: each tests/unit/test_*.c is one program that
 * prints TAP ("ok N - what" / "not ok N - what") and exits non-zero when any
 * check failed. tests/test_unit.py runs every such program under pytest.
 * Header-only so that a test is one file. */
#ifndef UVM_TEST_CHECK_H
#define UVM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count;
static int check_failed;

/* CHECK(cond, fmt, ...): one TAP line; on failure also the location. */
#define CHECK(cond, ...)                                                                \
	do {                                                                            \
		int check_ok_ = !!(cond);                                               \
		check_count++;                                                          \
		printf("%s %d - ", check_ok_ ? "ok" : "not ok", check_count);           \
		printf(__VA_ARGS__);                                                    \
		printf("\n");                                                           \
		if (!check_ok_) {                                                       \
			check_failed++;                                                 \
			printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                       \
	} while (0)

#define CHECK_EQ_INT(got, want, ...)                                     \
	do {                                                             \
		long long g_ = (long long)(got), w_ = (long long)(want); \
		CHECK(g_ == w_, __VA_ARGS__);                            \
		if (g_ != w_)                                            \
			printf("#   got %lld, want %lld\n", g_, w_);     \
	} while (0)

#define CHECK_EQ_STR(got, want, ...)                                                                     \
	do {                                                                                             \
		const char *g_ = (got), *w_ = (want);                                                    \
		int same_ = g_ && w_ && strcmp(g_, w_) == 0;                                             \
		CHECK(same_, __VA_ARGS__);                                                               \
		if (!same_)                                                                              \
			printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
	} while (0)

/* CHECK_MSG(msg, needle, fmt, ...): msg (a string, NULL allowed) contains
 * needle; on failure the message is shown. */
#define CHECK_MSG(msg, needle, ...)                                                                \
	do {                                                                                       \
		const char *m_ = (msg);                                                            \
		int has_ = m_ && strstr(m_, (needle)) != NULL;                                     \
		CHECK(has_, __VA_ARGS__);                                                          \
		if (!has_)                                                                         \
			printf("#   message \"%s\" lacks \"%s\"\n", m_ ? m_ : "(null)", (needle)); \
	} while (0)

/* Call at the end of main: prints the TAP plan and returns the exit status. */
static inline int check_done(void)
{
	printf("1..%d\n", check_count);
	if (check_failed)
		printf("# %d of %d checks failed\n", check_failed, check_count);
	return check_failed ? 1 : 0;
}

#endif
