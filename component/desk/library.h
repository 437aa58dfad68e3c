/* Canned responses and the knowledge base in PostgreSQL
 * (sql/005_commands.sql): the SQL both the daemon (on its DB thread) and
 * mucdeskctl run.  Blocking libpq: never on the XMPP thread.  Results are
 * enum desk_db_result (directory.h), with a one-line text in err.
 *
 * Canned responses are read with the directory (desk_db_load) and served
 * from memory; knowledge-base articles are searched in PostgreSQL
 * (full-text search: titles weigh more than bodies, best match first). */
#ifndef MUCDESK_DESK_LIBRARY_H
#define MUCDESK_DESK_LIBRARY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "desk/directory.h"

/* A canned response's name: a-z, 0-9, '.', '_', '-' (1 to 63). */
const char *desk_canned_name_problem(const char *name);

/* queue NULL or "": for every queue.  Adds or replaces. */
int desk_db_canned_save(PGconn *conn, const char *queue, const char *name,
                        const char *body, char *err, size_t errlen);
int desk_db_canned_delete(PGconn *conn, const char *queue, const char *name,
                          char *err, size_t errlen);

struct desk_kb_article {
    int64_t id;
    char *queue;        /* NULL: every queue */
    char *title;
    char *body;
    char *url;          /* NULL: none */
    double rank;        /* search results only */
    char *excerpt;      /* search results only: where the words are */
};

void desk_kb_article_clear(struct desk_kb_article *a);
void desk_kb_articles_free(struct desk_kb_article *list, size_t count);

/* The best `limit` articles for `query` (websearch syntax: words,
 * "phrases", -not, or) among those of `queue` and the global ones (queue
 * NULL: all), best first. */
int desk_db_kb_search(PGconn *conn, const char *queue, const char *query,
                      int limit, struct desk_kb_article **out, size_t *count,
                      char *err, size_t errlen);
/* One article, if visible from `queue` (NULL: any).  DESK_DB_NOT_FOUND if
 * not. */
int desk_db_kb_get(PGconn *conn, int64_t id, const char *queue,
                   struct desk_kb_article *out, char *err, size_t errlen);
/* Adds (a->id 0: the new id is set) or updates an article.  NULL strings
 * keep the current values on update; "" clears url. */
int desk_db_kb_save(PGconn *conn, struct desk_kb_article *a, char *err,
                    size_t errlen);
int desk_db_kb_delete(PGconn *conn, int64_t id, char *err, size_t errlen);
/* Every article (mucdeskctl kb list), by id, without bodies. */
int desk_db_kb_list(PGconn *conn, struct desk_kb_article **out,
                    size_t *count, char *err, size_t errlen);

#endif
