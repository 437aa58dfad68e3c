/* Resume tokens: a chat's customer gets a random token (160 bits, hex)
 * when the chat is created or asked for again; only its SHA-256 is kept
 * (on the ticket, and in d->by_token to find the chat by it). */
#include "build-config.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "desk/chat.h"
#include "desk/state.h"

static void token_hash(const char *token, uint8_t out[TICKET_TOKEN_HASH_SIZE])
{
    SHA256((const unsigned char *)token, strlen(token), out);
}

int desk_chat_token_new(char *out, size_t size, uint8_t hash[TICKET_TOKEN_HASH_SIZE])
{
    unsigned char rnd[DESK_TOKEN_BYTES];
    if (size < 2 * sizeof rnd + 1 || RAND_bytes(rnd, sizeof rnd) != 1)
        return -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(out + 2 * i, 3, "%02x", rnd[i]);
    token_hash(out, hash);
    return 0;
}

bool desk_chat_token_matches(const struct desk_chat *c, const char *token)
{
    if (!c->has_token || !token || !*token)
        return false;
    uint8_t h[TICKET_TOKEN_HASH_SIZE];
    token_hash(token, h);
    return CRYPTO_memcmp(h, c->token_hash, sizeof h) == 0;
}

/* Chats are found by the SHA-256 of their token in a hash table: a
 * resume-chat costs the same with 10 chats or 100,000 (it walked them all).
 * The lookup's timing can tell at most whether the hash of a guess shares
 * a bucket with a stored hash, which says nothing about any token (160
 * random bits); the match is confirmed in constant time. */
void desk_chat_token_index(struct desk_chat *c, bool on)
{
    struct desk *d = c->desk;
    if (c->token_indexed && !on) {
        HASH_DELETE(hh_token, d->by_token, c);
        c->token_indexed = false;
    } else if (!c->token_indexed && on && c->has_token) {
        HASH_ADD(hh_token, d->by_token, token_hash, sizeof c->token_hash, c);
        c->token_indexed = true;
    }
}

struct desk_chat *desk_chat_by_token(struct desk *d, const char *token)
{
    if (!token || !*token)
        return NULL;
    uint8_t h[TICKET_TOKEN_HASH_SIZE];
    token_hash(token, h);
    struct desk_chat *c = NULL;
    HASH_FIND(hh_token, d->by_token, h, sizeof h, c);
    if (c && CRYPTO_memcmp(h, c->token_hash, sizeof h) != 0)
        c = NULL;
    return c;
}
