/* Unit tests: the MUC's visibility rules (muc/visibility.c) and privilege
 * rules (muc/privilege.c) as pure functions over roles, affiliations and
 * occupant flags. */
#include "cmocka_prelude.h"

#include <string.h>

#include "muc/privilege.h"
#include "muc/visibility.h"

/* ---- visibility -------------------------------------------------------------------- */

static void test_visible_occupants_are_seen_by_all(void **state)
{
    (void)state;
    struct muc_room room;
    struct muc_occupant customer, staff, subject;
    memset(&room, 0, sizeof room);
    memset(&customer, 0, sizeof customer);
    memset(&staff, 0, sizeof staff);
    memset(&subject, 0, sizeof subject);
    staff.privileged = true;
    assert_true(muc_visible_to(&room, &customer, false, &subject));
    assert_true(muc_visible_to(&room, &staff, true, &subject));
    assert_true(muc_visible_to(&room, NULL, false, &subject));
}

static void test_invisible_seen_only_by_privileged_and_self(void **state)
{
    (void)state;
    struct muc_room room;
    struct muc_occupant customer, staff, observer;
    memset(&room, 0, sizeof room);
    memset(&customer, 0, sizeof customer);
    memset(&staff, 0, sizeof staff);
    memset(&observer, 0, sizeof observer);
    staff.privileged = true;
    observer.privileged = true;
    observer.invisible = true;

    assert_false(muc_visible_to(&room, &customer, false, &observer));
    assert_false(muc_visible_to(&room, NULL, false, &observer));
    assert_true(muc_visible_to(&room, &staff, true, &observer));
    assert_true(muc_visible_to(&room, NULL, true, &observer));
    assert_true(muc_visible_to(&room, &observer, true, &observer));
    /* An invisible occupant that is not privileged still sees itself, but
     * not other invisible occupants. */
    struct muc_occupant other = observer;
    other.privileged = false;
    assert_true(muc_visible_to(&room, &other, false, &other));
    assert_false(muc_visible_to(&room, &other, false, &observer));
}

static void test_real_jids(void **state)
{
    (void)state;
    struct muc_room room;
    struct muc_occupant v;
    memset(&room, 0, sizeof room);
    memset(&v, 0, sizeof v);
    room.cfg.semi_anonymous = false;
    assert_true(muc_jids_visible_to(&room, &v, false));
    assert_true(muc_jids_visible_to(&room, NULL, false));
    room.cfg.semi_anonymous = true;
    v.role = MUC_ROLE_PARTICIPANT;
    assert_false(muc_jids_visible_to(&room, &v, false));
    assert_false(muc_jids_visible_to(&room, NULL, false));
    assert_true(muc_jids_visible_to(&room, &v, true));
    assert_true(muc_jids_visible_to(&room, NULL, true));
    v.role = MUC_ROLE_MODERATOR;
    assert_true(muc_jids_visible_to(&room, &v, false));
}

static void test_staff_only_events(void **state)
{
    (void)state;
    assert_true(muc_event_visible_to(false, false));
    assert_true(muc_event_visible_to(false, true));
    assert_false(muc_event_visible_to(true, false));
    assert_true(muc_event_visible_to(true, true));
}

static void test_private_message_rules(void **state)
{
    (void)state;
    struct muc_room room;
    struct muc_occupant customer, agent, agent2, observer;
    memset(&room, 0, sizeof room);
    memset(&customer, 0, sizeof customer);
    memset(&agent, 0, sizeof agent);
    customer.role = agent.role = MUC_ROLE_PARTICIPANT;
    agent.privileged = true;
    agent2 = agent;
    observer = agent;
    observer.invisible = true;

    room.cfg.allow_pm = MUC_PM_ANYONE;
    assert_int_equal(muc_pm_check(&room, &customer, &agent), MUC_PM_OK);
    assert_int_equal(muc_pm_check(&room, &agent, &customer), MUC_PM_OK);
    /* Off the record between staff only: customers neither way. */
    room.cfg.pm_privileged_only = true;
    assert_int_equal(muc_pm_check(&room, &customer, &agent),
                     MUC_PM_NOT_ACCEPTABLE);
    assert_int_equal(muc_pm_check(&room, &agent, &customer),
                     MUC_PM_NOT_ACCEPTABLE);
    assert_int_equal(muc_pm_check(&room, &agent, &agent2), MUC_PM_OK);
    /* An observer writes to staff, never to the customer. */
    assert_int_equal(muc_pm_check(&room, &observer, &agent), MUC_PM_OK);
    assert_int_equal(muc_pm_check(&room, &observer, &customer),
                     MUC_PM_UNSEEN);
    room.cfg.pm_privileged_only = false;
    assert_int_equal(muc_pm_check(&room, &observer, &customer),
                     MUC_PM_UNSEEN);
    /* The room's allowpm setting. */
    room.cfg.allow_pm = MUC_PM_MODERATORS;
    assert_int_equal(muc_pm_check(&room, &customer, &agent),
                     MUC_PM_NOT_ACCEPTABLE);
    customer.role = MUC_ROLE_MODERATOR;
    assert_int_equal(muc_pm_check(&room, &customer, &agent), MUC_PM_OK);
    room.cfg.allow_pm = MUC_PM_PARTICIPANTS;
    customer.role = MUC_ROLE_VISITOR;
    assert_int_equal(muc_pm_check(&room, &customer, &agent),
                     MUC_PM_NOT_ACCEPTABLE);
    room.cfg.allow_pm = MUC_PM_NONE;
    customer.role = MUC_ROLE_MODERATOR;
    assert_int_equal(muc_pm_check(&room, &customer, &agent),
                     MUC_PM_NOT_ACCEPTABLE);
    assert_int_equal(muc_pm_check(&room, &agent, &agent2), MUC_PM_OK);
}

/* ---- privileges ------------------------------------------------------------------------ */

static void test_default_roles(void **state)
{
    (void)state;
    assert_int_equal(muc_default_role(MUC_AFFIL_OWNER, false),
                     MUC_ROLE_MODERATOR);
    assert_int_equal(muc_default_role(MUC_AFFIL_ADMIN, true),
                     MUC_ROLE_MODERATOR);
    assert_int_equal(muc_default_role(MUC_AFFIL_MEMBER, true),
                     MUC_ROLE_PARTICIPANT);
    assert_int_equal(muc_default_role(MUC_AFFIL_NONE, true), MUC_ROLE_VISITOR);
    assert_int_equal(muc_default_role(MUC_AFFIL_NONE, false),
                     MUC_ROLE_PARTICIPANT);
    assert_int_equal(muc_default_role(MUC_AFFIL_OUTCAST, false),
                     MUC_ROLE_NONE);
}

#define R(x) MUC_ROLE_##x
#define A(x) MUC_AFFIL_##x
#define V(x) MUC_PRIV_##x

/* §8.2-8.6 and §9.6-9.7, as a table. */
static void test_role_change_matrix(void **state)
{
    (void)state;
    static const struct {
        enum muc_role actor_role;
        enum muc_affiliation actor_affil;
        enum muc_role target_role;
        enum muc_affiliation target_affil;
        enum muc_role new_role;
        bool self;
        enum muc_priv_verdict expect;
    } cases[] = {
        /* only moderators act */
        {R(PARTICIPANT), A(MEMBER), R(PARTICIPANT), A(NONE), R(NONE), false, V(FORBIDDEN)},
        {R(VISITOR), A(OWNER), R(PARTICIPANT), A(NONE), R(VISITOR), false, V(FORBIDDEN)},
        /* a mere moderator kicks and grants/revokes voice */
        {R(MODERATOR), A(NONE), R(PARTICIPANT), A(NONE), R(NONE), false, V(OK)},
        {R(MODERATOR), A(NONE), R(VISITOR), A(NONE), R(PARTICIPANT), false, V(OK)},
        {R(MODERATOR), A(NONE), R(PARTICIPANT), A(NONE), R(VISITOR), false, V(OK)},
        {R(MODERATOR), A(MEMBER), R(PARTICIPANT), A(MEMBER), R(VISITOR), false, V(OK)},
        /* ...but not members when it is not one (outranked) */
        {R(MODERATOR), A(NONE), R(PARTICIPANT), A(MEMBER), R(NONE), false, V(NOT_ALLOWED)},
        /* ...and not moderator status, which is an admin's */
        {R(MODERATOR), A(MEMBER), R(PARTICIPANT), A(NONE), R(MODERATOR), false, V(FORBIDDEN)},
        {R(MODERATOR), A(NONE), R(MODERATOR), A(NONE), R(PARTICIPANT), false, V(FORBIDDEN)},
        {R(MODERATOR), A(NONE), R(MODERATOR), A(NONE), R(NONE), false, V(FORBIDDEN)},
        /* admins grant and revoke moderator status */
        {R(MODERATOR), A(ADMIN), R(PARTICIPANT), A(MEMBER), R(MODERATOR), false, V(OK)},
        {R(MODERATOR), A(ADMIN), R(MODERATOR), A(NONE), R(PARTICIPANT), false, V(OK)},
        /* ...never from admins or owners */
        {R(MODERATOR), A(ADMIN), R(MODERATOR), A(ADMIN), R(PARTICIPANT), false, V(NOT_ALLOWED)},
        {R(MODERATOR), A(ADMIN), R(MODERATOR), A(OWNER), R(PARTICIPANT), false, V(NOT_ALLOWED)},
        {R(MODERATOR), A(OWNER), R(MODERATOR), A(ADMIN), R(VISITOR), false, V(NOT_ALLOWED)},
        /* kicks: not by a lower affiliation (§8.2) */
        {R(MODERATOR), A(MEMBER), R(MODERATOR), A(ADMIN), R(NONE), false, V(NOT_ALLOWED)},
        {R(MODERATOR), A(ADMIN), R(MODERATOR), A(OWNER), R(NONE), false, V(NOT_ALLOWED)},
        {R(MODERATOR), A(ADMIN), R(MODERATOR), A(ADMIN), R(NONE), false, V(NOT_ALLOWED)},
        {R(MODERATOR), A(OWNER), R(MODERATOR), A(ADMIN), R(NONE), false, V(OK)},
        {R(MODERATOR), A(OWNER), R(MODERATOR), A(OWNER), R(NONE), false, V(NOT_ALLOWED)},
        /* kicking oneself */
        {R(MODERATOR), A(OWNER), R(MODERATOR), A(OWNER), R(NONE), true, V(CONFLICT)},
        /* a no-op is fine */
        {R(MODERATOR), A(NONE), R(PARTICIPANT), A(NONE), R(PARTICIPANT), false, V(OK)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum muc_priv_verdict got = muc_priv_set_role(
            cases[i].actor_role, cases[i].actor_affil, cases[i].target_role,
            cases[i].target_affil, cases[i].new_role, cases[i].self);
        if (got != cases[i].expect)
            fail_msg("role case %zu: got %d, expected %d", i, got,
                     cases[i].expect);
    }
}

/* §9-10, as a table. */
static void test_affiliation_change_matrix(void **state)
{
    (void)state;
    static const struct {
        enum muc_affiliation actor;
        enum muc_affiliation target;
        enum muc_affiliation new_affil;
        bool self;
        unsigned owners;
        enum muc_priv_verdict expect;
    } cases[] = {
        /* members and below change nothing */
        {A(MEMBER), A(NONE), A(MEMBER), false, 1, V(FORBIDDEN)},
        {A(NONE), A(NONE), A(OUTCAST), false, 1, V(FORBIDDEN)},
        /* admins: members and outcasts */
        {A(ADMIN), A(NONE), A(MEMBER), false, 1, V(OK)},
        {A(ADMIN), A(MEMBER), A(NONE), false, 1, V(OK)},
        {A(ADMIN), A(MEMBER), A(OUTCAST), false, 1, V(OK)},
        {A(ADMIN), A(OUTCAST), A(NONE), false, 1, V(OK)},
        /* ...not the admin and owner lists */
        {A(ADMIN), A(MEMBER), A(ADMIN), false, 1, V(FORBIDDEN)},
        {A(ADMIN), A(NONE), A(OWNER), false, 1, V(FORBIDDEN)},
        {A(ADMIN), A(OWNER), A(OUTCAST), false, 2, V(NOT_ALLOWED)},
        {A(ADMIN), A(OWNER), A(OUTCAST), false, 1, V(NOT_ALLOWED)},
        {A(ADMIN), A(ADMIN), A(MEMBER), false, 1, V(NOT_ALLOWED)},
        /* owners: everything */
        {A(OWNER), A(NONE), A(ADMIN), false, 1, V(OK)},
        {A(OWNER), A(ADMIN), A(NONE), false, 1, V(OK)},
        {A(OWNER), A(MEMBER), A(OWNER), false, 1, V(OK)},
        {A(OWNER), A(OWNER), A(ADMIN), false, 2, V(OK)},
        {A(OWNER), A(ADMIN), A(OUTCAST), false, 1, V(OK)},
        /* nobody bans themselves; the last owner stays */
        {A(ADMIN), A(ADMIN), A(OUTCAST), true, 1, V(CONFLICT)},
        {A(OWNER), A(OWNER), A(OUTCAST), true, 2, V(CONFLICT)},
        {A(OWNER), A(OWNER), A(MEMBER), true, 1, V(CONFLICT)},
        {A(OWNER), A(OWNER), A(MEMBER), true, 2, V(OK)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum muc_priv_verdict got = muc_priv_set_affiliation(
            cases[i].actor, cases[i].target, cases[i].new_affil, cases[i].self,
            cases[i].owners);
        if (got != cases[i].expect)
            fail_msg("affiliation case %zu: got %d, expected %d", i, got,
                     cases[i].expect);
    }
}

static void test_lists(void **state)
{
    (void)state;
    /* outcasts: admins */
    assert_int_equal(muc_priv_get_list(R(MODERATOR), A(MEMBER),
                                       MUC_LIST_OUTCAST, false), V(FORBIDDEN));
    assert_int_equal(muc_priv_get_list(R(NONE), A(ADMIN), MUC_LIST_OUTCAST,
                                       true), V(OK));
    /* members: admins; members too where JIDs are public */
    assert_int_equal(muc_priv_get_list(R(PARTICIPANT), A(MEMBER),
                                       MUC_LIST_MEMBER, true), V(FORBIDDEN));
    assert_int_equal(muc_priv_get_list(R(PARTICIPANT), A(MEMBER),
                                       MUC_LIST_MEMBER, false), V(OK));
    assert_int_equal(muc_priv_get_list(R(PARTICIPANT), A(NONE),
                                       MUC_LIST_MEMBER, false), V(FORBIDDEN));
    /* owners and admins lists: owners; admins in non-anonymous rooms */
    assert_int_equal(muc_priv_get_list(R(MODERATOR), A(ADMIN), MUC_LIST_OWNER,
                                       true), V(FORBIDDEN));
    assert_int_equal(muc_priv_get_list(R(MODERATOR), A(ADMIN), MUC_LIST_OWNER,
                                       false), V(OK));
    assert_int_equal(muc_priv_get_list(R(MODERATOR), A(OWNER), MUC_LIST_ADMIN,
                                       true), V(OK));
    /* role lists */
    assert_int_equal(muc_priv_get_list(R(MODERATOR), A(NONE),
                                       MUC_LIST_PARTICIPANT, true), V(OK));
    assert_int_equal(muc_priv_get_list(R(PARTICIPANT), A(MEMBER),
                                       MUC_LIST_PARTICIPANT, true),
                     V(FORBIDDEN));
    assert_int_equal(muc_priv_get_list(R(PARTICIPANT), A(MEMBER),
                                       MUC_LIST_MODERATOR, true),
                     V(FORBIDDEN));
}

static void test_subject_invite_speak(void **state)
{
    (void)state;
    assert_true(muc_priv_change_subject(R(MODERATOR), false));
    assert_false(muc_priv_change_subject(R(PARTICIPANT), false));
    assert_true(muc_priv_change_subject(R(PARTICIPANT), true));
    assert_false(muc_priv_change_subject(R(VISITOR), true));

    assert_true(muc_priv_invite(R(VISITOR), A(NONE), false, false));
    assert_false(muc_priv_invite(R(PARTICIPANT), A(MEMBER), true, false));
    assert_true(muc_priv_invite(R(PARTICIPANT), A(MEMBER), true, true));
    assert_true(muc_priv_invite(R(MODERATOR), A(ADMIN), true, false));
    assert_false(muc_priv_invite(R(NONE), A(OWNER), false, false));

    assert_true(muc_priv_speak(R(PARTICIPANT), true));
    assert_false(muc_priv_speak(R(VISITOR), true));
    assert_true(muc_priv_speak(R(VISITOR), false));
    assert_false(muc_priv_speak(R(NONE), false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_visible_occupants_are_seen_by_all),
        cmocka_unit_test(test_invisible_seen_only_by_privileged_and_self),
        cmocka_unit_test(test_real_jids),
        cmocka_unit_test(test_staff_only_events),
        cmocka_unit_test(test_private_message_rules),
        cmocka_unit_test(test_default_roles),
        cmocka_unit_test(test_role_change_matrix),
        cmocka_unit_test(test_affiliation_change_matrix),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_subject_invite_speak),
    };
    return cmocka_run_group_tests_name("muc_rules", tests, NULL, NULL);
}
