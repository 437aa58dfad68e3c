/* Canned responses and the knowledge base: the SQL of the daemon's DB
 * thread and of mucdeskctl (see library.h). */
#include "build-config.h"

#include "desk/library.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static char *dup_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
                                      : strdup(PQgetvalue(res, row, col));
}

static const char *empty_to_null(const char *s)
{
    return s && *s ? s : NULL;
}

const char *desk_canned_name_problem(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 63)
        return "must be 1 to 63 characters";
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              ((c == '.' || c == '_' || c == '-') && i > 0)))
            return "may hold only a-z, 0-9, '.', '_' and '-'";
    }
    return NULL;
}

static int exec_command(PGconn *conn, const char *sql, int n,
                        const char *const *params, const char *none_text,
                        char *err, size_t errlen)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK &&
        PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    bool none = strcmp(PQcmdTuples(res), "0") == 0;
    PQclear(res);
    if (none && none_text) {
        utf8_snprintf(err, errlen, "%s", none_text);
        return DESK_DB_NOT_FOUND;
    }
    return DESK_DB_OK;
}

int desk_db_canned_save(PGconn *conn, const char *queue, const char *name,
                        const char *body, char *err, size_t errlen)
{
    const char *problem = desk_canned_name_problem(name);
    if (problem) {
        utf8_snprintf(err, errlen, "name: %s", problem);
        return DESK_DB_INVALID;
    }
    if (!body || !*body) {
        snprintf(err, errlen, "text: a canned response needs a text");
        return DESK_DB_INVALID;
    }
    const char *p[] = {empty_to_null(queue), name, body};
    int rc = exec_command(
        conn,
        "INSERT INTO canned_responses (queue, name, body) VALUES ($1, $2, $3)"
        " ON CONFLICT ((coalesce(queue, '')), name) DO UPDATE"
        " SET body = excluded.body, updated_at = now()",
        3, p, NULL, err, errlen);
    if (rc == DESK_DB_NOT_FOUND)
        utf8_snprintf(err, errlen, "queue: no queue named %s", queue);
    return rc;
}

int desk_db_canned_delete(PGconn *conn, const char *queue, const char *name,
                          char *err, size_t errlen)
{
    const char *p[] = {queue ? queue : "", name};
    return exec_command(conn,
                        "DELETE FROM canned_responses WHERE "
                        "coalesce(queue, '') = $1 AND name = $2",
                        2, p, "no such canned response", err, errlen);
}

/* ---- knowledge base --------------------------------------------------------- */

void desk_kb_article_clear(struct desk_kb_article *a)
{
    free(a->queue);
    free(a->title);
    free(a->body);
    free(a->url);
    free(a->excerpt);
    memset(a, 0, sizeof *a);
}

void desk_kb_articles_free(struct desk_kb_article *list, size_t count)
{
    for (size_t i = 0; list && i < count; i++)
        desk_kb_article_clear(&list[i]);
    free(list);
}

/* Rows (id, queue, title, body, url, rank, excerpt) into a list. */
static int read_articles(PGresult *res, struct desk_kb_article **out,
                         size_t *count, char *err, size_t errlen)
{
    *count = 0;
    int n;
    *out = desk_db_rows(res, sizeof **out, &n, err, errlen);
    if (!*out)
        return DESK_DB_FAILED;
    for (int i = 0; i < n; i++) {
        struct desk_kb_article *a = &(*out)[i];
        a->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        a->queue = dup_or_null(res, i, 1);
        a->title = dup_or_null(res, i, 2);
        a->body = dup_or_null(res, i, 3);
        a->url = dup_or_null(res, i, 4);
        a->rank = PQgetisnull(res, i, 5) ? 0 : strtod(PQgetvalue(res, i, 5),
                                                       NULL);
        a->excerpt = dup_or_null(res, i, 6);
        (*count)++;
    }
    PQclear(res);
    return DESK_DB_OK;
}

int desk_db_kb_search(PGconn *conn, const char *queue, const char *query,
                      int limit, struct desk_kb_article **out, size_t *count,
                      char *err, size_t errlen)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit > 0 ? limit : 5);
    const char *p[] = {query, empty_to_null(queue), lim};
    /* ts_rank with the default weights: a word in the title (A) counts
     * 2.5 times one in the body (B); ties by the newest article. */
    PGresult *res = PQexecParams(
        conn,
        "SELECT a.id, a.queue, a.title, NULL, a.url, ts_rank(a.search, q),"
        " ts_headline('english', a.body, q, 'MaxWords=14, MinWords=6,"
        " StartSel=\"\", StopSel=\"\", MaxFragments=1')"
        " FROM kb_articles a, websearch_to_tsquery('english', $1) q"
        " WHERE a.search @@ q AND ($2::text IS NULL OR a.queue IS NULL"
        "  OR a.queue = $2)"
        " ORDER BY 6 DESC, a.id DESC LIMIT $3::integer",
        3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    return read_articles(res, out, count, err, errlen);
}

int desk_db_kb_get(PGconn *conn, int64_t id, const char *queue,
                   struct desk_kb_article *out, char *err, size_t errlen)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)id);
    const char *p[] = {n, empty_to_null(queue)};
    PGresult *res = PQexecParams(
        conn,
        "SELECT id, queue, title, body, url, NULL, NULL FROM kb_articles"
        " WHERE id = $1::bigint AND ($2::text IS NULL OR queue IS NULL"
        "  OR queue = $2)",
        2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    struct desk_kb_article *list;
    size_t count;
    int rc = read_articles(res, &list, &count, err, errlen);
    if (rc != DESK_DB_OK)
        return rc;
    if (count == 0) {
        free(list);
        snprintf(err, errlen, "no article #%lld", (long long)id);
        return DESK_DB_NOT_FOUND;
    }
    *out = list[0];
    free(list);
    return DESK_DB_OK;
}

int desk_db_kb_save(PGconn *conn, struct desk_kb_article *a, char *err,
                    size_t errlen)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)a->id);
    const char *p[] = {n, a->queue, a->title, a->body, a->url};
    if (a->id == 0 && (!a->title || !a->title[0])) {
        snprintf(err, errlen, "title: an article needs a title");
        return DESK_DB_INVALID;
    }
    PGresult *res = PQexecParams(
        conn,
        a->id == 0
            ? "INSERT INTO kb_articles (queue, title, body, url) VALUES"
              " (nullif($2, ''), $3, coalesce($4, ''), nullif($5, ''))"
              " RETURNING id, $1::bigint"
            : "UPDATE kb_articles SET"
              " queue = CASE WHEN $2::text IS NULL THEN queue"
              "  ELSE nullif($2, '') END,"
              " title = coalesce(nullif($3, ''), title),"
              " body = coalesce($4, body),"
              " url = CASE WHEN $5::text IS NULL THEN url"
              "  ELSE nullif($5, '') END, updated_at = now()"
              " WHERE id = $1::bigint RETURNING id",
        5, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int rc = desk_db_error(conn, res, err, errlen);
        if (rc == DESK_DB_NOT_FOUND)
            utf8_snprintf(err, errlen, "queue: no queue named %s",
                          a->queue ? a->queue : "");
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        snprintf(err, errlen, "no article #%lld", (long long)a->id);
        return DESK_DB_NOT_FOUND;
    }
    a->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return DESK_DB_OK;
}

int desk_db_kb_delete(PGconn *conn, int64_t id, char *err, size_t errlen)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)id);
    const char *p[] = {n};
    return exec_command(conn, "DELETE FROM kb_articles WHERE id = $1::bigint",
                        1, p, "no such article", err, errlen);
}

int desk_db_kb_list(PGconn *conn, struct desk_kb_article **out,
                    size_t *count, char *err, size_t errlen)
{
    PGresult *res = PQexec(conn, "SELECT id, queue, title, NULL, url, NULL,"
                                 " NULL FROM kb_articles ORDER BY id");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return desk_db_error(conn, res, err, errlen);
    return read_articles(res, out, count, err, errlen);
}
