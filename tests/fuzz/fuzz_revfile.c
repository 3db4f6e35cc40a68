/*
 * Fuzz target: the revision header parser, on the whole input as a file
 * and on a prefix of it marked truncated (as the graph reads only the first
 * bytes of a file). The first byte picks the file name's kind.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "revfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *path =
        (data[0] & 1) ? "versions/1f0e2d3c4b5a_add_users.lua" : "versions/1f0e2d3c4b5a_add_users.sql";
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    mig_ctx *ctx = NULL;
    if (mig_ctx_new_empty(&ctx) != 0)
        return 0;
    mig_rev rev;
    memset(&rev, 0, sizeof rev);
    if (mig_revfile_parse_header(&rev, ctx, path, text, len, 0) == 0) {
        /* what the parser promises to the graph */
        if (rev.id == NULL || !mig_rev_id_valid(rev.id))
            abort();
    }
    mig_rev_release(&rev);
    memset(&rev, 0, sizeof rev);
    (void)mig_revfile_parse_header(&rev, ctx, path, text, len / 2, 1);
    mig_rev_release(&rev);
    mig_ctx_free(ctx);
    return 0;
}
