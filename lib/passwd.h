/* Reading a container image's /etc/passwd and /etc/group (the files come
 * from the container's verity layers, so their bytes are attested, but the
 * parser still bounds everything: a layer is the image author's input).
 *
 * A policy user given by name ("user": {"name": "app", "group": "app"}) is
 * resolved by the guest from these files, as hcsshim's guest does; the
 * resolved numeric ids are what runs (docs/policy.md "User"). */
#ifndef UVM_PASSWD_H
#define UVM_PASSWD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define PASSWD_MAX_BYTES (4u << 20) /* larger files are refused */

/* Finds name in passwd(5) text buf[0..len): fields name:pw:uid:gid:...
 * 0 with *uid and *gid (the user's primary group) set; -1 with err when the
 * name is absent, a matching line is malformed, or an id is not a decimal
 * number below 2^32-1. Lines that do not match are skipped even if
 * malformed (comments, blank lines); the first match wins. */
int passwd_find_user(const char *buf, size_t len, const char *name, uint32_t *uid, uint32_t *gid, struct uvm_err *err);

/* The same for group(5) text: fields name:pw:gid:members. */
int passwd_find_group(const char *buf, size_t len, const char *name, uint32_t *gid, struct uvm_err *err);

#endif
