/* mucdeskctl: what admins do with ad-hoc commands, from the host's shell. */
#include "build-config.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/jid.h"
#include "desk/directory.h"
#include "store/migrate.h"

enum exit_status { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mucdeskctl check-config FILE\n"
            "       mucdeskctl -c FILE migrate\n"
            "       mucdeskctl -c FILE queue-create QUEUE [--name TEXT] [--strategy S]\n"
            "                  [--offer-timeout SECONDS] [--max-wait SECONDS]\n"
            "                  [--greeting TEXT] [--offline-message TEXT]\n"
            "                  [--prechat-fields LINES] [--hours TEXT] [--timezone ZONE]\n"
            "                  [--closed-message TEXT] [--transcript-email yes|no]\n"
            "       mucdeskctl -c FILE queue-configure QUEUE [the options above]\n"
            "       mucdeskctl -c FILE queue-list\n"
            "       mucdeskctl -c FILE queue-delete QUEUE\n"
            "       mucdeskctl -c FILE agent-add QUEUE JID [--role agent|supervisor]\n"
            "                  [--max-chats N] [--skills a,b]\n"
            "       mucdeskctl -c FILE agent-remove QUEUE JID\n"
            "       mucdeskctl -c FILE agent-list [QUEUE]\n"
            "       mucdeskctl --version | --help\n"
            "\n"
            "  check-config FILE  validate a configuration file exactly as the\n"
            "                     daemon does; prints nothing and exits 0 if valid\n"
            "  migrate            apply pending schema migrations\n"
            "  queue-*, agent-*   manage queues and agents (a running mucdesk\n"
            "                     picks the change up within [desk] reload_interval)\n");
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

static PGconn *connect_db(const struct config *cfg)
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
    PGconn *conn = connect_db(cfg);
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
        int_option(argc, argv, i + 1, "--max-wait", 0, 86400, &q.max_wait) < 0)
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
               "timezone=%s\ttranscript-email=%s\n",
               q->name, q->title, q->strategy, q->offer_timeout, q->max_wait,
               agents, q->timezone, q->transcript_email ? "yes" : "no");
    }
    desk_directory_free(&dir);
    return EXIT_OK;
}

static int cmd_agent_add(PGconn *conn, int argc, char **argv, int i)
{
    static const char *const allowed[] = {"--role", "--max-chats", "--skills",
                                          NULL};
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
        printf("%s\t%s\t%s\tmax-chats=%d\tskills=%s\n", a->queue, a->jid,
               a->role, a->max_chats, a->skills ? a->skills : "");
    }
    desk_directory_free(&dir);
    return EXIT_OK;
}

static int cmd_directory(const struct config *cfg, const char *command,
                         int argc, char **argv, int i)
{
    PGconn *conn = connect_db(cfg);
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
        return EXIT_USAGE;
    int status;
    if (strcmp(command, "migrate") == 0 && i == argc) {
        status = cmd_migrate(&cfg);
    } else if (strncmp(command, "queue-", 6) == 0 ||
               strncmp(command, "agent-", 6) == 0) {
        status = cmd_directory(&cfg, command, argc, argv, i);
    } else {
        fprintf(stderr, "mucdeskctl: unknown command '%s'\n", command);
        usage(stderr);
        status = EXIT_USAGE;
    }
    config_free(&cfg);
    return status;
}
