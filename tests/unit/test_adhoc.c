/* Unit tests: the ad-hoc command framework (xmpp/adhoc.c): sessions,
 * stages, actions, XEP-0050 errors, visibility, disco, deferred answers.
 * Stanzas are parsed from text, replies read from the link's buffer. */
#include "cmocka_prelude.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "xmpp/adhoc.h"
#include "xmpp/disco.h"
#include "xmpp/form.h"
#include "xmpp/link.h"
#include "xmpp/router.h"

struct fixture {
    struct loop *loop;
    struct link *link;
    struct router *router;
    struct disco *disco;
    struct adhoc *adhoc;
    int frees;
    struct adhoc_reply *pending;
};

static struct fixture *fx;

/* A two-stage command: stage 0 asks for `a`, stage 1 for `b`, then says
 * "a+b".  prev goes back to stage 0. */
static int two_stage(void *ud, struct adhoc_step *st, struct xerr *err)
{
    (void)ud;
    if (!st->data)
        st->data = calloc(1, 64);
    char *mem = st->data;
    if (!st->form) {
        form_open(st->payload, "form", NULL, NULL, NULL);
        form_add(st->payload, st->stage == 0 ? "a" : "b", "text-single", NULL,
                 NULL);
        form_close(st->payload);
        st->status = ADHOC_EXECUTING;
        st->next_stage = st->stage;
        st->actions = st->stage == 0 ? ADHOC_ACT_NEXT
                                     : ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
        return 0;
    }
    const char *v = form_value(st->form, st->stage == 0 ? "a" : "b");
    if (!v) {
        xerr_set(err, XERR_BAD_REQUEST, "%s: required",
                 st->stage == 0 ? "a" : "b");
        return -1;
    }
    if (st->stage == 0) {
        snprintf(mem, 64, "%s", v);
        form_open(st->payload, "form", NULL, NULL, NULL);
        form_add(st->payload, "b", "text-single", NULL, NULL);
        form_close(st->payload);
        st->status = ADHOC_EXECUTING;
        st->next_stage = 1;
        st->actions = ADHOC_ACT_PREV | ADHOC_ACT_COMPLETE;
        return 0;
    }
    adhoc_note(st, "info", "%s+%s", mem, v);
    return 0;
}

static void count_free(void *data)
{
    fx->frees++;
    free(data);
}

static bool only_admin(void *ud, const char *asker, const char *target)
{
    (void)ud;
    (void)target;
    return strcmp(asker, "admin@localhost") == 0;
}

static int instant(void *ud, struct adhoc_step *st, struct xerr *err)
{
    (void)ud;
    (void)err;
    adhoc_note(st, "info", "done at %s", st->target ? st->target : "D");
    return 0;
}

static int later(void *ud, struct adhoc_step *st, struct xerr *err)
{
    (void)ud;
    (void)err;
    fx->pending = adhoc_defer(st);
    return 0;
}

/* Stage 0 waits (for "the database") before showing stage 1's form; stage
 * 1 completes with what stage 0 remembered. */
static int later_then_form(void *ud, struct adhoc_step *st, struct xerr *err)
{
    (void)ud;
    (void)err;
    if (st->stage == 0) {
        if (!st->data)
            st->data = strdup("remembered");
        fx->pending = adhoc_defer(st);
        return 0;
    }
    adhoc_note(st, "info", "%s %s", (char *)st->data,
               st->form ? form_value(st->form, "x") : "-");
    return 0;
}

static const char *room_class(void *ud, const char *local)
{
    (void)ud;
    return strcmp(local, "billing") == 0 ? "queue" : NULL;
}

/* Three sessions per JID, four per domain, five in all. */
static const struct adhoc_limits LIMITS = {.session_ttl_ms = 60000,
                                           .per_jid = 3,
                                           .per_domain = 4,
                                           .max_sessions = 5};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof f);
    fx = &f;
    f.loop = loop_new();
    struct link_config cfg = {"support.localhost", "secret", "127.0.0.1", 5347,
                              30000};
    struct link_events ev = {0};
    f.link = link_new(f.loop, &cfg, &ev);
    f.router = router_new(f.loop, f.link, "support.localhost");
    f.disco = disco_new(f.router, "Support");
    f.adhoc = adhoc_new(f.loop, f.router, f.disco, &LIMITS);
    adhoc_set_class_lookup(f.adhoc, room_class, NULL);
    const struct adhoc_command cmds[] = {
        {"two", "Two stages", NULL, NULL, two_stage, count_free, NULL},
        {"secret", "Admins", NULL, only_admin, instant, NULL, NULL},
        {"here", "On queues", "queue", NULL, instant, NULL, NULL},
        {"later", "Deferred", NULL, NULL, later, NULL, NULL},
        {"later2", "Deferred stage", NULL, NULL, later_then_form, count_free,
         NULL},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        assert_int_equal(adhoc_register(f.adhoc, &cmds[i]), 0);
    assert_int_equal(adhoc_register(f.adhoc, &cmds[0]), -1); /* twice */
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    adhoc_free(f->adhoc);
    disco_free(f->disco);
    router_free(f->router);
    link_free(f->link);
    loop_free(f->loop);
    return 0;
}

static const char *dispatch(struct fixture *f, const char *xml)
{
    buf_reset(link_out(f->link));
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(link_strophe(f->link), xml);
    assert_non_null(st);
    router_dispatch(f->router, st);
    xmpp_stanza_release(st);
    return buf_cstr(link_out(f->link));
}

/* The sessionid attribute of a reply, into out. */
static void session_of(const char *reply, char *out, size_t size)
{
    const char *p = strstr(reply, "sessionid='");
    assert_non_null(p);
    p += strlen("sessionid='");
    size_t n = strcspn(p, "'");
    assert_true(n < size);
    memcpy(out, p, n);
    out[n] = '\0';
}

static const char *cmd(struct fixture *f, const char *from, const char *node,
                       const char *action, const char *sid, const char *form)
{
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<iq type='set' id='c1' from='%s' to='support.localhost'>"
             "<command xmlns='http://jabber.org/protocol/commands' node='%s'"
             "%s%s%s%s%s%s>%s</command></iq>",
             from, node, action ? " action='" : "", action ? action : "",
             action ? "'" : "", sid ? " sessionid='" : "", sid ? sid : "",
             sid ? "'" : "", form ? form : "");
    return dispatch(f, xml);
}

#define USER "u@localhost/r"

static void test_stages_next_prev_complete(void **state)
{
    struct fixture *f = *state;
    char sid[64];
    const char *out = cmd(f, USER, "two", NULL, NULL, NULL);
    assert_non_null(strstr(out, "status='executing'"));
    assert_non_null(strstr(out, "<actions execute='next'><next/></actions>"));
    assert_non_null(strstr(out, "var='a'"));
    session_of(out, sid, sizeof sid);
    /* complete is not offered at stage 0 */
    out = cmd(f, USER, "two", "complete", sid, NULL);
    assert_non_null(strstr(out, "<bad-action"));
    /* the session ended with that error: start again */
    out = cmd(f, USER, "two", "execute", NULL, NULL);
    session_of(out, sid, sizeof sid);
    out = cmd(f, USER, "two", "next", sid,
              "<x xmlns='jabber:x:data' type='submit'><field var='a'>"
              "<value>1</value></field></x>");
    assert_non_null(strstr(out, "var='b'"));
    assert_non_null(strstr(out, "<prev/>"));
    out = cmd(f, USER, "two", "prev", sid, NULL);
    assert_non_null(strstr(out, "var='a'"));
    out = cmd(f, USER, "two", "next", sid,
              "<x xmlns='jabber:x:data' type='submit'><field var='a'>"
              "<value>3</value></field></x>");
    /* "execute" in a session means the default action (complete here) */
    out = cmd(f, USER, "two", "execute", sid,
              "<x xmlns='jabber:x:data' type='submit'><field var='b'>"
              "<value>4</value></field></x>");
    assert_non_null(strstr(out, "status='completed'"));
    assert_non_null(strstr(out, "<note type='info'>3+4</note>"));
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
    assert_true(f->frees >= 2);
}

static void test_errors(void **state)
{
    struct fixture *f = *state;
    char sid[64];
    const char *out = cmd(f, USER, "two", "dance", NULL, NULL);
    assert_non_null(strstr(out, "<malformed-action"));
    out = cmd(f, USER, "two", "next", "nope", NULL);
    assert_non_null(strstr(out, "<bad-sessionid"));
    out = cmd(f, USER, "nosuch", NULL, NULL, NULL);
    assert_non_null(strstr(out, "<item-not-found"));
    /* someone else's session */
    out = cmd(f, USER, "two", NULL, NULL, NULL);
    session_of(out, sid, sizeof sid);
    out = cmd(f, "other@localhost/r", "two", "next", sid, NULL);
    assert_non_null(strstr(out, "<bad-sessionid"));
    /* a field error names the field */
    out = cmd(f, USER, "two", "next", sid,
              "<x xmlns='jabber:x:data' type='submit'/>");
    assert_non_null(strstr(out, "<bad-request"));
    assert_non_null(strstr(out, "a: required"));
    /* cancel */
    out = cmd(f, USER, "two", NULL, NULL, NULL);
    session_of(out, sid, sizeof sid);
    out = cmd(f, USER, "two", "cancel", sid, NULL);
    assert_non_null(strstr(out, "status='canceled'"));
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
    /* forbidden for who may not see it */
    out = cmd(f, USER, "secret", NULL, NULL, NULL);
    assert_non_null(strstr(out, "<forbidden"));
    out = cmd(f, "admin@localhost/x", "secret", NULL, NULL, NULL);
    assert_non_null(strstr(out, "done at D"));
}

static void test_one_shot_with_form(void **state)
{
    struct fixture *f = *state;
    const char *out = cmd(f, USER, "two", "execute", NULL,
                          "<x xmlns='jabber:x:data' type='submit'><field var='a'>"
                          "<value>9</value></field></x>");
    /* stage 0 answered at once: now at stage 1 */
    assert_non_null(strstr(out, "var='b'"));
    char sid[64];
    session_of(out, sid, sizeof sid);
    cmd(f, USER, "two", "cancel", sid, NULL);
}

static void test_disco_filtered_and_room_targets(void **state)
{
    struct fixture *f = *state;
    const char *out = dispatch(f,
        "<iq type='get' id='d' from='" USER "' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#items' "
        "node='http://jabber.org/protocol/commands'/></iq>");
    assert_non_null(strstr(out, "node='two'"));
    assert_null(strstr(out, "node='secret'"));
    assert_null(strstr(out, "node='here'"));
    out = dispatch(f,
        "<iq type='get' id='d' from='admin@localhost/r' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#items' "
        "node='http://jabber.org/protocol/commands'/></iq>");
    assert_non_null(strstr(out, "node='secret'"));
    out = dispatch(f,
        "<iq type='get' id='d' from='" USER "' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info' node='two'/></iq>");
    assert_non_null(strstr(out, "type='command-node'"));
    out = dispatch(f,
        "<iq type='get' id='d' from='" USER "' to='support.localhost'>"
        "<query xmlns='http://jabber.org/protocol/disco#info' node='secret'/></iq>");
    assert_non_null(strstr(out, "item-not-found"));
    /* on a room JID of the right class */
    out = dispatch(f,
        "<iq type='set' id='r' from='" USER "' to='billing@support.localhost'>"
        "<command xmlns='http://jabber.org/protocol/commands' node='here'/></iq>");
    assert_non_null(strstr(out, "done at billing"));
    out = dispatch(f,
        "<iq type='set' id='r' from='" USER "' to='other@support.localhost'>"
        "<command xmlns='http://jabber.org/protocol/commands' node='here'/></iq>");
    assert_non_null(strstr(out, "item-not-found"));
    assert_true(adhoc_room_has_commands(f->adhoc, "billing"));
    assert_false(adhoc_room_has_commands(f->adhoc, "other"));
}

static void test_deferred_answer(void **state)
{
    struct fixture *f = *state;
    const char *out = cmd(f, USER, "later", NULL, NULL, NULL);
    assert_string_equal(out, "");
    assert_non_null(f->pending);
    buf_reset(link_out(f->link));
    buf_append_str(adhoc_reply_payload(f->pending), "<note type='info'>ok</note>");
    adhoc_finish(f->pending);
    f->pending = NULL;
    out = buf_cstr(link_out(f->link));
    assert_non_null(strstr(out, "type='result'"));
    assert_non_null(strstr(out, "status='completed'"));
    assert_non_null(strstr(out, "<note type='info'>ok</note>"));
    cmd(f, USER, "later", NULL, NULL, NULL);
    buf_reset(link_out(f->link));
    struct xerr err;
    xerr_set(&err, XERR_SERVICE_UNAVAILABLE, "db away");
    adhoc_fail(f->pending, &err);
    f->pending = NULL;
    assert_non_null(strstr(buf_cstr(link_out(f->link)), "service-unavailable"));
}

static void test_deferred_next_stage(void **state)
{
    struct fixture *f = *state;
    const char *out = cmd(f, USER, "later2", NULL, NULL, NULL);
    assert_string_equal(out, "");
    assert_non_null(f->pending);
    assert_string_equal(adhoc_reply_data(f->pending), "remembered");
    /* While it waits, the session takes no request. */
    char sid[64];
    struct adhoc_reply *r = f->pending;
    buf_reset(link_out(f->link));
    buf_append_str(adhoc_reply_payload(r), "<x xmlns='jabber:x:data' "
                                          "type='form'/>");
    /* (the session id is the one the continued answer carries) */
    int frees = f->frees;
    adhoc_continue(r, 1, ADHOC_ACT_COMPLETE, ADHOC_ACT_COMPLETE);
    f->pending = NULL;
    out = buf_cstr(link_out(f->link));
    assert_non_null(strstr(out, "status='executing'"));
    assert_non_null(strstr(out, "<actions execute='complete'><complete/>"));
    session_of(out, sid, sizeof sid);
    out = cmd(f, USER, "later2", "complete", sid,
              "<x xmlns='jabber:x:data' type='submit'><field var='x'>"
              "<value>1</value></field></x>");
    assert_non_null(strstr(out, "status='completed'"));
    assert_non_null(strstr(out, "remembered 1"));
    assert_int_equal(f->frees, frees + 1);
    /* A request while the step still waits is refused; the late answer
     * still arrives. */
    cmd(f, USER, "later2", NULL, NULL, NULL);
    r = f->pending;
    f->pending = NULL;
    buf_reset(link_out(f->link));
    adhoc_continue(r, 1, 0, 0);
    session_of(buf_cstr(link_out(f->link)), sid, sizeof sid);
    cmd(f, USER, "later2", NULL, NULL, NULL); /* another session */
    r = f->pending;
    f->pending = NULL;
    out = cmd(f, USER, "later2", "complete", sid, NULL);
    assert_non_null(strstr(out, "status='completed'"));
    buf_reset(link_out(f->link));
    struct xerr err;
    xerr_set(&err, XERR_SERVICE_UNAVAILABLE, "db away");
    adhoc_fail(r, &err);
    assert_non_null(strstr(buf_cstr(link_out(f->link)), "service-unavailable"));
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
}

static void test_busy_session_refused(void **state)
{
    struct fixture *f = *state;
    /* Stage 1 defers when it gets no form (a script's empty complete). */
    const char *out = cmd(f, USER, "later2", NULL, NULL, NULL);
    struct adhoc_reply *r = f->pending;
    f->pending = NULL;
    buf_reset(link_out(f->link));
    adhoc_continue(r, 0, ADHOC_ACT_NEXT, ADHOC_ACT_NEXT);
    char sid[64];
    session_of(buf_cstr(link_out(f->link)), sid, sizeof sid);
    out = cmd(f, USER, "later2", "next", sid, NULL); /* stage 0 again: waits */
    assert_string_equal(out, "");
    r = f->pending;
    f->pending = NULL;
    out = cmd(f, USER, "later2", "next", sid, NULL);
    assert_non_null(strstr(out, "unexpected-request"));
    buf_reset(link_out(f->link));
    buf_append_str(adhoc_reply_payload(r), "<note type='info'>late</note>");
    adhoc_finish(r);
    assert_non_null(strstr(buf_cstr(link_out(f->link)), "late"));
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
}

static void stop_loop(void *ud)
{
    loop_stop(ud);
}

/* Whether session sid of `from` still answers (a next with a form). */
static bool alive(struct fixture *f, const char *from, const char *sid)
{
    const char *out = cmd(f, from, "two", "next", sid,
                          "<x xmlns='jabber:x:data' type='submit'><field "
                          "var='a'><value>1</value></field></x>");
    return strstr(out, "var='b'") != NULL;
}

static void test_session_caps_shed_the_oldest(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
    char sid[6][64];
    /* Four sessions of one JID: its first goes (three per JID). */
    for (int i = 0; i < 4; i++)
        session_of(cmd(f, USER, "two", NULL, NULL, NULL), sid[i], 64);
    assert_int_equal(adhoc_session_count(f->adhoc), 3);
    const char *out = cmd(f, USER, "two", "next", sid[0], NULL);
    assert_non_null(strstr(out, "<bad-sessionid"));
    /* Another JID of the domain: at four per domain, the domain's oldest
     * (USER's second) goes, not the newcomer's. */
    session_of(cmd(f, "v@localhost/x", "two", NULL, NULL, NULL), sid[4], 64);
    assert_int_equal(adhoc_session_count(f->adhoc), 4);
    session_of(cmd(f, "w@localhost/x", "two", NULL, NULL, NULL), sid[5], 64);
    assert_int_equal(adhoc_session_count(f->adhoc), 4);
    assert_false(alive(f, USER, sid[1]));
    assert_true(alive(f, USER, sid[2]));
    /* Another domain: five in all, then the oldest of all goes
     * (USER's third, just touched by alive(): the fourth). */
    char other[2][64];
    session_of(cmd(f, "x@example.org/x", "two", NULL, NULL, NULL), other[0],
               64);
    assert_int_equal(adhoc_session_count(f->adhoc), 5);
    session_of(cmd(f, "y@example.org/x", "two", NULL, NULL, NULL), other[1],
               64);
    assert_int_equal(adhoc_session_count(f->adhoc), 5);
    assert_false(alive(f, USER, sid[3]));
    assert_true(alive(f, "v@localhost/x", sid[4]));
    uint64_t swept, shed;
    adhoc_session_stats(f->adhoc, &swept, &shed);
    assert_int_equal(shed, 3);
    /* Clean up for the tests after. */
    const char *cancel_of[][2] = {{USER, sid[2]}, {"v@localhost/x", sid[4]},
                                  {"w@localhost/x", sid[5]},
                                  {"x@example.org/x", other[0]},
                                  {"y@example.org/x", other[1]}};
    for (size_t i = 0; i < 5; i++)
        cmd(f, cancel_of[i][0], "two", "cancel", cancel_of[i][1], NULL);
    assert_int_equal(adhoc_session_count(f->adhoc), 0);
}

static void test_session_expiry(void **state)
{
    struct fixture *f = *state;
    struct adhoc *quick = f->adhoc;
    /* A framework whose sessions last 1 ms, on the same router: replace
     * the iq handlers for this test only. */
    adhoc_free(quick);
    router_free(f->router);
    disco_free(f->disco);
    f->router = router_new(f->loop, f->link, "support.localhost");
    f->disco = disco_new(f->router, "Support");
    const struct adhoc_limits quick_lim = {.session_ttl_ms = 1};
    f->adhoc = adhoc_new(f->loop, f->router, f->disco, &quick_lim);
    const struct adhoc_command c = {"two", "Two stages", NULL, NULL, two_stage,
                                    count_free, NULL};
    assert_int_equal(adhoc_register(f->adhoc, &c), 0);
    char sid[64];
    const char *out = cmd(f, USER, "two", NULL, NULL, NULL);
    session_of(out, sid, sizeof sid);
    loop_timer_add(f->loop, 5, stop_loop, f->loop, NULL);
    loop_run(f->loop);
    out = cmd(f, USER, "two", "next", sid,
              "<x xmlns='jabber:x:data' type='submit'><field var='a'>"
              "<value>1</value></field></x>");
    assert_non_null(strstr(out, "<not-allowed"));
    assert_non_null(strstr(out, "<session-expired"));
    assert_int_equal(adhoc_session_count(f->adhoc), 0);

    /* Many senders' sessions: a new session costs the expired ones it
     * ends plus one look, never a walk over every live session. */
    char from[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(from, sizeof from, "anon%d@anon.localhost/w", i);
        cmd(f, from, "two", NULL, NULL, NULL);
    }
    assert_int_equal(adhoc_session_count(f->adhoc), 2000);
    loop_timer_add(f->loop, 5, stop_loop, f->loop, NULL);
    loop_run(f->loop);
    uint64_t swept0, swept1, shed;
    adhoc_session_stats(f->adhoc, &swept0, &shed);
    cmd(f, "late@anon.localhost/w", "two", NULL, NULL, NULL);
    adhoc_session_stats(f->adhoc, &swept1, &shed);
    assert_int_equal(adhoc_session_count(f->adhoc), 1);
    assert_true(swept1 - swept0 <= 2001);
    for (int i = 0; i < 2000; i++) {
        snprintf(from, sizeof from, "fresh%d@anon.localhost/w", i);
        cmd(f, from, "two", NULL, NULL, NULL);
    }
    adhoc_session_stats(f->adhoc, &swept0, &shed);
    assert_true(swept0 - swept1 <= 2000);
    assert_int_equal(adhoc_session_count(f->adhoc), 2001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_next_prev_complete),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_one_shot_with_form),
        cmocka_unit_test(test_disco_filtered_and_room_targets),
        cmocka_unit_test(test_deferred_answer),
        cmocka_unit_test(test_deferred_next_stage),
        cmocka_unit_test(test_busy_session_refused),
        cmocka_unit_test(test_session_caps_shed_the_oldest),
        cmocka_unit_test(test_session_expiry), /* last: rebuilds the fixture */
    };
    return cmocka_run_group_tests_name("adhoc", tests, setup, teardown);
}
