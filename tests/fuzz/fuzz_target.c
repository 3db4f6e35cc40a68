/*
 * Fuzz target: target strings (head, heads, base, ids, prefixes, +N, -N,
 * REV+N, LABEL@head ...) planned over a small fixed graph with two
 * branches, a merge, labels and a dependency, from a current state picked
 * by the first byte, in the direction picked by its low bit; also stamp.
 * A plan that comes back must be consistent: each step's revision exists.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "graph.h"
#include "revfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[][2] = {
    { "aaaaaaaaaaaa_base.sql", "-- mig:revision aaaaaaaaaaaa\n-- mig:upgrade\n" },
    { "bbbbbbbbbbbb_left.sql", "-- mig:revision bbbbbbbbbbbb\n-- mig:down_revision aaaaaaaaaaaa\n"
                               "-- mig:branch_labels left\n-- mig:upgrade\n" },
    { "bbbbcccccccc_right.sql", "-- mig:revision bbbbcccccccc\n-- mig:down_revision aaaaaaaaaaaa\n"
                                "-- mig:branch_labels right\n-- mig:upgrade\n" },
    { "dddddddddddd_merge.sql",
      "-- mig:revision dddddddddddd\n-- mig:down_revision bbbbbbbbbbbb, bbbbcccccccc\n"
      "-- mig:upgrade\n" },
    { "eeeeeeeeeeee_top.sql",
      "-- mig:revision eeeeeeeeeeee\n-- mig:down_revision dddddddddddd\n-- mig:upgrade\n" },
    { "ffffffffffff_other.sql", "-- mig:revision ffffffffffff\n-- mig:depends_on bbbbcccccccc\n"
                                "-- mig:branch_labels other\n-- mig:upgrade\n" },
};
#define NFILES (sizeof files / sizeof *files)

static const char *const currents[][3] = {
    { NULL },           { "aaaaaaaaaaaa" },
    { "bbbbbbbbbbbb" }, { "bbbbbbbbbbbb", "bbbbcccccccc" },
    { "dddddddddddd" }, { "eeeeeeeeeeee", "ffffffffffff" },
    { "ffffffffffff" }, { "nosuchrevisi" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096)
        return 0;
    mig_ctx *ctx = NULL;
    if (mig_ctx_new_empty(&ctx) != 0)
        return 0;
    mig_rev *revs = calloc(NFILES, sizeof *revs);
    mig_graph *g = NULL;
    size_t n = 0;
    for (; revs && n < NFILES; n++) {
        char path[64];
        snprintf(path, sizeof path, "versions/%s", files[n][0]);
        if (mig_revfile_parse_header(&revs[n], ctx, path, files[n][1], strlen(files[n][1]), 0) != 0)
            abort(); /* the fixed graph is valid */
    }
    if (revs == NULL || mig_graph_from_revs(&g, ctx, revs, n) != 0)
        abort();
    free(revs); /* the graph took the revisions, not the array */

    char *target = malloc(size);
    if (target != NULL) {
        memcpy(target, data + 1, size - 1);
        target[size - 1] = '\0';
        const char *const *cur = currents[(data[0] >> 1) % (sizeof currents / sizeof *currents)];
        size_t ncur = 0;
        while (ncur < 3 && cur[ncur])
            ncur++;
        mig_plan *plan = NULL;
        if (mig_graph_plan(&plan, ctx, g, cur, ncur, target,
                           (data[0] & 1) ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE) == 0 &&
            plan) {
            for (size_t i = 0; i < plan->nsteps; i++)
                if (plan->steps[i].rev == NULL)
                    abort();
        }
        mig_plan_free(plan);
        mig_strvec heads = MIG_STRVEC_INIT;
        const char *targets[1] = { target };
        (void)mig_graph_stamp(&heads, ctx, g, cur, ncur, targets, 1, data[0] & 2);
        mig_strvec_release(&heads);
        const mig_rev *found = NULL;
        (void)mig_graph_find(&found, ctx, g, target);
        free(target);
    }
    mig_graph_free(g);
    mig_ctx_free(ctx);
    return 0;
}
