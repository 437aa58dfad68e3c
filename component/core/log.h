/* Logging: one line per event, to stderr, a file or syslog.
 *
 * Lines look like `2026-11-22T10:00:00.123Z info link: component link up`.
 * Safe to call from any thread: each line is formatted into a local buffer
 * and written with a single write(2).  Stanza bodies are never logged at
 * info level or above (customer privacy); modules pass them only to
 * log_debug. */
#ifndef MUCDESK_CORE_LOG_H
#define MUCDESK_CORE_LOG_H

#include <stdbool.h>

enum log_level {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG,
};

/* Parses "error", "warn", "info" or "debug".  Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
const char *log_level_name(enum log_level level);

/* Chooses where lines go.  file_path NULL means stderr (unless use_syslog).
 * Returns 0, or -1 with errno set if the file cannot be opened. */
int log_setup(enum log_level level, bool use_syslog, const char *file_path);

/* Reopens the log file after rotation (SIGHUP).  No-op for stderr/syslog. */
int log_reopen(void);

/* Releases the file descriptor or syslog connection. */
void log_shutdown(void);

bool log_enabled(enum log_level level);
/* Changes the level (SIGHUP), for every thread. */
void log_set_level(enum log_level level);

void log_write(enum log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(module, ...) log_write(LOG_LEVEL_ERROR, module, __VA_ARGS__)
#define log_warn(module, ...) log_write(LOG_LEVEL_WARN, module, __VA_ARGS__)
#define log_info(module, ...) log_write(LOG_LEVEL_INFO, module, __VA_ARGS__)
/* Debug lines are not even formatted unless enabled. */
#define log_debug(module, ...)                                                 \
    do {                                                                       \
        if (log_enabled(LOG_LEVEL_DEBUG))                                      \
            log_write(LOG_LEVEL_DEBUG, module, __VA_ARGS__);                   \
    } while (0)

#endif
