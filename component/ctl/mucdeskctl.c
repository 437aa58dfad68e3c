/* mucdeskctl: what admins do with ad-hoc commands, from the host's shell. */
#include "build-config.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/jid.h"
#include "ctl/ctl.h"
#include "ctl/status.h"
#include "desk/directory.h"
#include "desk/library.h"
#include "desk/reports.h"
#include "desk/text.h"
#include "desk/transcript.h"
#include "store/migrate.h"
#include "xmpp/stamp.h"

#include <pwd.h>
#include <unistd.h>

enum exit_status { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

/* How long after a chat ended mucdeskctl purge-customer leaves its ticket
 * alone (the daemon ships its last lines well within this). */
#define CTL_PURGE_SETTLE_S 600

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mucdeskctl check-config FILE\n"
            "       mucdeskctl -c FILE migrate\n"
            "       mucdeskctl -c FILE queue-create QUEUE [--name TEXT] [--strategy S]\n"
            "                  [--offer-timeout SECONDS] [--max-wait SECONDS]\n"
            "                  [--answer-reminder SECONDS]\n"
            "                  [--greeting TEXT] [--offline-message TEXT]\n"
            "                  [--prechat-fields LINES] [--hours TEXT] [--timezone ZONE]\n"
            "                  [--closed-message TEXT] [--transcript-email yes|no]\n"
            "       mucdeskctl -c FILE queue-configure QUEUE [the options above]\n"
            "       mucdeskctl -c FILE queue-list\n"
            "       mucdeskctl -c FILE queue-delete QUEUE\n"
            "       mucdeskctl -c FILE agent-add QUEUE JID [--role agent|supervisor]\n"
            "                  [--max-chats N] [--skills a,b] [--takes-chats yes|no|role]\n"
            "       mucdeskctl -c FILE agent-remove QUEUE JID\n"
            "       mucdeskctl -c FILE agent-list [QUEUE]\n"
            "       mucdeskctl -c FILE canned-list [QUEUE]\n"
            "       mucdeskctl -c FILE canned-set QUEUE|- NAME TEXT\n"
            "       mucdeskctl -c FILE canned-delete QUEUE|- NAME\n"
            "       mucdeskctl -c FILE kb-add --title TEXT [--body TEXT] [--url URL]\n"
            "                  [--queue QUEUE]\n"
            "       mucdeskctl -c FILE kb-update ID [the options above]\n"
            "       mucdeskctl -c FILE kb-delete ID\n"
            "       mucdeskctl -c FILE kb-list\n"
            "       mucdeskctl -c FILE kb-search QUERY [--queue QUEUE]\n"
            "       mucdeskctl -c FILE stats [--queue QUEUE] [--from WHEN] [--to WHEN]\n"
            "       mucdeskctl -c FILE ticket-search [--customer TEXT] [--status S]\n"
            "                  [--queue QUEUE] [--agent JID] [--from WHEN] [--to WHEN]\n"
            "                  [--text TEXT] [--max N]\n"
            "       mucdeskctl -c FILE transcript TICKET [--view staff|customer]\n"
            "                  [--pdf [-o FILE]]\n"
            "       mucdeskctl -c FILE tickets [--queue Q] [--status S] [--owner JID|none]\n"
            "                  [--text TEXT] [--age 3d|>3d] [--max N]\n"
            "       mucdeskctl -c FILE ticket N\n"
            "       mucdeskctl -c FILE ticket-update N field=value...\n"
            "       mucdeskctl -c FILE ticket-reply N TEXT\n"
            "       mucdeskctl -c FILE webhook-add URL [--events a,b] [--queues q1,q2]\n"
            "                  [--secret S] [--description TEXT]\n"
            "       mucdeskctl -c FILE webhook-list\n"
            "       mucdeskctl -c FILE webhook-test|webhook-pause|webhook-resume ID\n"
            "       mucdeskctl -c FILE webhook-replay ID [--since TIME]\n"
            "       mucdeskctl -c FILE webhook-remove ID\n"
            "       mucdeskctl -c FILE webhook-dead [ID]\n"
            "       mucdeskctl -c FILE mail-in < MESSAGE\n"
            "       mucdeskctl -c FILE purge-customer EMAIL-OR-JID --yes\n"
            "       mucdeskctl -c FILE widget-snippet QUEUE-OR-QUEUE-JID\n"
            "       mucdeskctl -c FILE status\n"
            "       mucdeskctl --version | --help\n"
            "\n"
            "  check-config FILE  validate a configuration file exactly as the\n"
            "                     daemon does; prints nothing and exits 0 if valid\n"
            "  migrate            apply pending schema migrations\n"
            "  queue-*, agent-*   manage queues and agents (a running mucdesk\n"
            "                     picks the change up within [desk] reload_interval)\n"
            "  canned-*, kb-*     canned responses (QUEUE '-': every queue) and the\n"
            "                     knowledge base\n"
            "  stats, ticket-search, transcript   reports (WHEN: 2025-01-31 or\n"
            "                     2025-01-31T10:00:00Z)\n"
            "  transcript --pdf   the transcript as a PDF document (to FILE, or\n"
            "                     standard output)\n"
            "  tickets, ticket, ticket-update, ticket-reply   tickets after the\n"
            "                     chat: list (open ones by default), show, change\n"
            "                     (status owner queue priority impact ci tags\n"
            "                     solution note merge-into), mail the customer\n"
            "  webhook-*          webhook endpoints: add (prints its id and secret),\n"
            "                     list, test, pause, resume, replay dead events\n"
            "                     (and delivered ones since TIME), remove, and\n"
            "                     the dead-letter list\n"
            "  mail-in            one e-mail on standard input (as an MTA pipes\n"
            "                     it): added to its ticket, or a new ticket in\n"
            "                     [mail] in_queue; exit codes of sysexits.h\n"
            "  purge-customer     erase a customer's personal data and transcripts\n"
            "                     (all but live chats and those ended in the\n"
            "                     last 10 minutes; recorded in audit_events)\n"
            "  widget-snippet     the HTML of doc/widget-protocol.md section 8\n"
            "  status             the running daemon's state and counts, read from\n"
            "                     its /metrics ([http] listen)\n");
}

static int load_config(const char *path, struct config *cfg)
{
    struct config_error err;
    if (config_load(path, cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err.text);
        return -1;
    }
    return 0;
}

PGconn *ctl_connect_db(const struct config *cfg)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", cfg->database.connect_timeout_s);
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {timeout, "mucdeskctl", cfg->database.conninfo,
                            NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "mucdeskctl: cannot connect to the database: %s",
                conn ? PQerrorMessage(conn) : "out of memory\n");
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

static int cmd_migrate(const struct config *cfg)
{
    PGconn *conn = ctl_connect_db(cfg);
    if (!conn)
        return EXIT_FAILURE_;
    char err[1024];
    int applied = migrate_apply(conn, err, sizeof err);
    int version = applied >= 0 ? migrate_current_version(conn, err, sizeof err)
                               : -1;
    PQfinish(conn);
    if (applied < 0 || version < 0) {
        fprintf(stderr, "mucdeskctl: %s\n", err);
        return EXIT_FAILURE_;
    }
    printf("schema at version %d (%d migration(s) applied)\n", version,
           applied);
    return EXIT_OK;
}

/* ---- queues and agents --------------------------------------------------- */

static int db_status(int rc, const char *err)
{
    if (rc == DESK_DB_OK)
        return EXIT_OK;
    fprintf(stderr, "mucdeskctl: %s\n", err);
    return rc == DESK_DB_FAILED ? EXIT_FAILURE_ : EXIT_USAGE;
}

/* --option VALUE pairs after the positional arguments. */
static const char *option(int argc, char **argv, int from, const char *name)
{
    for (int i = from; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static int check_options(int argc, char **argv, int from,
                         const char *const *allowed)
{
    for (int i = from; i < argc; i += 2) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(argv[i], *a) == 0;
        if (!ok || i + 1 >= argc) {
            fprintf(stderr, "mucdeskctl: unexpected argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int int_option(int argc, char **argv, int from, const char *name,
                      long min, long max, int *out)
{
    const char *v = option(argc, argv, from, name);
    *out = -1;
    if (!v)
        return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < min || n > max) {
        fprintf(stderr, "mucdeskctl: %s must be a number from %ld to %ld\n",
                name, min, max);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int cmd_queue_save(PGconn *conn, int argc, char **argv, int i,
                          bool create)
{
    static const char *const allowed[] = {
        "--name", "--strategy", "--offer-timeout", "--max-wait",
        "--answer-reminder",
        "--greeting", "--offline-message", "--prechat-fields", "--hours",
        "--timezone", "--closed-message", "--transcript-email", NULL};
    if (i >= argc || check_options(argc, argv, i + 1, allowed) < 0)
        return EXIT_USAGE;
    struct desk_queue_row q = {.name = argv[i]};
    const char *problem = desk_queue_name_problem(q.name);
    if (problem) {
        fprintf(stderr, "mucdeskctl: queue name %s\n", problem);
        return EXIT_USAGE;
    }
    q.title = (char *)option(argc, argv, i + 1, "--name");
    q.strategy = (char *)option(argc, argv, i + 1, "--strategy");
    q.greeting = (char *)option(argc, argv, i + 1, "--greeting");
    q.offline_message = (char *)option(argc, argv, i + 1, "--offline-message");
    q.prechat_fields = (char *)option(argc, argv, i + 1, "--prechat-fields");
    q.hours = (char *)option(argc, argv, i + 1, "--hours");
    q.timezone = (char *)option(argc, argv, i + 1, "--timezone");
    q.closed_message = (char *)option(argc, argv, i + 1, "--closed-message");
    const char *te = option(argc, argv, i + 1, "--transcript-email");
    q.transcript_email = -1;
    if (te) {
        if (strcmp(te, "yes") == 0 || strcmp(te, "1") == 0)
            q.transcript_email = 1;
        else if (strcmp(te, "no") == 0 || strcmp(te, "0") == 0)
            q.transcript_email = 0;
        else {
            fprintf(stderr, "mucdeskctl: --transcript-email must be yes or no\n");
            return EXIT_USAGE;
        }
    }
    if (q.strategy && !desk_strategy_known(q.strategy)) {
        fprintf(stderr, "mucdeskctl: --strategy must be manual, round-robin, "
                        "least-busy or skills\n");
        return EXIT_USAGE;
    }
    if (int_option(argc, argv, i + 1, "--offer-timeout", 1, 600,
                   &q.offer_timeout) < 0 ||
        int_option(argc, argv, i + 1, "--max-wait", 0, 86400, &q.max_wait) < 0 ||
        int_option(argc, argv, i + 1, "--answer-reminder", 0, 86400,
                   &q.answer_reminder) < 0)
        return EXIT_USAGE;
    char err[512];
    int rc = desk_db_queue_save(conn, &q, create, err, sizeof err);
    if (rc == DESK_DB_EXISTS)
        snprintf(err, sizeof err, "queue %s exists", q.name);
    if (rc == DESK_DB_OK)
        printf("queue %s %s\n", q.name, create ? "created" : "configured");
    return db_status(rc, err);
}

static int cmd_queue_list(PGconn *conn)
{
    struct desk_directory dir;
    char err[512];
    int rc = desk_db_load(conn, &dir, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    for (size_t i = 0; i < dir.queue_count; i++) {
        const struct desk_queue_row *q = &dir.queues[i];
        size_t agents = 0;
        for (size_t k = 0; k < dir.agent_count; k++)
            agents += strcmp(dir.agents[k].queue, q->name) == 0;
        printf("%s\t%s\t%s\toffer-timeout=%d\tmax-wait=%d\tagents=%zu\t"
               "timezone=%s\ttranscript-email=%s\tanswer-reminder=%d\n",
               q->name, q->title, q->strategy, q->offer_timeout, q->max_wait,
               agents, q->timezone, q->transcript_email ? "yes" : "no",
               q->answer_reminder);
    }
    desk_directory_free(&dir);
    return EXIT_OK;
}

static int cmd_agent_add(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--role", "--max-chats", "--skills",
                                          "--takes-chats", NULL};
    if (i + 1 >= argc || check_options(argc, argv, i + 2, allowed) < 0)
        return EXIT_USAGE;
    struct desk_agent_row a = {.queue = argv[i], .jid = argv[i + 1]};
    a.role = (char *)option(argc, argv, i + 2, "--role");
    if (a.role && strcmp(a.role, "agent") && strcmp(a.role, "supervisor")) {
        fprintf(stderr, "mucdeskctl: --role must be agent or supervisor\n");
        return EXIT_USAGE;
    }
    /* Prepared as the daemon prepares the JIDs it compares this with. */
    struct jid j;
    char bare[JID_TEXT_MAX + 1];
    if (jid_parse(a.jid, &j) < 0 || !jid_has_local(&j) ||
        jid_has_resource(&j) || jid_bare_text(&j, bare, sizeof bare) < 0) {
        fprintf(stderr, "mucdeskctl: %s is not a bare JID\n", a.jid);
        return EXIT_USAGE;
    }
    a.jid = bare;
    if (int_option(argc, argv, i + 2, "--max-chats", 1, 100, &a.max_chats) < 0)
        return EXIT_USAGE;
    a.skills = (char *)option(argc, argv, i + 2, "--skills");
    const char *takes = option(argc, argv, i + 2, "--takes-chats");
    if (takes && desk_takes_parse(takes, &a.takes_chats) < 0) {
        fprintf(stderr, "mucdeskctl: --takes-chats must be yes, no or role\n");
        return EXIT_USAGE;
    }
    char err[512];
    int rc = desk_db_agent_save(conn, &a, err, sizeof err);
    if (rc == DESK_DB_OK)
        printf("%s is %s of queue %s\n", a.jid, a.role ? a.role : "agent",
               a.queue);
    return db_status(rc, err);
}

static int cmd_agent_list(PGconn *conn, const char *queue)
{
    struct desk_directory dir;
    char err[512];
    int rc = desk_db_load(conn, &dir, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    for (size_t k = 0; k < dir.agent_count; k++) {
        const struct desk_agent_row *a = &dir.agents[k];
        if (queue && strcmp(a->queue, queue) != 0)
            continue;
        printf("%s\t%s\t%s\tmax-chats=%d\tskills=%s\ttakes-chats=%s\n",
               a->queue, a->jid, a->role, a->max_chats,
               a->skills ? a->skills : "",
               desk_agent_takes_chats(a->role, a->takes_chats) ? "yes" : "no");
    }
    desk_directory_free(&dir);
    return EXIT_OK;
}

static int cmd_directory(const struct config *cfg, const char *command,
                         int argc, char **argv, int i)
{
    PGconn *conn = ctl_connect_db(cfg);
    if (!conn)
        return EXIT_FAILURE_;
    char err[512] = "";
    int status;
    if (strcmp(command, "queue-create") == 0) {
        status = cmd_queue_save(conn, argc, argv, i, true);
    } else if (strcmp(command, "queue-configure") == 0) {
        status = cmd_queue_save(conn, argc, argv, i, false);
    } else if (strcmp(command, "queue-list") == 0 && i == argc) {
        status = cmd_queue_list(conn);
    } else if (strcmp(command, "queue-delete") == 0 && i + 1 == argc) {
        int rc = desk_db_queue_delete(conn, argv[i], err, sizeof err);
        if (rc == DESK_DB_OK)
            printf("queue %s deleted\n", argv[i]);
        status = db_status(rc, err);
    } else if (strcmp(command, "agent-add") == 0) {
        status = cmd_agent_add(conn, argc, argv, i);
    } else if (strcmp(command, "agent-remove") == 0 && i + 2 == argc) {
        struct jid j;
        char bare[JID_TEXT_MAX + 1];
        const char *who = argv[i + 1];
        if (jid_parse(who, &j) == 0 && jid_bare_text(&j, bare, sizeof bare) > 0)
            who = bare;
        int rc = desk_db_agent_remove(conn, argv[i], who, err, sizeof err);
        if (rc == DESK_DB_OK)
            printf("%s removed from queue %s\n", argv[i + 1], argv[i]);
        status = db_status(rc, err);
    } else if (strcmp(command, "agent-list") == 0 && i + 1 >= argc) {
        status = cmd_agent_list(conn, i < argc ? argv[i] : NULL);
    } else {
        usage(stderr);
        status = EXIT_USAGE;
    }
    PQfinish(conn);
    return status;
}

/* ---- canned responses and the knowledge base ---------------------------------- */

static const char *queue_arg(const char *a)
{
    return strcmp(a, "-") == 0 ? "" : a;
}

static int cmd_canned_list(PGconn *conn, const char *queue)
{
    struct desk_directory dir;
    char err[512];
    int rc = desk_db_load(conn, &dir, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    for (size_t i = 0; i < dir.canned_count; i++) {
        const struct desk_canned_row *c = &dir.canned[i];
        if (queue && strcmp(c->queue, queue_arg(queue)) != 0)
            continue;
        printf("%s\t%s\t", c->queue[0] ? c->queue : "-", c->name);
        for (const char *p = c->body; *p; p++)
            putchar(*p == '\n' ? ' ' : *p);
        putchar('\n');
    }
    desk_directory_free(&dir);
    return EXIT_OK;
}

static int kb_options(int argc, char **argv, int from,
                      struct desk_kb_article *a)
{
    static const char *const allowed[] = {"--title", "--body", "--url",
                                          "--queue", NULL};
    if (check_options(argc, argv, from, allowed) < 0)
        return -1;
    a->title = (char *)option(argc, argv, from, "--title");
    a->body = (char *)option(argc, argv, from, "--body");
    a->url = (char *)option(argc, argv, from, "--url");
    a->queue = (char *)option(argc, argv, from, "--queue");
    char url[2048];
    if (a->url && a->url[0] && !desk_is_url(a->url, url, sizeof url)) {
        fprintf(stderr, "mucdeskctl: --url must be an http(s) address\n");
        return -1;
    }
    return 0;
}

static int cmd_kb_search(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--queue", NULL};
    if (i >= argc || check_options(argc, argv, i + 1, allowed) < 0)
        return EXIT_USAGE;
    struct desk_kb_article *hits;
    size_t n;
    char err[512];
    int rc = desk_db_kb_search(conn, option(argc, argv, i + 1, "--queue"),
                               argv[i], 10, &hits, &n, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    for (size_t k = 0; k < n; k++)
        printf("%lld\t%.4f\t%s\t%s\n", (long long)hits[k].id, hits[k].rank,
               hits[k].title, hits[k].url ? hits[k].url : "");
    desk_kb_articles_free(hits, n);
    return EXIT_OK;
}

static int parse_id(const char *s, int64_t *id)
{
    long v;
    if (desk_parse_int(s[0] == '#' ? s + 1 : s, 1, INT64_MAX / 2, &v) < 0) {
        fprintf(stderr, "mucdeskctl: %s is not a number\n", s);
        return -1;
    }
    *id = v;
    return 0;
}

static int cmd_library(PGconn *conn, const char *command, int argc,
                       char **argv, int i)
{
    char err[512] = "";
    int rc;
    if (strcmp(command, "canned-list") == 0 && i + 1 >= argc)
        return cmd_canned_list(conn, i < argc ? argv[i] : NULL);
    if (strcmp(command, "canned-set") == 0 && i + 3 == argc) {
        rc = desk_db_canned_save(conn, queue_arg(argv[i]), argv[i + 1],
                                 argv[i + 2], err, sizeof err);
        if (rc == DESK_DB_OK)
            printf("canned response %s saved\n", argv[i + 1]);
        return db_status(rc, err);
    }
    if (strcmp(command, "canned-delete") == 0 && i + 2 == argc) {
        rc = desk_db_canned_delete(conn, queue_arg(argv[i]), argv[i + 1], err,
                                   sizeof err);
        if (rc == DESK_DB_OK)
            printf("canned response %s deleted\n", argv[i + 1]);
        return db_status(rc, err);
    }
    if (strcmp(command, "kb-add") == 0 || strcmp(command, "kb-update") == 0) {
        struct desk_kb_article a = {0};
        bool add = strcmp(command, "kb-add") == 0;
        int from = i;
        if (!add) {
            if (i >= argc || parse_id(argv[i], &a.id) < 0)
                return EXIT_USAGE;
            from = i + 1;
        }
        if (kb_options(argc, argv, from, &a) < 0)
            return EXIT_USAGE;
        rc = desk_db_kb_save(conn, &a, err, sizeof err);
        if (rc == DESK_DB_OK)
            printf("%lld\n", (long long)a.id);
        return db_status(rc, err);
    }
    if (strcmp(command, "kb-delete") == 0 && i + 1 == argc) {
        int64_t id;
        if (parse_id(argv[i], &id) < 0)
            return EXIT_USAGE;
        rc = desk_db_kb_delete(conn, id, err, sizeof err);
        if (rc == DESK_DB_OK)
            printf("article %lld deleted\n", (long long)id);
        return db_status(rc, err);
    }
    if (strcmp(command, "kb-list") == 0 && i == argc) {
        struct desk_kb_article *list;
        size_t n;
        rc = desk_db_kb_list(conn, &list, &n, err, sizeof err);
        if (rc != DESK_DB_OK)
            return db_status(rc, err);
        for (size_t k = 0; k < n; k++)
            printf("%lld\t%s\t%s\t%s\n", (long long)list[k].id,
                   list[k].queue ? list[k].queue : "-", list[k].title,
                   list[k].url ? list[k].url : "");
        desk_kb_articles_free(list, n);
        return EXIT_OK;
    }
    if (strcmp(command, "kb-search") == 0)
        return cmd_kb_search(conn, argc, argv, i);
    usage(stderr);
    return EXIT_USAGE;
}

/* ---- reports ------------------------------------------------------------------- */

static int when_option(int argc, char **argv, int from, const char *name,
                       int64_t *us)
{
    const char *v = option(argc, argv, from, name);
    *us = 0;
    if (v && desk_parse_when(v, us) < 0) {
        fprintf(stderr, "mucdeskctl: %s: a date (2025-01-31) or a time "
                        "(2025-01-31T10:00:00Z)\n", name);
        return -1;
    }
    return 0;
}

static int cmd_stats(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--queue", "--from", "--to", NULL};
    int64_t from, to;
    if (check_options(argc, argv, i, allowed) < 0 ||
        when_option(argc, argv, i, "--from", &from) < 0 ||
        when_option(argc, argv, i, "--to", &to) < 0)
        return EXIT_USAGE;
    const char *queue = option(argc, argv, i, "--queue");
    const char *only[] = {queue, NULL};
    struct desk_stats *rows;
    size_t n;
    char err[512];
    int rc = desk_db_stats(conn, from, to, queue ? only : NULL, queue ? 1 : 0,
                           &rows, &n, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    struct desk_stats total;
    memset(&total, 0, sizeof total);
    total.waiting = total.active = total.online = total.available = -1;
    struct buf out = BUF_INIT;
    for (size_t k = 0; k < n; k++) {
        desk_stats_add(&total, &rows[k]);
        desk_stats_text(&rows[k], &out);
        buf_append_char(&out, '\n');
    }
    if (!queue) {
        desk_stats_text(&total, &out);
        buf_append_char(&out, '\n');
    }
    fputs(buf_cstr(&out), stdout);
    buf_free(&out);
    free(rows);
    return EXIT_OK;
}

static int cmd_ticket_search(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--customer", "--status", "--queue",
                                          "--agent", "--from", "--to",
                                          "--text", "--max", NULL};
    struct desk_search q = {0};
    int max;
    if (check_options(argc, argv, i, allowed) < 0 ||
        when_option(argc, argv, i, "--from", &q.from_us) < 0 ||
        when_option(argc, argv, i, "--to", &q.to_us) < 0 ||
        int_option(argc, argv, i, "--max", 1, 100000, &max) < 0)
        return EXIT_USAGE;
    q.limit = max > 0 ? max : 100;
    q.customer = option(argc, argv, i, "--customer");
    q.status = option(argc, argv, i, "--status");
    q.queue = option(argc, argv, i, "--queue");
    q.agent = option(argc, argv, i, "--agent");
    q.text = option(argc, argv, i, "--text");
    struct desk_found *found;
    size_t n;
    char err[512];
    int rc = desk_db_ticket_search(conn, &q, &found, &n, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    for (size_t k = 0; k < n; k++) {
        const struct desk_found *f = &found[k];
        char when[STAMP_TEXT_MAX];
        stamp_format(f->created_us, when);
        printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)f->id,
               f->queue, f->status, when,
               f->customer_name ? f->customer_name : "",
               f->customer_email ? f->customer_email : "",
               f->owner_jid ? f->owner_jid : "", f->subject ? f->subject : "");
    }
    desk_found_free(found, n);
    return EXIT_OK;
}

static int cmd_transcript(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--view", "-o", NULL};
    int64_t id;
    /* --pdf is a flag; the other options come in pairs. */
    char *rest[64];
    int nrest = 0;
    bool pdf = false;
    for (int k = i + 1; k < argc; k++) {
        if (strcmp(argv[k], "--pdf") == 0)
            pdf = true;
        else if (nrest < 63)
            rest[nrest++] = argv[k];
    }
    rest[nrest] = NULL;
    if (i >= argc || parse_id(argv[i], &id) < 0 ||
        check_options(nrest, rest, 0, allowed) < 0)
        return EXIT_USAGE;
    const char *view = option(nrest, rest, 0, "--view");
    const char *path = option(nrest, rest, 0, "-o");
    if (view && strcmp(view, "staff") && strcmp(view, "customer")) {
        fprintf(stderr, "mucdeskctl: --view must be staff or customer\n");
        return EXIT_USAGE;
    }
    if (path && !pdf) {
        fprintf(stderr, "mucdeskctl: -o goes with --pdf\n");
        return EXIT_USAGE;
    }
    enum desk_view v = view && strcmp(view, "customer") == 0 ? DESK_VIEW_CUSTOMER
                                                              : DESK_VIEW_STAFF;
    struct desk_transcript t;
    char err[512];
    int rc = desk_db_transcript(conn, id, 0, &t, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    int status = EXIT_OK;
    if (pdf) {
        status = ctl_transcript_pdf(&t, v, path) < 0 ? EXIT_FAILURE_ : EXIT_OK;
    } else {
        struct buf out = BUF_INIT;
        desk_transcript_text(&t, v, &out);
        fputs(buf_cstr(&out), stdout);
        buf_free(&out);
    }
    desk_transcript_free(&t);
    return status;
}

static int cmd_purge(PGconn *conn, int argc, char **argv, int i)
{
    if (i + 2 != argc || strcmp(argv[i + 1], "--yes") != 0) {
        fprintf(stderr, "mucdeskctl: purge-customer EMAIL-OR-JID --yes (it "
                        "cannot be undone)\n");
        return EXIT_USAGE;
    }
    const char *who = argv[i];
    struct jid j;
    char bare[JID_TEXT_MAX + 1];
    if (strchr(who, '@') && jid_parse(who, &j) == 0 && jid_has_local(&j) &&
        jid_bare_text(&j, bare, sizeof bare) > 0)
        who = bare;
    const struct passwd *pw = getpwuid(geteuid());
    char actor[300];
    snprintf(actor, sizeof actor, "mucdeskctl:%s", pw ? pw->pw_name : "?");
    long erased, open;
    char err[512];
    /* A running daemon may still hold the last lines of a chat that just
     * ended in its journal: leave such tickets for a later run (the
     * purge-customer ad-hoc command waits for the archive instead). */
    int rc = desk_db_purge_customer(conn, who, actor, CTL_PURGE_SETTLE_S,
                                    &erased, &open, err, sizeof err);
    if (rc != DESK_DB_OK)
        return db_status(rc, err);
    printf("erased %ld ticket(s)", erased);
    if (open)
        printf("; %ld live or just ended (last %d minutes) left: purge again "
               "once they are over",
               open, CTL_PURGE_SETTLE_S / 60);
    printf("\n");
    return EXIT_OK;
}

static int cmd_reports(PGconn *conn, const char *command, int argc,
                       char **argv, int i)
{
    if (strcmp(command, "stats") == 0)
        return cmd_stats(conn, argc, argv, i);
    if (strcmp(command, "ticket-search") == 0)
        return cmd_ticket_search(conn, argc, argv, i);
    if (strcmp(command, "transcript") == 0)
        return cmd_transcript(conn, argc, argv, i);
    return cmd_purge(conn, argc, argv, i);
}

/* The snippet needs the database only to check that the queue exists; a
 * queue JID is taken as it is. */
static int cmd_snippet(const struct config *cfg, int argc, char **argv, int i)
{
    if (i + 1 != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!cfg->widget.script_url || !cfg->widget.websocket_url ||
        !cfg->widget.anonymous_domain) {
        fprintf(stderr, "mucdeskctl: set script_url, websocket_url and "
                        "anonymous_domain in [widget] first\n");
        return EXIT_USAGE;
    }
    char jid[JID_TEXT_MAX + 1];
    const char *queue = argv[i];
    if (strchr(queue, '@')) {
        snprintf(jid, sizeof jid, "%s", queue);
    } else {
        PGconn *conn = ctl_connect_db(cfg);
        if (!conn)
            return EXIT_FAILURE_;
        struct desk_directory dir;
        char err[512];
        int rc = desk_db_load(conn, &dir, err, sizeof err);
        PQfinish(conn);
        if (rc != DESK_DB_OK)
            return db_status(rc, err);
        bool found = false;
        for (size_t k = 0; k < dir.queue_count; k++)
            found = found || strcmp(dir.queues[k].name, queue) == 0;
        desk_directory_free(&dir);
        if (!found) {
            fprintf(stderr, "mucdeskctl: no queue named %s\n", queue);
            return EXIT_USAGE;
        }
        snprintf(jid, sizeof jid, "%s@%s", queue, cfg->component.jid);
    }
    struct buf out = BUF_INIT;
    desk_widget_snippet(&out, cfg->widget.script_url, cfg->widget.websocket_url,
                        cfg->widget.anonymous_domain, cfg->component.jid, jid);
    fputs(buf_cstr(&out), stdout);
    buf_free(&out);
    return EXIT_OK;
}

static int with_db(const struct config *cfg, const char *command, int argc,
                   char **argv, int i,
                   int (*fn)(PGconn *, const char *, int, char **, int))
{
    PGconn *conn = ctl_connect_db(cfg);
    if (!conn)
        return EXIT_FAILURE_;
    int status = fn(conn, command, argc, argv, i);
    PQfinish(conn);
    return status;
}

int main(int argc, char **argv)
{
    const char *config_path = NULL;
    int i = 1;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 ||
                      strcmp(argv[1], "-V") == 0)) {
        printf("mucdeskctl %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    if (argc >= 3 && strcmp(argv[1], "-c") == 0) {
        config_path = argv[2];
        i = 3;
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[i++];

    if (strcmp(command, "check-config") == 0) {
        const char *path = i < argc ? argv[i] : config_path;
        if (!path || (i < argc && i + 1 != argc)) {
            usage(stderr);
            return EXIT_USAGE;
        }
        struct config cfg;
        if (load_config(path, &cfg) < 0)
            return EXIT_USAGE;
        config_free(&cfg);
        return EXIT_OK;
    }

    if (!config_path) {
        fprintf(stderr, "mucdeskctl: %s needs -c FILE\n", command);
        return EXIT_USAGE;
    }
    struct config cfg;
    if (load_config(config_path, &cfg) < 0)
        /* An MTA bounces on 2 but keeps the mail and retries on 75. */
        return strcmp(command, "mail-in") == 0 ? CTL_EX_TEMPFAIL : EXIT_USAGE;
    int status;
    if (strcmp(command, "migrate") == 0 && i == argc) {
        status = cmd_migrate(&cfg);
    } else if (strncmp(command, "queue-", 6) == 0 ||
               strncmp(command, "agent-", 6) == 0) {
        status = cmd_directory(&cfg, command, argc, argv, i);
    } else if (strncmp(command, "canned-", 7) == 0 ||
               strncmp(command, "kb-", 3) == 0) {
        status = with_db(&cfg, command, argc, argv, i, cmd_library);
    } else if (strcmp(command, "stats") == 0 ||
               strcmp(command, "ticket-search") == 0 ||
               strcmp(command, "transcript") == 0 ||
               strcmp(command, "purge-customer") == 0) {
        status = with_db(&cfg, command, argc, argv, i, cmd_reports);
    } else if (strcmp(command, "tickets") == 0 ||
               strcmp(command, "ticket") == 0 ||
               strcmp(command, "ticket-update") == 0 ||
               strcmp(command, "ticket-reply") == 0) {
        status = with_db(&cfg, command, argc, argv, i, ctl_tickets);
    } else if (ctl_is_webhook_command(command)) {
        status = with_db(&cfg, command, argc, argv, i, ctl_webhooks);
    } else if (strcmp(command, "mail-in") == 0 && i == argc) {
        status = ctl_mail_in(&cfg);
    } else if (strcmp(command, "widget-snippet") == 0) {
        status = cmd_snippet(&cfg, argc, argv, i);
    } else if (strcmp(command, "status") == 0 && i == argc) {
        status = ctl_status(&cfg);
    } else {
        fprintf(stderr, "mucdeskctl: unknown command '%s'\n", command);
        usage(stderr);
        status = EXIT_USAGE;
    }
    config_free(&cfg);
    return status;
}
