/*
 * worker_events: the monitor's policy for the events a worker reports
 * (IPC_EVENT): which types it may send in which phase, and for each type
 * which fields, of which JSON type and range. Everything else is refused,
 * and a refusal kills the worker: our worker never sends it, so a worker
 * that does is not ours any more.
 *
 * The fields are copied, never passed through: a worker cannot set the
 * monitor's fields (timestamp, session, src_ip...), an alert, or a value
 * nested deeper than a scalar. docs/events.md lists the same fields.
 */
#ifndef HERMES_WORKER_EVENTS_H
#define HERMES_WORKER_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Checks one reported event. type/type_len and fields/fields_len are the
 * message's two strings, as the worker sent them. On success returns a new
 * object holding only the checked fields (the caller owns it) and sets
 * *type_out to the policy's own copy of the type name. On refusal returns
 * NULL with *why set to a static reason. */
json_t *worker_event_check(const uint8_t *type, size_t type_len, bool authed, const uint8_t *fields,
                           size_t fields_len, const char **type_out, const char **why);

#endif
