#include "build-config.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Logging is process-wide state by nature (like syslog itself); it is the one
 * global the daemon keeps.  The lock only guards reopening the file: writers
 * read the fd under it so a line never goes to a closed descriptor.  The
 * level is atomic: SIGHUP changes it while other threads log. */
static struct {
    atomic_int level;
    bool use_syslog;
    int fd;
    char path[4096];
    pthread_mutex_t lock;
} log_state = {
    .level = LOG_LEVEL_INFO,
    .use_syslog = false,
    .fd = STDERR_FILENO,
    .path = "",
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name, enum log_level *out)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level >= sizeof level_names / sizeof level_names[0])
        return "?";
    return level_names[level];
}

static int open_log_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int log_setup(enum log_level level, bool use_syslog, const char *file_path)
{
    int fd = STDERR_FILENO;

    if (!use_syslog && file_path && file_path[0]) {
        fd = open_log_file(file_path);
        if (fd < 0)
            return -1;
    }
    pthread_mutex_lock(&log_state.lock);
    if (log_state.fd != STDERR_FILENO)
        close(log_state.fd);
    atomic_store_explicit(&log_state.level, (int)level, memory_order_relaxed);
    log_state.use_syslog = use_syslog;
    log_state.fd = fd;
    snprintf(log_state.path, sizeof log_state.path, "%s",
             (!use_syslog && file_path) ? file_path : "");
    pthread_mutex_unlock(&log_state.lock);
    if (use_syslog)
        openlog("mucdesk", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    return 0;
}

int log_reopen(void)
{
    int rc = 0;

    pthread_mutex_lock(&log_state.lock);
    if (log_state.path[0]) {
        int fd = open_log_file(log_state.path);
        if (fd >= 0) {
            close(log_state.fd);
            log_state.fd = fd;
        } else {
            rc = -1; /* keep writing to the old file rather than nowhere */
        }
    }
    pthread_mutex_unlock(&log_state.lock);
    return rc;
}

void log_shutdown(void)
{
    pthread_mutex_lock(&log_state.lock);
    if (log_state.fd != STDERR_FILENO)
        close(log_state.fd);
    log_state.fd = STDERR_FILENO;
    log_state.path[0] = '\0';
    pthread_mutex_unlock(&log_state.lock);
    if (log_state.use_syslog)
        closelog();
    log_state.use_syslog = false;
}

bool log_enabled(enum log_level level)
{
    return (int)level <=
           atomic_load_explicit(&log_state.level, memory_order_relaxed);
}

void log_set_level(enum log_level level)
{
    atomic_store_explicit(&log_state.level, (int)level, memory_order_relaxed);
}

static const int syslog_priorities[] = {LOG_ERR, LOG_WARNING, LOG_INFO,
                                        LOG_DEBUG};

void log_write(enum log_level level, const char *module, const char *fmt, ...)
{
    char line[2048];
    size_t len = 0;
    va_list ap;

    if (!log_enabled(level))
        return;

    if (!log_state.use_syslog) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        len = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        len += (size_t)snprintf(line + len, sizeof line - len, ".%03ldZ ",
                                ts.tv_nsec / 1000000);
    }
    len += (size_t)snprintf(line + len, sizeof line - len, "%s %s: ",
                            log_level_name(level), module);
    if (len < sizeof line) {
        va_start(ap, fmt);
        int n = vsnprintf(line + len, sizeof line - len, fmt, ap);
        va_end(ap);
        if (n > 0)
            len += (size_t)n;
    }
    if (len > sizeof line - 2)
        len = sizeof line - 2; /* truncated: keep it one line */
    /* A log line is one line: fold any newline a message carried. */
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';

    if (log_state.use_syslog) {
        line[len] = '\0';
        syslog(syslog_priorities[level], "%s", line);
        return;
    }
    line[len++] = '\n';
    pthread_mutex_lock(&log_state.lock);
    ssize_t w = write(log_state.fd, line, len);
    pthread_mutex_unlock(&log_state.lock);
    (void)w; /* nowhere left to report a failed log write */
}
