/* mucdeskctl: what admins do with ad-hoc commands, from the host's shell. */
#include "build-config.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "store/migrate.h"

enum exit_status { EXIT_OK = 0, EXIT_FAILURE_ = 1, EXIT_USAGE = 2 };

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mucdeskctl check-config FILE\n"
            "       mucdeskctl -c FILE migrate\n"
            "       mucdeskctl --version | --help\n"
            "\n"
            "  check-config FILE  validate a configuration file exactly as the\n"
            "                     daemon does; prints nothing and exits 0 if valid\n"
            "  migrate            apply pending schema migrations\n");
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
    } else {
        fprintf(stderr, "mucdeskctl: unknown command '%s'\n", command);
        usage(stderr);
        status = EXIT_USAGE;
    }
    config_free(&cfg);
    return status;
}
