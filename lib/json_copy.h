/* Re-writing a parsed JSON value through a json_writer (e.g. forwarding the
 * host's arguments to the policy engine): the output is the compact form of
 * the same value, with strings re-escaped and numbers copied verbatim. */
#ifndef UVM_JSON_COPY_H
#define UVM_JSON_COPY_H

#include "json.h"

void json_w_value(struct json_writer *w, const struct json_value *v);

#endif
