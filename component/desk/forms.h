/* The ad-hoc commands (§4): registration of each file's commands (desk.c
 * calls them in this order, which is the order of the command list), and
 * the form helpers they share (forms.c). */
#ifndef MUCDESK_DESK_FORMS_H
#define MUCDESK_DESK_FORMS_H

#include <stdbool.h>
#include <stddef.h>

#include "desk/authz.h"
#include "desk/commands.h"
#include "xmpp/adhoc.h"
#include "xmpp/stanza.h"

struct buf;
struct desk;
struct desk_chat;

/* adhoc_cmds.c: the customers' and the directory's commands; then the
 * staff forms of the text commands (registered last). */
int desk_adhoc_register(struct desk *d);
int desk_adhoc_staff_register(struct desk *d);
/* Shared by the ad-hoc command files.  A submitted field's first value
 * ("" if none); all its values joined with sep (text-multi lines, list
 * items) appended to out. */
const char *desk_form_text(xmpp_stanza_t *form, const char *var);
void desk_form_lines(xmpp_stanza_t *form, const char *var, const char *sep,
                     struct buf *out);
/* The step goes on at next_stage (actions: complete). */
void desk_step_executing(struct adhoc_step *st, unsigned next_stage);
/* Opens a result form in the step's payload (close with form_close). */
void desk_result_open(struct adhoc_step *st);
/* Who sees a command (struct adhoc_command's visible; ud is the desk). */
bool desk_visible_admin(void *ud, const char *asker, const char *target);
bool desk_visible_staff(void *ud, const char *asker, const char *target);
bool desk_visible_supervisor(void *ud, const char *asker, const char *target);
/* Runs a command line for an ad-hoc step (the ticket's chat, or NULL in
 * queue places): its reply becomes an info note, a room it points to a
 * `room` result field; a deferred command answers later.  0 or -1. */
int desk_adhoc_run_line(struct desk *d, struct adhoc_step *st,
                        struct desk_chat *chat, enum desk_place place,
                        const char *line, struct xerr *err);
/* The queues as list options (name, title pairs, NULL-terminated; the
 * strings are the queues'): free() the array.  NULL if out of memory. */
const char **desk_queue_options(struct desk *d);
/* The same after a first "" option labelled `none`. */
const char **desk_queue_options_with(struct desk *d, const char *none);
/* Answers of deferred commands: a database failure (bad input is the
 * asker's: bad-request; anything else logged, service-unavailable), done
 * with an info note.  And out of memory: resource-constraint, -1. */
void desk_adhoc_fail_db(struct adhoc_reply *r, int rc, const char *errtext,
                        const char *what);
void desk_adhoc_finish_note(struct adhoc_reply *r, const char *text);
int desk_adhoc_oom(struct xerr *err);

int desk_adhoc_agent_register(struct desk *d);
int desk_adhoc_library_register(struct desk *d); /* adhoc_library.c */
int desk_adhoc_reports_register(struct desk *d); /* adhoc_reports.c */
int desk_adhoc_admin_register(struct desk *d);
int desk_adhoc_webhooks_register(struct desk *d); /* webhooks_admin.c */

#endif
