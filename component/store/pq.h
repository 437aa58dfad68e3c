/* libpq errors as text, one way for all of store/. */
#ifndef MUCDESK_STORE_PQ_H
#define MUCDESK_STORE_PQ_H

#include <stddef.h>

#include <libpq-fe.h>

/* Writes the error of a failed libpq call into out (size outlen), on one
 * line (libpq's messages end with a newline and may hold several):
 * "prefix: " when prefix is not NULL, then the result's message, or the
 * connection's when res is NULL or says nothing.  Returns the result's
 * SQLSTATE (owned by res), or NULL when there is none. */
const char *store_pq_error(char *out, size_t outlen, const PGconn *conn,
                           const PGresult *res, const char *prefix);

#endif
