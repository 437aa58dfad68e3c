/* The fakes under the fuzz world (tests/fuzz/world.c): each takes the
 * place of one layer below the desk and the MUC, linked instead of it. */
#ifndef MUCDESK_FUZZ_FAKE_H
#define MUCDESK_FUZZ_FAKE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strophe.h>

#include "core/loop.h"

struct archive;
struct store;
struct link;

/* fake_pq.c: the database.  Tables are borrowed for as long as they are
 * set; cells row-major, NULL for SQL NULL. */
PGconn *fake_pq_conn(void);
void fake_pq_set_table(const char *match, int ncols, int nrows,
                       const char *const *cells);
unsigned long fake_pq_statements(void);

/* fake_store.c: the store and the archive service_new() made last. */
struct archive *fake_archive(void);
/* Holds durability back (a slow disk) or lets it advance again. */
void fake_archive_hold(struct archive *a, bool hold);
/* Refuses appends and new tickets (a full disk). */
void fake_archive_refuse(struct archive *a, bool refuse);

/* fake_link.c: the link service_new() made last; everything the service
 * writes is kept until taken; fake_link_receive() hands it a stanza as
 * the server would (the service's stanza callback). */
struct link *fake_link(void);
const char *fake_link_output(struct link *link, size_t *len);
void fake_link_clear(struct link *link);
void fake_link_receive(struct link *link, xmpp_stanza_t *st);

/* fake_rand.c: RAND_bytes() from a seeded generator, so that an input
 * replays exactly (session ids, tokens, stanza ids). */
void fake_rand_seed(uint64_t seed);

#endif
