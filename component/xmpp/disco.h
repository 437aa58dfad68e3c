/* Service discovery (XEP-0030) for the service address D.
 *
 * Modules add the features they implement and may provide the item list
 * (the MUC lists rooms) and per-node answers (ad-hoc commands).  Room and
 * occupant addresses are answered by the MUC itself. */
#ifndef MUCDESK_XMPP_DISCO_H
#define MUCDESK_XMPP_DISCO_H

#include "xmpp/router.h"

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

struct disco;

/* Writes <item/> elements (and may write nothing).  Returns 0, or -1 with
 * *err set, e.g. item-not-found for a node the asker may not see. */
typedef int (*disco_items_fn)(void *ud, const struct stanza_in *in,
                              const char *node, struct buf *out,
                              struct xerr *err);
/* Writes <identity/> and <feature/> elements for a node. */
typedef int (*disco_info_fn)(void *ud, const struct stanza_in *in,
                             const char *node, struct buf *out,
                             struct xerr *err);

struct disco *disco_new(struct router *router, const char *name);
void disco_free(struct disco *disco);

int disco_add_feature(struct disco *disco, const char *var);
/* Appends an XEP-0128 data form (trusted XML, copied) to the service's own
 * disco#info.  0 or -1. */
int disco_add_extension(struct disco *disco, const char *xml);
/* node NULL: the service's own item list. */
int disco_add_items(struct disco *disco, const char *node, disco_items_fn fn,
                    void *ud);
int disco_add_node_info(struct disco *disco, const char *node,
                        disco_info_fn fn, void *ud);

/* Writes <feature var='...'/> for one feature (helper for modules). */
void disco_write_feature(struct buf *out, const char *var);

#endif
