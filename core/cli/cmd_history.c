/*
 * mig history [-r A:B] [-v]: the revisions newest first, one line each
 * (`<base> -> 1f0e2d3c4b5a (head) (current), add users table`), or in full
 * with -v. The database is asked for its current heads only to mark them:
 * history works with no database at all.
 *
 * A range A:B keeps the revisions that are B or below it and A or above
 * it; an empty side, `base` or `heads` leaves that side open, `current`
 * stands for the version table's heads, and either side may count steps
 * from there (`-r -3:current`, `-r ae10+2:`).
 */
#include "cmd.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static struct {
    const char *range;
} o;

static const cli_opt opts[] = {
    { 'r', "rev-range", "A:B", CLI_STRING, &o.range, 0, "only revisions from A up to B (see below)" },
    { 'v', "verbose", NULL, CLI_VERBOSE, NULL, 0, "print each revision in full" },
    { 0 }
};

const cli_spec cmd_history_spec = { "", 0, 0, opts,
                                    "Marks (head), (current), (branchpoint) and (mergepoint). In -r A:B, an\n"
                                    "empty side, base or heads is open; current is the database's revision;\n"
                                    "either side may add +N or -N steps (-r -3:current, -r 1f0e+1:)." };

/* One side of the range: the ids it stands for, or none for an open side. */
typedef struct bound {
    int open;
    char **ids; /* owned copies */
    size_t n;
} bound;

static void bound_release(bound *b)
{
    for (size_t i = 0; i < b->n; i++)
        free(b->ids[i]);
    free(b->ids);
}

/*
 * Move id `steps` revisions down (sign '-') or up ('+'). Like a relative
 * target, the walk refuses to choose at a merge point or a branch point.
 */
static int walk(cli *c, const cli_graph *g, char **id, char sign, long steps, const char *word)
{
    for (long s = 0; s < steps; s++) {
        const mig_revision *r = cli_graph_find(g, *id);
        const char *next = NULL;
        size_t count = 0;
        if (r == NULL)
            return cli_fail(c, MIG_ETARGET, "unknown revision '%s'", *id);
        for (const char *const *d = sign == '-' ? r->down : r->next; d && *d; d++, count++)
            next = *d;
        if (count == 0)
            return cli_fail(c, MIG_ETARGET, "'%s' goes past %s", word, sign == '-' ? "base" : "the head");
        if (count > 1)
            return cli_fail(c, MIG_ETARGET, "'%s' is ambiguous: %s is a %s point", word, r->id,
                            sign == '-' ? "merge" : "branch");
        char *copy = strdup(next);
        if (copy == NULL)
            return cli_fail(c, MIG_ENOMEM, "out of memory");
        free(*id);
        *id = copy;
    }
    return 0;
}

/*
 * One side of -r: open, `current`, a revision as libmig names it, or any
 * of these followed by +N or -N (`-1` alone is one below current).
 */
static int bound_resolve(cli *c, bound *b, const char *name, size_t len, const char *open_word,
                         cli_graph *g)
{
    char *word = strndup(name, len), *whole = strndup(name, len);
    int rc = 0;
    char sign = 0;
    long steps = 0;
    memset(b, 0, sizeof *b);
    if (word == NULL || whole == NULL) {
        rc = cli_fail(c, MIG_ENOMEM, "out of memory");
        goto out;
    }
    if (*word == '\0' || strcmp(word, open_word) == 0) {
        b->open = 1;
        goto out;
    }
    /* Revision ids hold no '+' or '-': a trailing [+-]digits is a step count. */
    size_t k = strlen(word);
    while (k > 0 && isdigit((unsigned char)word[k - 1]))
        k--;
    if (k > 0 && word[k] != '\0' && (word[k - 1] == '+' || word[k - 1] == '-')) {
        sign = word[k - 1];
        steps = strtol(word + k, NULL, 10);
        word[k - 1] = '\0';
    }

    if (*word == '\0' || strcmp(word, "current") == 0) {
        if (!g->have_current && (rc = cli_graph_read_current(c, g)) != 0)
            goto out;
        b->ids = calloc(g->ncurrent + 1, sizeof *b->ids);
        if (b->ids == NULL) {
            rc = cli_fail(c, MIG_ENOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < g->ncurrent; i++)
            if ((b->ids[b->n++] = strdup(g->current[i])) == NULL) {
                rc = cli_fail(c, MIG_ENOMEM, "out of memory");
                goto out;
            }
    } else {
        const mig_revision *r = NULL;
        if ((rc = mig_revision_find(c->ctx, word, &r)) != 0)
            goto out;
        b->ids = calloc(2, sizeof *b->ids);
        if (b->ids == NULL || (b->ids[0] = strdup(r->id)) == NULL) {
            rc = cli_fail(c, MIG_ENOMEM, "out of memory");
            goto out;
        }
        b->n = 1;
    }
    if (sign) {
        if (b->n != 1) {
            rc = cli_fail(c, MIG_ETARGET, "'%s' needs one revision to count from, not %zu", whole, b->n);
            goto out;
        }
        /* Borrowed again below for the output; only the copied ids are kept. */
        if ((rc = mig_revisions(c->ctx, &g->revs, &g->n)) != 0)
            goto out;
        rc = walk(c, g, &b->ids[0], sign, steps, whole);
    }
out:
    free(word);
    free(whole);
    return rc;
}

/* Positions of the revisions sorted by id, so index_of is a binary search. */
static size_t *by_id;
static const cli_graph *by_id_graph;

static int cmp_pos(const void *a, const void *b)
{
    return strcmp(by_id_graph->revs[*(const size_t *)a]->id, by_id_graph->revs[*(const size_t *)b]->id);
}

static int index_build(const cli_graph *g)
{
    by_id = malloc((g->n + 1) * sizeof *by_id);
    if (by_id == NULL)
        return -1;
    for (size_t i = 0; i < g->n; i++)
        by_id[i] = i;
    by_id_graph = g;
    qsort(by_id, g->n, sizeof *by_id, cmp_pos);
    return 0;
}

static size_t index_of(const cli_graph *g, const char *id)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->revs[by_id[mid]]->id, id);
        if (c == 0)
            return by_id[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (size_t)-1;
}

static void mark(const cli_graph *g, const bound *b, char *keep)
{
    for (size_t i = 0; i < b->n; i++) {
        size_t k = index_of(g, b->ids[i]);
        if (k != (size_t)-1)
            keep[k] = 1;
    }
}

/*
 * keep[i] for the revisions in the range. The list is newest first, so a
 * revision comes before its parents: one pass down the list spreads "below
 * B" to parents, one pass up spreads "above A" to children.
 */
static int select_range(cli *c, const cli_graph *g, const bound *lo, const bound *hi, char *keep)
{
    char *below = calloc(g->n + 1, 1), *above = calloc(g->n + 1, 1);
    if (below == NULL || above == NULL) {
        free(below);
        free(above);
        return cli_fail(c, MIG_ENOMEM, "out of memory");
    }
    if (hi->open)
        memset(below, 1, g->n);
    else
        mark(g, hi, below);
    for (size_t i = 0; i < g->n; i++)
        if (below[i])
            for (const char *const *d = g->revs[i]->down; d && *d; d++) {
                size_t k = index_of(g, *d);
                if (k != (size_t)-1)
                    below[k] = 1;
            }
    if (lo->open)
        memset(above, 1, g->n);
    else
        mark(g, lo, above);
    for (size_t i = g->n; i-- > 0;)
        for (const char *const *d = g->revs[i]->down; d && *d && !above[i]; d++) {
            size_t k = index_of(g, *d);
            if (k != (size_t)-1 && above[k])
                above[i] = 1;
        }
    for (size_t i = 0; i < g->n; i++)
        keep[i] = below[i] && above[i];
    free(below);
    free(above);
    return 0;
}

int cmd_history(cli *c)
{
    cli_graph g;
    bound lo, hi;
    char *keep = NULL;
    int rc = 0;
    memset(&g, 0, sizeof g);
    memset(&lo, 0, sizeof lo);
    memset(&hi, 0, sizeof hi);

    const char *colon = o.range ? strchr(o.range, ':') : NULL;
    if (o.range && colon == NULL) {
        rc = cli_fail(c, MIG_EUSAGE, "option '-r' needs a range A:B, got '%s'", o.range);
        goto out;
    }
    /* Marks only: no database is no error here. */
    if (cli_graph_read_current(c, &g) == MIG_ENOMEM) {
        rc = MIG_ENOMEM;
        goto out;
    }
    lo.open = hi.open = 1;
    if (o.range) {
        rc = bound_resolve(c, &lo, o.range, (size_t)(colon - o.range), "base", &g);
        if (rc == 0) /* colon is set whenever o.range is (checked above) */
            /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
            rc = bound_resolve(c, &hi, colon + 1, strlen(colon + 1), "heads", &g);
        if (rc != 0)
            goto out;
    }
    /* Last: what it returns is borrowed only until the next call on the context. */
    if ((rc = mig_revisions(c->ctx, &g.revs, &g.n)) != 0)
        goto out;
    keep = calloc(g.n + 1, 1);
    if (keep == NULL) {
        rc = cli_fail(c, MIG_ENOMEM, "out of memory");
        goto out;
    }
    if (index_build(&g) != 0) {
        rc = cli_fail(c, MIG_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = select_range(c, &g, &lo, &hi, keep)) != 0)
        goto out;

    json_t *list = c->json ? json_array() : NULL;
    for (size_t i = 0; i < g.n; i++) {
        if (!keep[i])
            continue;
        if (list)
            json_array_append_new(list, cli_rev_json(c, &g, g.revs[i]));
        else if (c->verbose)
            cli_rev_entry(stdout, &g, g.revs[i]);
        else
            cli_rev_line(stdout, &g, g.revs[i], CLI_LINE_PARENTS | CLI_LINE_MESSAGE | CLI_LINE_TREE);
    }
    if (list)
        json_object_set_new(c->doc, "revisions", list);
out:
    free(by_id);
    by_id = NULL;
    free(keep);
    bound_release(&lo);
    bound_release(&hi);
    cli_graph_release(&g);
    return rc;
}
