/* The fuzz world: the whole daemon in one process, router -> muc -> desk,
 * over a fake link, store and database (fake.h), with a small fixed state
 * built through ordinary stanzas at the start of every input:
 *
 *   billing@D   queue room (least-busy): agent1 (max 1 chat), agent2 (dnd),
 *               sup (supervisor) present; canned responses
 *   sales@D     queue room (manual) with pre-chat fields; nobody present
 *   ticket-1@D  active chat: customer ann, agent1 owner, sup observing
 *               invisibly as "Watcher"
 *   ticket-2@D  waiting chat: customer bob (request-chat, the widget's way)
 *   lounge@D    a plain room made by admin, agent1 in it
 *
 * Stanzas are then fed from one of the senders below (their `from` set as
 * the XMPP server would).  After every stanza and every step of time the
 * checks run on everything the service wrote: well-formed XML 1.0 UTF-8
 * (fuzz_check_output); every stanza from the service's domain (else the
 * server closes the component stream) and addressed to someone; and
 * nothing that names the invisible observer to anyone but staff while the
 * observer is invisible. */
#ifndef MUCDESK_FUZZ_WORLD_H
#define MUCDESK_FUZZ_WORLD_H

#include <stddef.h>
#include <stdint.h>

enum world_sender {
    WORLD_ANN,      /* ann@anon.localhost/widget: ticket-1's customer */
    WORLD_BOB,      /* bob@anon.localhost/widget: ticket-2's customer */
    WORLD_AGENT1,   /* agent1@localhost/desk: ticket-1's agent */
    WORLD_AGENT2,   /* agent2@localhost/desk */
    WORLD_SUP,      /* sup@localhost/desk: the invisible observer */
    WORLD_ADMIN,    /* admin@localhost/console: a service admin */
    WORLD_OUTSIDER, /* mallory@evil.example/x */
    WORLD_SERVER,   /* localhost: the XMPP server itself */
    WORLD_SENDERS
};

struct world;

/* Once per process (config, plugins).  Aborts if it cannot. */
void world_init(void);
/* A fresh world (the same every time, the random generator reseeded).
 * Aborts if the fixed state could not be built. */
struct world *world_new(void);
void world_free(struct world *w);

/* The input being run: the observer check does not count names the
 * input itself spells out (a customer may type "Watcher"). */
void world_set_input(struct world *w, const uint8_t *data, size_t size);

/* Parses xml[0..len) (one stanza, or several in a row), does what the
 * XMPP server does (prepares `to`, stamps `from` for `sender`, routes only
 * stanzas for our domain), dispatches it, ends the turn and checks the
 * output.  Unparsable text is dropped (the server would close the client's
 * stream), as is anything beyond MAX_STANZAS stanzas per input. */
void world_send(struct world *w, enum world_sender sender, const char *xml,
                size_t len);
/* Groupchat message with this body from `sender` into room@D. */
void world_say(struct world *w, enum world_sender sender, const char *room,
               const char *body, size_t len);
/* Lets ms of time pass (timers fire), then checks the output. */
void world_advance(struct world *w, uint64_t ms);
/* The queues and agents changed in the database and were reloaded
 * (SIGHUP): 0 as built; 1 agent2 removed; 2 sup removed (the observer);
 * 3 agents moved between queues and roles; 4 sales deleted and billing
 * reconfigured (skills, hours, pre-chat fields); 5 a strategy that does
 * not load and a time zone that does not exist. */
#define WORLD_DIRECTORIES 6
void world_directory(struct world *w, int variant);
/* A slow disk (durability held) or a full one (appends refused). */
void world_disk(struct world *w, int hold, int refuse);

#endif
