/* The form helpers the ad-hoc command files share (forms.h): reading a
 * submitted field, the step's status, a result form, who sees a command,
 * the queues as list options. */
#include "build-config.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/config.h"
#include "desk/authz.h"
#include "desk/forms.h"
#include "desk/queue.h"
#include "desk/registry.h"
#include "desk/state.h"
#include "xmpp/adhoc.h"
#include "xmpp/form.h"
#include "xmpp/stanza.h"

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
