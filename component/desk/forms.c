/* The form helpers the ad-hoc command files share (forms.h): reading a
 * submitted field, the step's status, a result form, who sees a command,
 * the queues as list options, the answers of deferred commands. */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/log.h"
#include "desk/authz.h"
#include "desk/directory.h"
#include "desk/forms.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"
#include "xmpp/xml.h"

#define LOG "desk"

const char *desk_form_text(xmpp_stanza_t *form, const char *var)
{
    const char *v = form ? form_value(form, var) : NULL;
    return v ? v : "";
}

void desk_form_lines(xmpp_stanza_t *form, const char *var, const char *sep,
                     struct buf *out)
{
    form_join_values(form, var, sep, out);
}

void desk_result_open(struct adhoc_step *st)
{
    form_open(st->payload, "result", NULL, NULL, NULL);
}

void desk_step_executing(struct adhoc_step *st, unsigned next_stage)
{
    st->status = ADHOC_EXECUTING;
    st->next_stage = next_stage;
    st->actions = ADHOC_ACT_COMPLETE;
    st->default_action = ADHOC_ACT_COMPLETE;
}

bool desk_visible_admin(void *ud, const char *asker, const char *target)
{
    struct desk *d = ud;
    (void)target;
    return config_is_admin(d->cfg, asker);
}

bool desk_visible_staff(void *ud, const char *asker, const char *target)
{
    struct desk *d = ud;
    (void)target;
    return config_is_admin(d->cfg, asker) || desk_is_staff_anywhere(d, asker);
}

bool desk_visible_supervisor(void *ud, const char *asker, const char *target)
{
    struct desk *d = ud;
    (void)target;
    if (config_is_admin(d->cfg, asker))
        return true;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        const struct desk_member *m = desk_member_find(q, asker);
        if (m && m->role == DESK_ROLE_SUPERVISOR)
            return true;
    }
    return false;
}

const char **desk_queue_options(struct desk *d)
{
    size_t n = HASH_COUNT(d->queues);
    const char **opts = calloc(2 * n + 1, sizeof *opts);
    if (!opts)
        return NULL;
    size_t i = 0;
    for (struct desk_queue *q = d->queues; q; q = q->hh.next) {
        opts[i++] = q->name;
        opts[i++] = q->title ? q->title : q->name;
    }
    return opts;
}

/* A deferred command failed in the database: bad input is the asker's
 * (bad-request with the text), anything else logged and
 * service-unavailable. */
void desk_adhoc_fail_db(struct adhoc_reply *r, int rc, const char *errtext,
                        const char *what)
{
    struct xerr err;
    if (rc == DESK_DB_INVALID || rc == DESK_DB_NOT_FOUND ||
        rc == DESK_DB_EXISTS) {
        xerr_set(&err, XERR_BAD_REQUEST, "%s", errtext);
    } else {
        log_warn(LOG, "%s: %s", what, errtext);
        xerr_set(&err, XERR_SERVICE_UNAVAILABLE,
                 "The database is not reachable; try again later");
    }
    adhoc_fail(r, &err);
}

/* A deferred command done, with an info note. */
void desk_adhoc_finish_note(struct adhoc_reply *r, const char *text)
{
    struct buf *b = adhoc_reply_payload(r);
    buf_append_str(b, "<note type='info'>");
    xml_text(b, text);
    buf_append_str(b, "</note>");
    adhoc_finish(r);
}

/* The queues with "" first ("every queue"/"all"), for a list field. */
const char **desk_queue_options_with(struct desk *d, const char *none)
{
    const char **q = desk_queue_options(d);
    if (!q)
        return NULL;
    size_t n = 0;
    while (q[n])
        n++;
    const char **all = calloc(n + 3, sizeof *all);
    if (!all) {
        free(q);
        return NULL;
    }
    all[0] = "";
    all[1] = none;
    memcpy(all + 2, q, n * sizeof *q);
    free(q);
    return all;
}

/* Out of memory: resource-constraint.  -1. */
int desk_adhoc_oom(struct xerr *err)
{
    xerr_set(err, XERR_RESOURCE_CONSTRAINT, "Try again later");
    return -1;
}
