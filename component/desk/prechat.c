/* Extra pre-chat fields of a queue (see prechat.h). */
#include "build-config.h"

#include "desk/prechat.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "desk/details.h"
#include "xmpp/form.h"

/* The form's own fields: a queue may not redefine them. */
static const char *const reserved[] = {
    "name", "email", "question", "page", "browser", "skills", "nick",
    "offline", "transcript", "room", "ticket", "token", "position", "wait",
    "no-agents", "ended", "form_type", NULL};

static const char *const types[] = {"text-single", "text-multi",
                                    "list-single", "list-multi", "boolean",
                                    NULL};

/* Copies [s, s+n) trimmed into out[size]; false if it does not fit. */
static bool copy_trimmed(const char *s, size_t n, char *out, size_t size)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n >= size)
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return true;
}

static bool var_ok(const char *v)
{
    if (!v[0] || !((v[0] >= 'a' && v[0] <= 'z')))
        return false;
    for (const char *c = v; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    for (const char *const *r = reserved; *r; r++)
        if (strcmp(*r, v) == 0)
            return false;
    return true;
}

static bool is_list(const char *type)
{
    return strcmp(type, "list-single") == 0 ||
           strcmp(type, "list-multi") == 0;
}

/* Normalises "a, b ,c" to "a,b,c"; false if an option is empty or long. */
static bool normalise_options(const char *in, char *out, size_t size)
{
    size_t w = 0;
    const char *p = in;
    for (;;) {
        size_t n = strcspn(p, ",");
        char opt[101];
        if (!copy_trimmed(p, n, opt, sizeof opt) || !opt[0])
            return false;
        size_t len = strlen(opt);
        if (w + len + 2 > size)
            return false;
        if (w)
            out[w++] = ',';
        memcpy(out + w, opt, len);
        w += len;
        out[w] = '\0';
        if (!p[n])
            return true;
        p += n + 1;
    }
}

static int line_error(char *err, size_t errlen, int line, const char *what)
{
    utf8_snprintf(err, errlen, "prechat-fields: line %d: %s", line, what);
    return -1;
}

int desk_prechat_parse(const char *text, struct desk_prechat *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = text ? text : "";
    for (int line = 1; *p; line++) {
        size_t n = strcspn(p, "\n");
        char buf[600];
        if (!copy_trimmed(p, n, buf, sizeof buf))
            return line_error(err, errlen, line, "too long");
        p += n + (p[n] == '\n');
        if (!buf[0] || buf[0] == '#')
            continue;
        if (out->count >= DESK_PRECHAT_MAX)
            return line_error(err, errlen, line, "at most 16 fields");
        struct desk_prechat_field *f = &out->f[out->count];
        const char *parts[5] = {0};
        size_t lens[5] = {0};
        const char *q = buf;
        int np = 0;
        while (np < 5) {
            size_t k = strcspn(q, "|");
            parts[np] = q;
            lens[np++] = k;
            if (!q[k])
                break;
            q += k + 1;
        }
        if (np == 5 && strchr(parts[4], '|'))
            return line_error(err, errlen, line, "too many '|'");
        char req[16] = "";
        if (!copy_trimmed(parts[0], lens[0], f->var, sizeof f->var) ||
            !var_ok(f->var))
            return line_error(err, errlen, line,
                              "the name must be a-z, 0-9, '_', '-' (and "
                              "not one of the form's own fields)");
        if (np > 1 && !copy_trimmed(parts[1], lens[1], f->type, sizeof f->type))
            return line_error(err, errlen, line, "unknown field type");
        if (!f->type[0])
            snprintf(f->type, sizeof f->type, "text-single");
        bool known = false;
        for (const char *const *t = types; *t; t++)
            known = known || strcmp(*t, f->type) == 0;
        if (!known)
            return line_error(err, errlen, line,
                              "type: text-single, text-multi, list-single, "
                              "list-multi or boolean");
        if (np > 2 &&
            !copy_trimmed(parts[2], lens[2], f->label, sizeof f->label))
            return line_error(err, errlen, line, "label too long");
        if (!f->label[0])
            memcpy(f->label, f->var, strlen(f->var) + 1); /* var is shorter */
        if (np > 3 && !copy_trimmed(parts[3], lens[3], req, sizeof req))
            return line_error(err, errlen, line, "'required' or nothing");
        if (req[0] && strcmp(req, "required") != 0 &&
            strcmp(req, "optional") != 0)
            return line_error(err, errlen, line, "'required' or nothing");
        f->required = strcmp(req, "required") == 0;
        char opts[400] = "";
        if (np > 4 && !copy_trimmed(parts[4], lens[4], opts, sizeof opts))
            return line_error(err, errlen, line, "options too long");
        if (is_list(f->type)) {
            if (!opts[0] ||
                !normalise_options(opts, f->options, sizeof f->options))
                return line_error(err, errlen, line,
                                  "a list needs options, comma-separated");
        } else if (opts[0]) {
            return line_error(err, errlen, line, "only lists have options");
        }
        for (size_t i = 0; i < out->count; i++)
            if (strcmp(out->f[i].var, f->var) == 0)
                return line_error(err, errlen, line, "that name is used twice");
        out->count++;
    }
    return 0;
}

void desk_prechat_form(const struct desk_prechat *p, struct buf *out)
{
    for (size_t i = 0; i < p->count; i++) {
        const struct desk_prechat_field *f = &p->f[i];
        form_field_open(out, f->var, f->type, f->label);
        if (f->required)
            buf_append_str(out, "<required/>");
        const char *o = f->options;
        while (*o) {
            size_t n = strcspn(o, ",");
            char opt[101];
            /* bytes: cut at the ASCII ',' (utf8_snprintf cuts the rest) */
            utf8_snprintf(opt, sizeof opt, "%.*s", (int)n, o);
            form_add_option(out, opt, opt);
            o += n + (o[n] == ',');
        }
        form_field_close(out);
    }
}

static bool option_ok(const char *options, const char *v)
{
    size_t len = strlen(v);
    const char *o = options;
    while (*o) {
        size_t n = strcspn(o, ",");
        if (n == len && strncmp(o, v, n) == 0)
            return true;
        o += n + (o[n] == ',');
    }
    return false;
}

struct multi_check {
    const char *options;
    bool bad;
};

static void check_one(void *ud, const char *v)
{
    struct multi_check *m = ud;
    if (!option_ok(m->options, v))
        m->bad = true;
}

int desk_prechat_read(const struct desk_prechat *p, xmpp_stanza_t *form,
                      struct json_object *details, char *err, size_t errlen)
{
    struct buf v = BUF_INIT;
    int rc = -1;
    for (size_t i = 0; i < p->count; i++) {
        const struct desk_prechat_field *f = &p->f[i];
        buf_reset(&v);
        if (strcmp(f->type, "boolean") == 0) {
            const char *s = form_value(form, f->var);
            bool b = false;
            if (s && *s && form_parse_bool(s, &b) < 0) {
                snprintf(err, errlen, "%s: yes or no", f->var);
                goto out;
            }
            if (f->required && !b) {
                snprintf(err, errlen, "%s: required", f->var);
                goto out;
            }
            if (desk_details_set(details, f->var, b ? "1" : "0") < 0)
                goto oom;
            continue;
        }
        bool multi = strcmp(f->type, "list-multi") == 0;
        form_join_values(form, f->var,
                         multi ? ", " : strcmp(f->type, "text-multi") == 0
                                            ? "\n"
                                            : " ",
                         &v);
        if (buf_failed(&v)) {
            snprintf(err, errlen, "%s: too long", f->var);
            goto out;
        }
        const char *text = buf_cstr(&v);
        if (!text[0]) {
            if (f->required) {
                snprintf(err, errlen, "%s: required", f->var);
                goto out;
            }
            continue;
        }
        if (strlen(text) > 2000) {
            snprintf(err, errlen, "%s: at most 2000 characters", f->var);
            goto out;
        }
        if (multi) {
            struct multi_check m = {f->options, false};
            form_each_value(form, f->var, check_one, &m);
            if (m.bad) {
                snprintf(err, errlen, "%s: choose among the options", f->var);
                goto out;
            }
        } else if (is_list(f->type) && !option_ok(f->options, text)) {
            snprintf(err, errlen, "%s: choose one of the options", f->var);
            goto out;
        }
        if (desk_details_set(details, f->var, text) < 0)
            goto oom;
    }
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
    rc = -2;
out:
    buf_free(&v);
    return rc;
}
