#include "build-config.h"

#include "core/config.h"
#include "core/jid.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the schema: every key mucdesk understands ------------------------- */

enum key_type {
    KEY_STRING,     /* char *, any non-empty text */
    KEY_INT,        /* int within [min, max] */
    KEY_LOG_LEVEL,  /* enum log_level */
    KEY_DURABILITY, /* enum config_durability */
    KEY_DOMAIN,     /* char *, a JID with a domain part only */
    KEY_IP,         /* char *, an IPv4 or IPv6 literal */
    KEY_JID_LIST,   /* char **, bare JIDs separated by commas or spaces */
};

struct key_spec {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    bool required;
    const char *default_value; /* parsed like a value from the file */
    long min, max;             /* for KEY_INT */
};

#define FIELD(f) offsetof(struct config, f)

static const struct key_spec schema[] = {
    {"component", "jid", KEY_DOMAIN, FIELD(component.jid), true, NULL, 0, 0},
    {"component", "secret", KEY_STRING, FIELD(component.secret), true, NULL, 0, 0},
    {"component", "host", KEY_IP, FIELD(component.host), false, "127.0.0.1", 0, 0},
    {"component", "port", KEY_INT, FIELD(component.port), false, "5347", 1, 65535},
    {"component", "reconnect_max", KEY_INT, FIELD(component.reconnect_max_s), false, "30", 1, 3600},

    {"database", "conninfo", KEY_STRING, FIELD(database.conninfo), true, NULL, 0, 0},
    {"database", "connect_timeout", KEY_INT, FIELD(database.connect_timeout_s), false, "5", 1, 300},
    {"database", "statement_timeout", KEY_INT, FIELD(database.statement_timeout_ms), false, "30000", 100, 3600000},
    {"database", "durability", KEY_DURABILITY, FIELD(database.durability), false, "journal", 0, 0},
    {"database", "queue_memory", KEY_INT, FIELD(database.queue_memory_mb), false, "64", 1, 65536},
    {"database", "journal_segment_size", KEY_INT, FIELD(database.journal_segment_mb), false, "64", 1, 1024},
    {"database", "query_timeout", KEY_INT, FIELD(database.query_timeout_ms), false, "10000", 100, 600000},

    {"service", "name", KEY_STRING, FIELD(service.name), false, "mucdesk support", 0, 0},
    {"service", "admins", KEY_JID_LIST, FIELD(service.admins), true, NULL, 0, 0},
    {"service", "state_dir", KEY_STRING, FIELD(service.state_dir), false, "/var/lib/mucdesk", 0, 0},
    {"service", "plugin_dir", KEY_STRING, FIELD(service.plugin_dir), false, PKGLIBDIR, 0, 0},

    {"desk", "customer_grace", KEY_INT, FIELD(desk.customer_grace_s), false, "30", 0, 86400},
    {"desk", "decline_skip", KEY_INT, FIELD(desk.decline_skip_s), false, "20", 0, 3600},
    {"desk", "status_interval", KEY_INT, FIELD(desk.status_interval_s), false, "15", 1, 3600},
    {"desk", "reannounce_after", KEY_INT, FIELD(desk.reannounce_s), false, "60", 1, 86400},
    {"desk", "reload_interval", KEY_INT, FIELD(desk.reload_interval_s), false, "5", 1, 3600},
    {"desk", "closed_room_hours", KEY_INT, FIELD(desk.closed_room_hours), false, "24", 0, 8760},
    {"desk", "command_timeout", KEY_INT, FIELD(desk.command_timeout_s), false, "600", 10, 86400},
    {"desk", "new_tickets_per_minute", KEY_INT, FIELD(desk.new_tickets_per_minute), false, "600", 0, 1000000},
    {"desk", "plugins", KEY_STRING, FIELD(desk.plugins), false, "ratings", 0, 0},

    {"mail", "from", KEY_STRING, FIELD(mail.from), false, NULL, 0, 0},
    {"mail", "sendmail", KEY_STRING, FIELD(mail.sendmail), false, "/usr/sbin/sendmail", 0, 0},
    {"mail", "timeout", KEY_INT, FIELD(mail.timeout_s), false, "60", 1, 3600},
    {"mail", "retry_interval", KEY_INT, FIELD(mail.retry_s), false, "60", 1, 86400},
    {"mail", "max_attempts", KEY_INT, FIELD(mail.max_attempts), false, "8", 1, 100},

    {"widget", "script_url", KEY_STRING, FIELD(widget.script_url), false, NULL, 0, 0},
    {"widget", "websocket_url", KEY_STRING, FIELD(widget.websocket_url), false, NULL, 0, 0},
    {"widget", "anonymous_domain", KEY_STRING, FIELD(widget.anonymous_domain), false, NULL, 0, 0},

    {"retention", "closed_ticket_days", KEY_INT, FIELD(retention.closed_ticket_days), false, "0", 0, 36500},
    {"retention", "personal_data_days", KEY_INT, FIELD(retention.personal_data_days), false, "0", 0, 36500},
    {"retention", "batch_size", KEY_INT, FIELD(retention.batch_size), false, "500", 1, 100000},
    {"retention", "interval", KEY_INT, FIELD(retention.interval_s), false, "3600", 1, 604800},

    {"log", "level", KEY_LOG_LEVEL, FIELD(log.level), false, "info", 0, 0},
    {"log", "file", KEY_STRING, FIELD(log.file), false, NULL, 0, 0},

    {"muc", "max_body_size", KEY_INT, FIELD(muc.max_body_bytes), false, "65536", 16, 1048576},
    {"muc", "max_stanza_size", KEY_INT, FIELD(muc.max_stanza_bytes), false, "262144", 1024, 4194304},
    {"muc", "max_rooms", KEY_INT, FIELD(muc.max_rooms), false, "200000", 1, 10000000},
    {"muc", "max_occupants", KEY_INT, FIELD(muc.max_occupants), false, "200", 2, 100000},
    {"muc", "message_rate", KEY_INT, FIELD(muc.message_rate), false, "50", 1, 100000},
    {"muc", "history_size", KEY_INT, FIELD(muc.history_max), false, "50", 0, 10000},
    {"muc", "history_bytes", KEY_INT, FIELD(muc.history_bytes), false, "1024", 0, 16777216},
    {"muc", "archive_by_default", KEY_INT, FIELD(muc.archive_by_default), false, "1", 0, 1},
};

#define SCHEMA_SIZE (sizeof schema / sizeof schema[0])

/* ---- parsing ------------------------------------------------------------- */

/* The longest line, newline included (mucdesk.conf(5)). */
#define CONFIG_MAX_LINE 8192

struct parse_state {
    struct config *cfg;
    struct config_error *err;
    const char *path;
    FILE *file;
    int line;                    /* the line inih is looking at */
    int seen_line[SCHEMA_SIZE];  /* where each key was set; 0 = not yet */
    char current_section[128];
    int section_line[SCHEMA_SIZE]; /* header line of each key's section */
    bool failed;
};

static void set_error(struct parse_state *st, int line, const char *section,
                      const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void set_error(struct parse_state *st, int line, const char *section,
                      const char *key, const char *fmt, ...)
{
    if (st->failed)
        return; /* the first problem is the one worth reading */
    st->failed = true;
    int n = snprintf(st->err->text, sizeof st->err->text, "%s:%d: [%s] %s: ",
                     st->path, line, section, key);
    if (n < 0 || (size_t)n >= sizeof st->err->text)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->err->text + n, sizeof st->err->text - (size_t)n, fmt, ap);
    va_end(ap);
}

static void free_list(char **list)
{
    if (!list)
        return;
    for (char **p = list; *p; p++)
        free(*p);
    free(list);
}

/* Parses one value into its field.  Returns NULL on success or a static
 * description of what is wrong. */
static const char *store_value(struct config *cfg, const struct key_spec *k,
                               const char *value)
{
    void *field = (char *)cfg + k->offset;

    switch (k->type) {
    case KEY_STRING: {
        if (!value[0])
            return "must not be empty";
        char *copy = strdup(value);
        if (!copy)
            return "out of memory";
        free(*(char **)field);
        *(char **)field = copy;
        return NULL;
    }
    case KEY_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max)
            return "must be a whole number in range";
        *(int *)field = (int)v;
        return NULL;
    }
    case KEY_LOG_LEVEL:
        if (log_level_parse(value, (enum log_level *)field) < 0)
            return "must be one of error, warn, info, debug";
        return NULL;
    case KEY_DURABILITY:
        if (strcmp(value, "journal") == 0)
            *(enum config_durability *)field = CONFIG_DURABILITY_JOURNAL;
        else if (strcmp(value, "async") == 0)
            *(enum config_durability *)field = CONFIG_DURABILITY_ASYNC;
        else
            return "must be journal or async";
        return NULL;
    case KEY_DOMAIN: {
        struct jid j;
        if (jid_parse(value, &j) < 0 || jid_has_local(&j) ||
            jid_has_resource(&j))
            return "must be a domain name such as support.example.org";
        char *copy = strdup(j.domain);
        if (!copy)
            return "out of memory";
        free(*(char **)field);
        *(char **)field = copy;
        return NULL;
    }
    case KEY_IP: {
        unsigned char addr[sizeof(struct in6_addr)];
        if (inet_pton(AF_INET, value, addr) != 1 &&
            inet_pton(AF_INET6, value, addr) != 1)
            return "must be an IP address (mucdesk does no DNS lookups)";
        char *copy = strdup(value);
        if (!copy)
            return "out of memory";
        free(*(char **)field);
        *(char **)field = copy;
        return NULL;
    }
    case KEY_JID_LIST: {
        char *work = strdup(value);
        size_t count = 0, cap = 4;
        char **list = calloc(cap + 1, sizeof *list);
        const char *problem = NULL;
        char *save = NULL;
        if (!work || !list) {
            free(work);
            free(list);
            return "out of memory";
        }
        for (char *tok = strtok_r(work, ", \t", &save); tok && !problem;
             tok = strtok_r(NULL, ", \t", &save)) {
            struct jid j;
            char bare[JID_TEXT_MAX + 1];
            if (jid_parse(tok, &j) < 0 || jid_has_resource(&j) ||
                !jid_has_local(&j)) {
                problem = "must list bare JIDs such as admin@example.org";
                break;
            }
            jid_bare_text(&j, bare, sizeof bare);
            if (count == cap) {
                char **bigger = realloc(list, (cap * 2 + 1) * sizeof *list);
                if (!bigger) {
                    problem = "out of memory";
                    break;
                }
                list = bigger;
                cap *= 2;
            }
            if (!(list[count] = strdup(bare))) {
                problem = "out of memory";
                break;
            }
            list[++count] = NULL;
        }
        free(work);
        if (!problem && count == 0)
            problem = "must list at least one bare JID";
        if (problem) {
            free_list(list);
            return problem;
        }
        free_list(*(char ***)field);
        *(char ***)field = list;
        cfg->service.admin_count = count;
        return NULL;
    }
    }
    return "unsupported key type";
}

static const struct key_spec *find_key(const char *section, const char *key,
                                       size_t *index)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        if (strcmp(schema[i].section, section) == 0 &&
            strcmp(schema[i].key, key) == 0) {
            *index = i;
            return &schema[i];
        }
    }
    return NULL;
}

static bool section_known(const char *section)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++)
        if (strcmp(schema[i].section, section) == 0)
            return true;
    return false;
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
    struct parse_state *st = user;
    size_t i;

    if (!section[0]) {
        set_error(st, st->line, "", name,
                  "key outside any section (add a [section] header above it)");
        return 0;
    }
    const struct key_spec *k = find_key(section, name, &i);
    if (!k) {
        if (section_known(section))
            set_error(st, st->line, section, name, "unknown key");
        else
            set_error(st, st->line, section, name, "unknown section [%s]",
                      section);
        return 0;
    }
    if (st->seen_line[i]) {
        set_error(st, st->line, section, name, "given twice (first on line %d)",
                  st->seen_line[i]);
        return 0;
    }
    st->seen_line[i] = st->line;
    const char *problem = store_value(st->cfg, k, value);
    if (problem) {
        if (k->type == KEY_INT)
            set_error(st, st->line, section, name,
                      "'%s' must be a whole number from %ld to %ld", value,
                      k->min, k->max);
        else
            set_error(st, st->line, section, name, "'%s' %s", value, problem);
        return 0;
    }
    return 1;
}

/* inih (as packaged by Debian) does not pass line numbers to the handler, but
 * it reads the file one line at a time through this reader, so counting here
 * tells the handler exactly which line it is looking at. */
static char *counting_reader(char *str, int num, void *user)
{
    struct parse_state *st = user;
    char *line = fgets(str, num, st->file);
    if (!line)
        return NULL;
    st->line++;
    /* inih reads one line per call into a CONFIG_MAX_LINE buffer: a line
     * that does not fit would come back in pieces, counted and parsed as
     * lines of their own.  Say which line it is instead. */
    size_t len = strlen(line);
    if (len == (size_t)num - 1 && line[len - 1] != '\n') {
        int c = fgetc(st->file);
        if (c != EOF) {
            ungetc(c, st->file);
            if (!st->failed)
                snprintf(st->err->text, sizeof st->err->text,
                         "%s:%d: line longer than %d characters", st->path,
                         st->line, CONFIG_MAX_LINE - 1);
            st->failed = true;
            return NULL;
        }
    }

    const char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '[') {
        const char *end = strchr(p, ']');
        size_t n = end ? (size_t)(end - p - 1) : 0;
        if (n >= sizeof st->current_section)
            n = sizeof st->current_section - 1;
        memcpy(st->current_section, p + 1, n);
        st->current_section[n] = '\0';
        for (size_t i = 0; i < SCHEMA_SIZE; i++)
            if (strcmp(schema[i].section, st->current_section) == 0 &&
                !st->section_line[i])
                st->section_line[i] = st->line;
    }
    return line;
}

static void configure_inih(void)
{
    /* Debian's libinih exposes its options as variables.  We want Python 3
     * configparser behaviour without surprises: no continuation lines (an
     * indented key would silently become part of the previous value), no
     * inline comments (a secret may contain ';'), and long lines allowed. */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_use_stack = false;
    /* The heap buffer inih reads each line into; without realloc (which
     * would read a long line in several calls of the counting reader) it
     * is the longest line.  Debian's default is 200. */
    ini_allow_realloc = false;
    ini_initial_alloc = CONFIG_MAX_LINE;
    ini_max_line = CONFIG_MAX_LINE;
}

int config_load(const char *path, struct config *cfg, struct config_error *err)
{
    struct parse_state st;

    memset(cfg, 0, sizeof *cfg);
    memset(&st, 0, sizeof st);
    memset(err, 0, sizeof *err);
    st.cfg = cfg;
    st.err = err;
    st.path = path;

    cfg->path = strdup(path);
    st.file = fopen(path, "r");
    if (!st.file) {
        snprintf(err->text, sizeof err->text, "%s:0: cannot open: %s", path,
                 strerror(errno));
        config_free(cfg);
        return -1;
    }
    configure_inih();
    int rc = ini_parse_stream(counting_reader, &st, on_key, &st);
    fclose(st.file);
    if (!st.failed && rc > 0)
        snprintf(err->text, sizeof err->text,
                 "%s:%d: syntax error: expected '[section]' or 'key = value'",
                 path, rc);
    else if (!st.failed && rc < 0)
        snprintf(err->text, sizeof err->text, "%s:0: cannot read the file",
                 path);
    if (st.failed || rc != 0) {
        config_free(cfg);
        return -1;
    }

    /* Defaults and required keys.  A missing key is reported at its
     * section's header, or at the end of the file if the section is absent. */
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        const struct key_spec *k = &schema[i];
        if (st.seen_line[i])
            continue;
        if (k->required) {
            if (st.section_line[i])
                set_error(&st, st.section_line[i], k->section, k->key,
                          "required key is missing");
            else
                set_error(&st, st.line, k->section, k->key,
                          "required key is missing (no [%s] section)",
                          k->section);
            break;
        }
        if (k->default_value) {
            const char *problem = store_value(cfg, k, k->default_value);
            if (problem) {
                set_error(&st, 0, k->section, k->key, "bad default: %s",
                          problem);
                break;
            }
        }
    }
    if (st.failed) {
        config_free(cfg);
        return -1;
    }
    return 0;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < SCHEMA_SIZE; i++) {
        void *field = (char *)cfg + schema[i].offset;
        switch (schema[i].type) {
        case KEY_STRING:
        case KEY_DOMAIN:
        case KEY_IP:
            free(*(char **)field);
            *(char **)field = NULL;
            break;
        case KEY_JID_LIST:
            free_list(*(char ***)field);
            *(char ***)field = NULL;
            break;
        default:
            break;
        }
    }
    free(cfg->path);
    cfg->path = NULL;
}

bool config_is_admin(const struct config *cfg, const char *bare_jid)
{
    if (!cfg->service.admins)
        return false;
    for (char **p = cfg->service.admins; *p; p++)
        if (strcmp(*p, bare_jid) == 0)
            return true;
    return false;
}
