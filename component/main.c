/* mucdesk: the daemon's entry point.  Arguments, configuration, signals and
 * the event loop; everything else lives in service.c and below. */
#include "build-config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/sdnotify.h"
#include "service.h"

#define LOG "main"

enum exit_status { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

struct signals {
    int fd;
    struct loop *loop;
    struct service *svc;
    struct config *cfg;     /* the live configuration (SIGHUP changes it) */
    int stop_signal; /* the signal that asked us to stop, 0 if none */
};

static void usage(FILE *to)
{
    fprintf(to,
            "usage: mucdesk -c FILE [--syslog]\n"
            "       mucdesk --version | --help\n"
            "\n"
            "Runs the mucdesk XMPP component in the foreground.\n"
            "\n"
            "  -c, --config FILE  configuration file (see mucdesk.conf(5))\n"
            "      --syslog       log to syslog instead of stderr\n"
            "  -V, --version      print the version and exit\n"
            "  -h, --help         print this help and exit\n"
            "\n"
            "SIGTERM or SIGINT stops it cleanly; SIGHUP reopens the log file,\n"
            "reads the configuration file again (the log level, [desk] and [mail]\n"
            "take effect; other changes are logged as needing a restart) and\n"
            "reads queues and agents again.\n");
}

static void report_change(void *ud, const char *section, const char *key,
                          bool applied)
{
    const char *path = ud;
    if (applied)
        log_info(LOG, "SIGHUP: [%s] %s changed: in effect now", section, key);
    else
        log_warn(LOG, "SIGHUP: [%s] %s changed in %s: takes effect only "
                      "after a restart",
                 section, key, path);
}

/* SIGHUP: the file is read again as at start; what may change while
 * running is taken (config_reload), the rest is reported.  A file that no
 * longer loads changes nothing. */
static void reload_config(struct signals *sig)
{
    struct config fresh;
    struct config_error cerr;
    if (config_load(sig->cfg->path, &fresh, &cerr) < 0) {
        log_error(LOG, "SIGHUP: %s; the running configuration is kept",
                  cerr.text);
        return;
    }
    int taken = config_reload(sig->cfg, &fresh, report_change, sig->cfg->path);
    config_free(&fresh);
    log_set_level(sig->cfg->log.level);
    log_info(LOG, "SIGHUP: %s read again: %d setting(s) changed in effect",
             sig->cfg->path, taken);
}

static void on_signal(void *ud, int fd, uint32_t events)
{
    struct signals *sig = ud;
    struct signalfd_siginfo info;
    (void)events;

    while (read(fd, &info, sizeof info) == (ssize_t)sizeof info) {
        switch (info.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            if (!sig->stop_signal)
                log_info(LOG, "%s received: shutting down",
                         info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            sig->stop_signal = (int)info.ssi_signo;
            loop_stop(sig->loop);
            break;
        case SIGHUP:
            sdnotify_send("RELOADING=1");
            if (log_reopen() < 0)
                log_error(LOG, "SIGHUP: cannot reopen the log file: %s",
                          strerror(errno));
            else
                log_info(LOG, "SIGHUP: log file reopened");
            reload_config(sig);
            if (sig->svc)
                service_reload(sig->svc);
            break;
        default:
            break;
        }
    }
}

/* Blocks the signals we handle in every thread (the DB thread inherits the
 * mask) and receives them through a descriptor in the event loop. */
static int setup_signals(struct signals *sig, struct loop *loop)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN); /* a closed socket is an error value, not death */
    sig->loop = loop;
    sig->stop_signal = 0;
    sig->fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sig->fd < 0)
        return -1;
    return loop_io_add(loop, sig->fd, EPOLLIN, on_signal, sig);
}

/* A fenced instance (active/standby) runs again from scratch, as a
 * standby: its rooms and chats in memory may be stale by now, and a fresh
 * start restores them from PostgreSQL when it next holds the lock, as any
 * start does.  Everything was freed and every descriptor we opened is
 * close-on-exec, so the new image starts as clean as the first. */
static void restart_as_standby(char **argv)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "mucdesk: cannot start again as a standby: %s\n",
            strerror(errno));
    exit(EXIT_RUNTIME);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"syslog", no_argument, NULL, 's'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    bool use_syslog = false;
    int opt;

    while ((opt = getopt_long(argc, argv, "c:Vh", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 's':
            use_syslog = true;
            break;
        case 'V':
            printf("mucdesk %s\n", PACKAGE_VERSION);
            return EXIT_OK;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (!config_path || optind != argc) {
        fprintf(stderr, "mucdesk: %s\n",
                config_path ? "unexpected argument" : "missing -c FILE");
        usage(stderr);
        return EXIT_CONFIG;
    }

    struct config cfg;
    struct config_error cerr;
    if (config_load(config_path, &cfg, &cerr) < 0) {
        fprintf(stderr, "%s\n", cerr.text);
        return EXIT_CONFIG;
    }
    if (log_setup(cfg.log.level, use_syslog, cfg.log.file) < 0) {
        fprintf(stderr, "%s: [log] file: cannot open '%s': %s\n", config_path,
                cfg.log.file, strerror(errno));
        config_free(&cfg);
        return EXIT_CONFIG;
    }

    /* Once, at start: a file others can read gives away the component
     * secret (and any password in the conninfo) to every local user. */
    if (config_open_to_others(&cfg))
        log_warn(LOG,
                 "%s is open to other users (mode %04o) and holds secrets "
                 "(the component secret, the database conninfo): chmod o= %s",
                 config_path, cfg.file_mode, config_path);

    int status = EXIT_RUNTIME;
    bool fenced = false;
    struct signals sig = {.fd = -1, .cfg = &cfg};
    struct service *svc = NULL;
    struct loop *loop = loop_new();
    if (!loop || setup_signals(&sig, loop) < 0) {
        log_error(LOG, "cannot set up the event loop: %s", strerror(errno));
        goto out;
    }
    svc = service_new(loop, &cfg, 0);
    if (!svc)
        goto out;
    sig.svc = svc;
    log_info(LOG, "mucdesk %s starting for %s", PACKAGE_VERSION,
             cfg.component.jid);
    if (service_start(svc) < 0)
        goto out;
    if (loop_run(loop) < 0) {
        log_error(LOG, "event loop failed: %s", strerror(errno));
        service_stop(svc);
        goto out;
    }
    /* What the database could not take was logged by service_stop(); the
     * journal keeps it for the next start, so stopping is still a success. */
    fenced = service_role(svc) == SERVICE_FENCED && !sig.stop_signal;
    bool failed = service_failed(svc);
    service_stop(svc);
    status = failed ? EXIT_RUNTIME : EXIT_OK;
    log_info(LOG, fenced ? "stopped serving (fenced)" : "stopped");
out:
    service_free(svc);
    if (sig.fd >= 0)
        close(sig.fd);
    loop_free(loop);
    config_free(&cfg);
    log_shutdown();
    if (status == EXIT_OK && fenced)
        restart_as_standby(argv);
    return status;
}
