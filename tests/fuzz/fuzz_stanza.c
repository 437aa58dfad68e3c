/* Fuzz target: sequences of stanzas from several senders through the
 * whole service (world.h).
 *
 * The input is a list of records separated by NUL bytes.  A record's
 * first byte says what it is:
 *   '0'..'7'   a stanza (or several) from sender N (enum world_sender):
 *              0 ann, 1 bob, 2 agent1, 3 agent2, 4 sup (the observer),
 *              5 admin, 6 an outsider, 7 the server; the rest is XML
 *   't'        time passes: the rest is a number of seconds (default 1)
 *   'd'        the disk: the next byte '1' holds durability, '2' refuses
 *              appends (full), anything else makes it well again
 *   'r'        queues and agents changed and reloaded: the next byte
 *              (modulo 6) says how (world.h, world_directory)
 * Any other first byte is a stanza from sender (byte % 8). */
#include "build-config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "world.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    world_init();
    return 0;
}

static void record(struct world *w, const char *r, size_t n)
{
    if (n == 0)
        return;
    unsigned char op = (unsigned char)r[0];
    if (op == 't') {
        unsigned long s = 0;
        for (size_t i = 1; i < n && i < 8 && r[i] >= '0' && r[i] <= '9'; i++)
            s = s * 10 + (unsigned long)(r[i] - '0');
        world_advance(w, (s ? s : 1) * 1000);
        return;
    }
    if (op == 'r') {
        world_directory(w, n > 1 ? (unsigned char)r[1] - '0' : 0);
        return;
    }
    if (op == 'd') {
        char c = n > 1 ? r[1] : '0';
        world_disk(w, c == '1', c == '2');
        return;
    }
    enum world_sender who = op >= '0' && op <= '7'
                                ? (enum world_sender)(op - '0')
                                : (enum world_sender)(op % WORLD_SENDERS);
    world_send(w, who, r + 1, n - 1);
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
