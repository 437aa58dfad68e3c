/* XEP-0092 software version on the service address.  The operating system
 * is not disclosed: it helps attackers more than users. */
#ifndef MUCDESK_XMPP_VERSION_H
#define MUCDESK_XMPP_VERSION_H

#include "xmpp/disco.h"
#include "xmpp/router.h"

#define NS_VERSION "jabber:iq:version"

int version_register(struct router *router, struct disco *disco);

#endif
