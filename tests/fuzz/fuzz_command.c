/* Fuzz target: text command lines (desk/commands.c, desk/text.c) said in
 * the fuzz world's rooms (world.h), as the groupchat messages staff and
 * customers type.
 *
 * The input is a list of records separated by NUL bytes:
 *   't'   time passes: the rest is a number of seconds (default 1)
 *   else  byte 0: the sender ('0'..'7', or any byte modulo 8: enum
 *         world_sender); byte 1: the room ('0' ticket-1, '1' ticket-2,
 *         '2' billing, '3' sales, '4' lounge; any byte modulo 5); the
 *         rest is the message body ("/close resolved", "!note x"...) */
#include "build-config.h"

#include <string.h>

#include "fuzz_check.h"
#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const rooms[] = {"ticket-1", "ticket-2", "billing", "sales",
                                    "lounge"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    world_init();
    return 0;
}

static unsigned pick(unsigned char c, unsigned base, unsigned n)
{
    return c >= base && c < base + n ? c - base : c % n;
}

static void record(struct world *w, const char *r, size_t n)
{
    if (n == 0)
        return;
    if (r[0] == 't') {
        unsigned long s = 0;
        for (size_t i = 1; i < n && i < 8 && r[i] >= '0' && r[i] <= '9'; i++)
            s = s * 10 + (unsigned long)(r[i] - '0');
        world_advance(w, (s ? s : 1) * 1000);
        return;
    }
    if (n < 2)
        return;
    enum world_sender who =
        (enum world_sender)pick((unsigned char)r[0], '0', WORLD_SENDERS);
    const char *room = rooms[pick((unsigned char)r[1], '0', 5)];
    world_say(w, who, room, r + 2, n - 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_set_input(data, size);
    struct world *w = world_new();
    world_set_input(w, data, size);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);
        record(w, p, n);
        p += n + 1;
    }
    world_free(w);
    fuzz_set_input(NULL, 0);
    return 0;
}
