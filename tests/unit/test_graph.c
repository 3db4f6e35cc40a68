/*
 * The revision graph: loading, validation, lookups, and plans with the
 * exact order of steps and the version table each step leaves, shape by
 * shape.
 *
 * Graphs are written in a small notation, one revision per word:
 *     id[:down,down...][|depends,...][#label,...]
 * Plans are rendered as `+id[deleted>inserted]` for an upgrade step and
 * `-id[...]` for a downgrade step, then `= ` and the final version table.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctx.h"
#include "graph.h"
#include "unit.h"

static mig_ctx *ctx;

static mig_ctx *the_ctx(void)
{
    if (ctx == NULL)
        CU_ASSERT_FATAL(mig_ctx_new_empty(&ctx) == 0);
    return ctx;
}

static void split_into(mig_revlist *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        if (j > i)
            mig_revlist_push_owned(out, mig_strndup(s + i, j - i));
        i = j + 1;
    }
}

/* Parse the notation into revisions (paths versions/<id>_<n>.sql). */
static size_t parse_spec(mig_rev **out, const char *spec)
{
    size_t cap = 16, n = 0;
    mig_rev *revs = calloc(cap, sizeof *revs);
    const char *p = spec;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if (n == cap) {
            cap *= 2;
            revs = realloc(revs, cap * sizeof *revs);
        }
        mig_rev *r = &revs[n];
        memset(r, 0, sizeof *r);
        const char *q = p;
        while (q < end && *q != ':' && *q != '|' && *q != '#')
            q++;
        r->id = mig_strndup(p, (size_t)(q - p));
        while (q < end) {
            char kind = *q++;
            const char *v = q;
            while (q < end && *q != ':' && *q != '|' && *q != '#')
                q++;
            if (kind == ':') {
                split_into(&r->down, v, (size_t)(q - v));
                continue;
            }
            char ***list = kind == '|' ? &r->depends : &r->labels;
            mig_revlist l = { *list, mig_strs_count(*list) };
            split_into(&l, v, (size_t)(q - v));
            *list = l.v;
        }
        r->path = mig_aprintf("versions/%s_%zu.sql", r->id, n);
        r->message = mig_strdup("");
        r->create_date = mig_strdup("");
        r->transactional = 1;
        n++;
        p = end;
    }
    *out = revs;
    return n;
}

static mig_graph *mk(const char *spec)
{
    mig_rev *revs;
    size_t n = parse_spec(&revs, spec);
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_from_revs(&g, ctx, revs, n));
    free(revs);
    return g;
}

/* Build expecting an error; returns its message (static until the next call). */
static int mk_fails(const char *spec, int code, const char *needle)
{
    mig_rev *revs;
    size_t n = parse_spec(&revs, spec);
    mig_graph *g = NULL;
    int rc = mig_graph_from_revs(&g, the_ctx(), revs, n);
    free(revs);
    CU_ASSERT_PTR_NULL(g);
    mig_graph_free(g);
    if (rc != code || strstr(mig_last_error(ctx)->message, needle) == NULL) {
        fprintf(stderr, "\n%s: got %d \"%s\", want %d \"%s\"\n", spec, rc, mig_last_error(ctx)->message,
                code, needle);
        return 0;
    }
    return 1;
}

static size_t split_words(mig_strvec *out, const char *s)
{
    const char *p = s;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e > p)
            mig_strvec_push_owned(out, mig_strndup(p, (size_t)(e - p)));
        p = e;
    }
    return out->n;
}

static void put_list(mig_buf *b, const mig_strvec *v)
{
    for (size_t i = 0; i < v->n; i++)
        mig_buf_printf(b, "%s%s", i ? "," : "", v->v[i]);
}

/* The plan rendered, or "ERR <code>" with the error message kept on the context. */
static char *plan(mig_graph *g, const char *current, const char *target, int up)
{
    mig_strvec cur = MIG_STRVEC_INIT;
    split_words(&cur, current);
    mig_plan *pl = NULL;
    int rc = mig_graph_plan(&pl, the_ctx(), g, (const char *const *)cur.v, cur.n, target,
                            up ? MIG_TARGET_UPGRADE : MIG_TARGET_DOWNGRADE);
    mig_strvec_release(&cur);
    if (rc)
        return mig_aprintf("ERR %d", rc);
    mig_buf b = MIG_BUF_INIT;
    for (size_t i = 0; i < pl->nsteps; i++) {
        const mig_plan_step *s = &pl->steps[i];
        mig_buf_printf(&b, "%c%s[", s->upgrade ? '+' : '-', s->rev->id);
        put_list(&b, &s->delete_heads);
        mig_buf_putc(&b, '>');
        put_list(&b, &s->insert_heads);
        mig_buf_puts(&b, "] ");
    }
    mig_buf_puts(&b, "= ");
    put_list(&b, &pl->final_heads);
    mig_plan_free(pl);
    return mig_buf_detach(&b);
}

#define PLAN(g, current, target, up, want)                                                              \
    do {                                                                                                \
        char *got__ = plan((g), (current), (target), (up));                                             \
        if (strcmp(got__, (want)) != 0)                                                                 \
            fprintf(stderr, "\n%s:%d: %s %s from [%s]:\n  got  %s%s%s\n  want %s\n", __FILE__,          \
                    __LINE__, (up) ? "upgrade" : "downgrade", (target), (current), got__,               \
                    strncmp(got__, "ERR", 3) ? "" : ": ",                                               \
                    strncmp(got__, "ERR", 3) ? "" : mig_last_error(ctx)->message, (want));              \
        CU_ASSERT_STRING_EQUAL(got__, (want));                                                          \
        free(got__);                                                                                    \
    } while (0)

/* The plan fails with MIG_ETARGET and a message containing needle. */
#define PLAN_FAILS(g, current, target, up, needle)                                                      \
    do {                                                                                                \
        PLAN((g), (current), (target), (up), "ERR -7");                                                 \
        if (strstr(mig_last_error(ctx)->message, (needle)) == NULL) {                                   \
            fprintf(stderr, "\n%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,               \
                    mig_last_error(ctx)->message, (needle));                                            \
            CU_FAIL("error message");                                                                   \
        }                                                                                               \
    } while (0)

static char *stamp(mig_graph *g, const char *current, const char *targets, int purge)
{
    mig_strvec cur = MIG_STRVEC_INIT, tg = MIG_STRVEC_INIT, out = MIG_STRVEC_INIT;
    split_words(&cur, current);
    split_words(&tg, targets);
    int rc = mig_graph_stamp(&out, the_ctx(), g, (const char *const *)cur.v, cur.n,
                             (const char *const *)tg.v, tg.n, purge);
    mig_buf b = MIG_BUF_INIT;
    if (rc)
        mig_buf_printf(&b, "ERR %d", rc);
    else
        put_list(&b, &out);
    mig_strvec_release(&cur);
    mig_strvec_release(&tg);
    mig_strvec_release(&out);
    return mig_buf_detach(&b);
}

#define STAMP(g, current, targets, purge, want)                                                         \
    do {                                                                                                \
        char *got__ = stamp((g), (current), (targets), (purge));                                        \
        if (strcmp(got__, (want)) != 0)                                                                 \
            fprintf(stderr, "\n%s:%d: stamp %s from [%s]: got [%s] want [%s]\n", __FILE__, __LINE__,    \
                    (targets), (current), got__, (want));                                               \
        CU_ASSERT_STRING_EQUAL(got__, (want));                                                          \
        free(got__);                                                                                    \
    } while (0)

static size_t pending(mig_graph *g, const char *current)
{
    mig_strvec cur = MIG_STRVEC_INIT;
    split_words(&cur, current);
    size_t n = 0;
    MIG_PASS(ctx, mig_graph_pending(&n, the_ctx(), g, (const char *const *)cur.v, cur.n));
    mig_strvec_release(&cur);
    return n;
}

static char *order_of(const mig_graph *g)
{
    mig_buf b = MIG_BUF_INIT;
    for (size_t i = 0; i < mig_graph_count(g); i++)
        mig_buf_printf(&b, "%s%s", i ? " " : "", mig_graph_at(g, i)->id);
    return mig_buf_detach(&b);
}

static const mig_rev *find(mig_graph *g, const char *name)
{
    const mig_rev *r = NULL;
    MIG_PASS(ctx, mig_graph_find(&r, the_ctx(), g, name));
    return r;
}

/* ---- shapes: a straight line ---- */

#define LINE "a b:a c:b d:c"

static void test_graph__upgrades_a_line_to_head(void)
{
    mig_graph *g = mk(LINE);
    PLAN(g, "", "head", 1, "+a[>a] +b[a>b] +c[b>c] +d[c>d] = d");
    PLAN(g, "", "heads", 1, "+a[>a] +b[a>b] +c[b>c] +d[c>d] = d");
    PLAN(g, "b", "head", 1, "+c[b>c] +d[c>d] = d");
    PLAN(g, "d", "head", 1, "= d");
    mig_graph_free(g);
}

static void test_graph__upgrades_a_line_to_a_revision_or_prefix(void)
{
    mig_graph *g = mk("a1x b2y:a1x c3z:b2y");
    PLAN(g, "a1x", "c3z", 1, "+b2y[a1x>b2y] +c3z[b2y>c3z] = c3z");
    PLAN(g, "", "b2", 1, "+a1x[>a1x] +b2y[a1x>b2y] = b2y");
    mig_graph_free(g);
}

static void test_graph__upgrades_a_line_by_relative_steps(void)
{
    mig_graph *g = mk(LINE);
    PLAN(g, "", "+2", 1, "+a[>a] +b[a>b] = b");
    PLAN(g, "b", "+1", 1, "+c[b>c] = c");
    PLAN(g, "b", "+0", 1, "= b");
    PLAN(g, "", "b+1", 1, "+a[>a] +b[a>b] +c[b>c] = c");
    PLAN(g, "a", "d-1", 1, "+b[a>b] +c[b>c] = c");
    PLAN(g, "", "base+1", 1, "+a[>a] = a");
    PLAN(g, "", "head-2", 1, "+a[>a] +b[a>b] = b");
    mig_graph_free(g);
}

static void test_graph__refuses_an_upgrade_target_below_the_current_revision(void)
{
    mig_graph *g = mk(LINE);
    PLAN_FAILS(g, "d", "b", 1, "b is not a valid upgrade target: it is below the current revision (d)");
    PLAN(g, "c", "c", 1, "= c");
    PLAN(g, "", "base", 1, "= ");
    PLAN_FAILS(g, "c", "base", 1,
               "base is not a valid upgrade target: it is below the current revision (c)");
    PLAN_FAILS(g, "d", "c-1", 1, "b is not a valid upgrade target");
    mig_graph_free(g);
}

static void test_graph__refuses_impossible_relative_upgrades(void)
{
    mig_graph *g = mk(LINE);
    PLAN_FAILS(g, "b", "-1", 1, "goes down: use downgrade");
    PLAN_FAILS(g, "b", "+3", 1, "walks past the head: only 2 steps up");
    PLAN_FAILS(g, "", "a-2", 1, "walks past base");
    mig_graph_free(g);
}

static void test_graph__downgrades_a_line(void)
{
    mig_graph *g = mk(LINE);
    PLAN(g, "d", "-1", 0, "-d[d>c] = c");
    PLAN(g, "d", "-2", 0, "-d[d>c] -c[c>b] = b");
    PLAN(g, "d", "b", 0, "-d[d>c] -c[c>b] = b");
    PLAN(g, "d", "base", 0, "-d[d>c] -c[c>b] -b[b>a] -a[a>] = ");
    PLAN(g, "d", "-4", 0, "-d[d>c] -c[c>b] -b[b>a] -a[a>] = ");
    PLAN(g, "d", "b+1", 0, "-d[d>c] = c");
    PLAN(g, "c", "d-2", 0, "-c[c>b] = b");
    PLAN(g, "", "base", 0, "= ");
    mig_graph_free(g);
}

static void test_graph__refuses_a_downgrade_target_above_the_current_revision(void)
{
    mig_graph *g = mk(LINE);
    PLAN_FAILS(g, "b", "c", 0, "c is not a valid downgrade target: it is above the current revision (b)");
    PLAN(g, "b", "b", 0, "= b");
    PLAN_FAILS(g, "", "c", 0,
               "c is not a valid downgrade target: it is above the current revision (base)");
    PLAN(g, "", "base", 0, "= ");
    mig_graph_free(g);
}

static void test_graph__refuses_impossible_relative_downgrades(void)
{
    mig_graph *g = mk(LINE);
    PLAN_FAILS(g, "d", "+1", 0, "goes up: use upgrade");
    PLAN_FAILS(g, "", "-1", 0, "relative target '-1' walks past base: the database is at base");
    PLAN_FAILS(g, "b", "-3", 0, "walks past base: only 2 steps down");
    mig_graph_free(g);
}

static void test_graph__counts_pending_revisions(void)
{
    mig_graph *g = mk(LINE);
    CU_ASSERT_EQUAL(pending(g, ""), 4);
    CU_ASSERT_EQUAL(pending(g, "b"), 2);
    CU_ASSERT_EQUAL(pending(g, "d"), 0);
    mig_graph_free(g);
    g = mk("a1 a2:a1 b1 b2:b1|a2");
    CU_ASSERT_EQUAL(pending(g, "b1"), 3);
    CU_ASSERT_EQUAL(pending(g, "b2"), 0);
    /* the same walk, revision by revision (order: a1 a2 b1 b2) */
    unsigned char applied[4];
    const char *cur[] = { "b1", "a1" };
    MIG_PASS(ctx, mig_graph_applied(applied, ctx, g, cur, 2));
    CU_ASSERT_EQUAL(applied[0], 1);
    CU_ASSERT_EQUAL(applied[1], 0);
    CU_ASSERT_EQUAL(applied[2], 1);
    CU_ASSERT_EQUAL(applied[3], 0);
    CU_ASSERT_TRUE(mig_graph_is_ancestor(g, find(g, "a1"), find(g, "b2")));
    CU_ASSERT_FALSE(mig_graph_is_ancestor(g, find(g, "b2"), find(g, "a2")));
    mig_graph_free(g);
}

static void test_graph__refuses_an_unknown_current_revision(void)
{
    mig_graph *g = mk(LINE);
    PLAN_FAILS(g, "zz", "head", 1, "the database is at revision 'zz'");
    /* current rows are full ids, never prefixes */
    mig_graph *g2 = mk("abc123 abd:abc123");
    PLAN_FAILS(g2, "abc", "head", 1, "'abc'");
    mig_graph_free(g2);
    size_t n;
    const char *cur[] = { "zz" };
    MIG_FAILS(ctx, mig_graph_pending(&n, ctx, g, cur, 1), MIG_ETARGET, "zz");
    mig_graph_free(g);
}

/* ---- several bases ---- */

#define TWO_BASES "a1 a2:a1 b1 b2:b1"

static void test_graph__upgrades_several_bases(void)
{
    mig_graph *g = mk(TWO_BASES);
    PLAN(g, "", "heads", 1, "+a1[>a1] +a2[a1>a2] +b1[>b1] +b2[b1>b2] = a2,b2");
    PLAN(g, "a2", "b2", 1, "+b1[>b1] +b2[b1>b2] = a2,b2");
    PLAN(g, "a1", "heads", 1, "+a2[a1>a2] +b1[>b1] +b2[b1>b2] = a2,b2");
    PLAN_FAILS(g, "", "head", 1, "there are 2 heads (a2, b2); use 'heads' or LABEL@head");
    PLAN_FAILS(g, "", "+1", 1, "ambiguous: base branches into a1, b1");
    PLAN_FAILS(g, "a2 b2", "+1", 1, "several current revisions (a2, b2)");
    mig_graph_free(g);
}

static void test_graph__downgrades_one_of_several_bases(void)
{
    mig_graph *g = mk(TWO_BASES);
    PLAN(g, "a2 b2", "b1", 0, "-b2[b2>b1] = a2,b1");
    PLAN(g, "a2 b2", "base", 0, "-b2[b2>b1] -b1[b1>] -a2[a2>a1] -a1[a1>] = ");
    PLAN(g, "a2 b2", "b2-2", 0, "-b2[b2>b1] -b1[b1>] = a2");
    PLAN_FAILS(g, "a2 b2", "-1", 0, "several current revisions (a2, b2)");
    mig_graph_free(g);
}

static void test_graph__refuses_a_downgrade_to_a_branch_not_applied(void)
{
    mig_graph *g = mk(TWO_BASES);
    PLAN_FAILS(g, "a2", "b1", 0,
               "b1 is not a valid downgrade target: it is on a branch that is not applied");
    mig_graph_free(g);
    g = mk("r a1:r a2:a1 b1:r b2:b1");
    PLAN_FAILS(g, "a2", "b2", 0, "not applied (current: a2)");
    mig_graph_free(g);
}

/* ---- a branch point ---- */

#define FORK "r a1:r#alpha a2:a1 b1:r#beta b2:b1"

static void test_graph__upgrades_both_sides_of_a_branch_point(void)
{
    mig_graph *g = mk(FORK);
    PLAN(g, "", "heads", 1, "+r[>r] +a1[r>a1] +a2[a1>a2] +b1[>b1] +b2[b1>b2] = a2,b2");
    PLAN(g, "a2", "b2", 1, "+b1[>b1] +b2[b1>b2] = a2,b2");
    PLAN(g, "r", "b1", 1, "+b1[r>b1] = b1");
    PLAN(g, "a1", "b1", 1, "+b1[>b1] = a1,b1");
    PLAN(g, "a1 b1", "heads", 1, "+a2[a1>a2] +b2[b1>b2] = a2,b2");
    PLAN_FAILS(g, "r", "+1", 1, "ambiguous: r branches into a1, b1");
    PLAN_FAILS(g, "", "head", 1, "use 'heads' or LABEL@head");
    mig_graph_free(g);
}

static void test_graph__downgrades_through_a_branch_point(void)
{
    mig_graph *g = mk(FORK);
    PLAN(g, "a2 b2", "r", 0, "-b2[b2>b1] -b1[b1>] -a2[a2>a1] -a1[a1>r] = r");
    PLAN(g, "a2 b2", "a1", 0, "-a2[a2>a1] = a1,b2");
    PLAN(g, "a2 b2", "base", 0, "-b2[b2>b1] -b1[b1>] -a2[a2>a1] -a1[a1>r] -r[r>] = ");
    /* REV-N, like -N, reverts only the branch REV is on */
    PLAN(g, "a1 b2", "a2-2", 0, "-a1[a1>] = b2");
    PLAN(g, "a1 b2", "r", 0, "-b2[b2>b1] -b1[b1>] -a1[a1>r] = r");
    PLAN_FAILS(g, "a2 b2", "-1", 0, "several current revisions");
    mig_graph_free(g);
}

static void test_graph__downgrades_one_branch_by_label(void)
{
    mig_graph *g = mk(FORK);
    PLAN(g, "a2 b2", "alpha@-1", 0, "-a2[a2>a1] = a1,b2");
    PLAN(g, "a2 b2", "alpha@-2", 0, "-a2[a2>a1] -a1[a1>] = b2");
    PLAN(g, "a2 b2", "alpha@base", 0, "-a2[a2>a1] -a1[a1>] = b2");
    PLAN(g, "a2 b2", "beta@base", 0, "-b2[b2>b1] -b1[b1>] = a2");
    PLAN(g, "a2 b2", "alpha@-3", 0, "-b2[b2>b1] -b1[b1>] -a2[a2>a1] -a1[a1>r] -r[r>] = ");
    PLAN(g, "a2", "beta@base", 0, "= a2");
    PLAN_FAILS(g, "a2", "beta@-1", 0, "no current revision is on that branch");
    mig_graph_free(g);
}

static void test_graph__upgrades_one_branch_by_label(void)
{
    mig_graph *g = mk(FORK);
    PLAN(g, "", "beta@head", 1, "+r[>r] +b1[r>b1] +b2[b1>b2] = b2");
    PLAN(g, "a2", "beta@+1", 1, "+b1[>b1] = a2,b1");
    PLAN(g, "a2 b1", "beta@+1", 1, "+b2[b1>b2] = a2,b2");
    PLAN(g, "", "alpha@+2", 1, "+r[>r] +a1[r>a1] = a1");
    PLAN(g, "", "beta", 1, "+r[>r] +b1[r>b1] +b2[b1>b2] = b2");
    PLAN_FAILS(g, "a2", "alpha@base", 1,
               "alpha@base is not a valid upgrade target: it is below the current revision (a2)");
    PLAN(g, "a2", "beta@base", 1, "= a2");
    PLAN_FAILS(g, "", "gamma@head", 1, "unknown branch 'gamma'");
    PLAN_FAILS(g, "", "alpha@b1", 1, "revision b1 is not on that branch");
    mig_graph_free(g);
}

static void test_graph__spreads_branch_labels_as_alembic_does(void)
{
    mig_graph *g = mk("r s:r a1:s#alpha a2:a1 b1:s b2:b1 c:r");
    /* s is a branch point: the label stops above it */
    CU_ASSERT_PTR_NULL(mig_graph_branch_labels(g, find(g, "s"))[0]);
    CU_ASSERT_STRING_EQUAL(mig_graph_branch_labels(g, find(g, "a1"))[0], "alpha");
    CU_ASSERT_STRING_EQUAL(mig_graph_branch_labels(g, find(g, "a2"))[0], "alpha");
    CU_ASSERT_PTR_NULL(mig_graph_branch_labels(g, find(g, "b2"))[0]);
    mig_graph_free(g);
    g = mk("r a:r b:a#x c:b");
    /* no branch point below: the label reaches the base */
    CU_ASSERT_STRING_EQUAL(mig_graph_branch_labels(g, find(g, "r"))[0], "x");
    CU_ASSERT_STRING_EQUAL(mig_graph_branch_labels(g, find(g, "c"))[0], "x");
    PLAN(g, "c", "x@base", 0, "-c[c>b] -b[b>a] -a[a>r] -r[r>] = ");
    mig_graph_free(g);
}

/* ---- merges ---- */

#define MERGE "r a:r b:r m:a,b c:m"

static void test_graph__upgrades_through_a_merge(void)
{
    mig_graph *g = mk(MERGE);
    PLAN(g, "", "head", 1, "+r[>r] +a[r>a] +b[>b] +m[a,b>m] +c[m>c] = c");
    PLAN(g, "a", "m", 1, "+b[>b] +m[a,b>m] = m");
    PLAN(g, "a b", "+1", 1, "ERR -7");
    PLAN(g, "a b", "head", 1, "+m[a,b>m] +c[m>c] = c");
    PLAN(g, "m", "+1", 1, "+c[m>c] = c");
    mig_graph_free(g);
}

static void test_graph__downgrades_through_a_merge(void)
{
    mig_graph *g = mk(MERGE);
    PLAN(g, "c", "r", 0, "-c[c>m] -m[m>a,b] -b[b>] -a[a>r] = r");
    PLAN(g, "c", "-1", 0, "-c[c>m] = m");
    PLAN(g, "m", "a", 0, "-m[m>a,b] = a,b");
    PLAN(g, "c", "b", 0, "-c[c>m] -m[m>a,b] = a,b");
    PLAN_FAILS(g, "c", "-2", 0, "ambiguous: m merges a, b");
    /* the hint names the commands that work, and they do */
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->hint,
                           "name the way: `mig downgrade a` or `mig downgrade b`");
    PLAN_FAILS(g, "m", "-1", 0, "ambiguous: m merges a, b");
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->hint,
                           "name the way: `mig downgrade a` or `mig downgrade b`");
    PLAN_FAILS(g, "m", "m-1", 0, "ambiguous: m merges a, b");
    PLAN(g, "m", "b", 0, "-m[m>a,b] = a,b");
    PLAN_FAILS(g, "a b", "-1", 0, "the database has several current revisions (a, b)");
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->hint,
                           "name the way: `mig downgrade a-1` or `mig downgrade b-1`");
    PLAN(g, "a b", "a-1", 0, "-a[a>] = b");
    PLAN(g, "a b", "b-1", 0, "-b[b>] = a");
    mig_graph_free(g);
}

static void test_graph__merges_three_branches(void)
{
    mig_graph *g = mk("r a:r b:r c:r m:a,b,c");
    PLAN(g, "", "head", 1, "+r[>r] +a[r>a] +b[>b] +c[>c] +m[a,b,c>m] = m");
    PLAN(g, "a b", "m", 1, "+c[>c] +m[a,b,c>m] = m");
    PLAN(g, "m", "r", 0, "-m[m>a,b,c] -c[c>] -b[b>] -a[a>r] = r");
    PLAN(g, "m", "c", 0, "-m[m>a,b,c] = a,b,c");
    mig_graph_free(g);
}

static void test_graph__upgrades_a_lopsided_diamond(void)
{
    mig_graph *g = mk("a b1:a b2:b1 c1:a d:b2,c1 e:d");
    PLAN(g, "", "head", 1, "+a[>a] +b1[a>b1] +b2[b1>b2] +c1[>c1] +d[b2,c1>d] +e[d>e] = e");
    PLAN(g, "c1", "head", 1, "+b1[>b1] +b2[b1>b2] +d[b2,c1>d] +e[d>e] = e");
    PLAN(g, "e", "a", 0, "-e[e>d] -d[d>b2,c1] -c1[c1>] -b2[b2>b1] -b1[b1>a] = a");
    PLAN(g, "e", "b1", 0, "-e[e>d] -d[d>b2,c1] -b2[b2>b1] = b1,c1");
    mig_graph_free(g);
}

static void test_graph__merges_two_bases(void)
{
    mig_graph *g = mk("a b m:a,b");
    PLAN(g, "", "head", 1, "+a[>a] +b[>b] +m[a,b>m] = m");
    PLAN(g, "m", "base", 0, "-m[m>a,b] -b[b>] -a[a>] = ");
    PLAN(g, "m", "a", 0, "-m[m>a,b] = a,b");
    mig_graph_free(g);
}

static void test_graph__keeps_other_branches_after_a_merge_of_two(void)
{
    /* three heads, two of them merged; the third stays a row throughout */
    mig_graph *g = mk("r a:r b:r c:r m:a,b");
    PLAN(g, "", "heads", 1, "+r[>r] +c[r>c] +a[>a] +b[>b] +m[a,b>m] = c,m");
    PLAN(g, "c m", "r", 0, "-m[m>a,b] -b[b>] -a[a>] -c[c>r] = r");
    PLAN(g, "c m", "a", 0, "-m[m>a,b] = c,a,b");
    mig_graph_free(g);
}

/* ---- depends_on ---- */

#define DEPS "a1 a2:a1 b1 b2:b1|a2"

static void test_graph__upgrades_a_dependency_on_another_branch_first(void)
{
    mig_graph *g = mk(DEPS);
    PLAN(g, "", "b2", 1, "+a1[>a1] +a2[a1>a2] +b1[>b1] +b2[b1,a2>b2] = b2");
    PLAN(g, "a2", "heads", 1, "+b1[>b1] +b2[b1,a2>b2] = b2");
    PLAN(g, "b1", "b2", 1, "+a1[>a1] +a2[a1>a2] +b2[b1,a2>b2] = b2");
    /* both are heads of the graph; a2 is applied with b2 */
    CU_ASSERT_EQUAL(mig_graph_nheads(g), 2);
    PLAN(g, "b2", "a2", 1, "= b2");
    mig_graph_free(g);
}

static void test_graph__downgrades_what_depends_on_a_reverted_revision(void)
{
    mig_graph *g = mk(DEPS);
    PLAN(g, "b2", "a1", 0, "-b2[b2>b1,a2] -a2[a2>a1] = a1,b1");
    PLAN(g, "b2", "base", 0, "-b2[b2>b1,a2] -b1[b1>] -a2[a2>a1] -a1[a1>] = ");
    PLAN(g, "b2", "b1", 0, "-b2[b2>b1,a2] = a2,b1");
    mig_graph_free(g);
}

static void test_graph__keeps_a_dependency_that_stays_needed(void)
{
    mig_graph *g = mk("x y:x z|x");
    PLAN(g, "", "z", 1, "+x[>x] +z[x>z] = z");
    PLAN(g, "z", "y", 1, "+y[>y] = y,z");
    PLAN(g, "y z", "x", 0, "-y[y>] = z");
    PLAN(g, "y z", "base", 0, "-z[z>] -y[y>x] -x[x>] = ");
    mig_graph_free(g);
}

static void test_graph__resolves_depends_on_by_label_and_prefix(void)
{
    mig_graph *g = mk("aaa1#lib aaa2:aaa1 bbb1|lib ccc1|bbb ddd1:ccc1|ccc1");
    const mig_rev *b = find(g, "bbb1"), *c = find(g, "ccc1"), *d = find(g, "ddd1");
    CU_ASSERT_EQUAL(mig_graph_ndepends(g, b), 1);
    CU_ASSERT_STRING_EQUAL(mig_graph_depend(g, b, 0)->id, "aaa1");
    CU_ASSERT_STRING_EQUAL(mig_graph_depend(g, c, 0)->id, "bbb1");
    /* a dependency that is also the down_revision is not counted twice */
    CU_ASSERT_EQUAL(mig_graph_ndepends(g, d), 0);
    PLAN(g, "", "ccc1", 1, "+aaa1[>aaa1] +bbb1[aaa1>bbb1] +ccc1[bbb1>ccc1] = ccc1");
    mig_graph_free(g);
}

static void test_graph__downgrades_a_dependency_chain_across_three_branches(void)
{
    mig_graph *g = mk("a b|a c|b");
    PLAN(g, "", "c", 1, "+a[>a] +b[a>b] +c[b>c] = c");
    PLAN(g, "c", "base", 0, "-c[c>b] -b[b>a] -a[a>] = ");
    mig_graph_free(g);
}

/* ---- shapes with cross-branch dependencies, version table as Alembic keeps it ---- */

static void test_graph__keeps_rows_implied_by_a_dependency(void)
{
    /* three merged families; o depends on one member of each */
    mig_graph *g = mk("a1 a2 a3 am:a1,a2,a3 b1 b2 bm:b1,b2 c1 c2 c3 cm:c1,c2,c3 o|a3,b2,c1");
    /* b2 stays applied through o: only b1 comes back as a row */
    PLAN(g, "am bm cm o", "b2", 0, "-bm[bm>b1] = am,b1,cm,o");
    /* reverting o makes b2 a row again: nothing else implied it */
    PLAN(g, "am o b1 cm", "o@base", 0, "-o[o>b2] = am,b1,b2,cm");
    PLAN(g, "am b1 b2 cm", "base", 0,
         "-cm[cm>c1,c2,c3] -c3[c3>] -c2[c2>] -c1[c1>] -b2[b2>] -b1[b1>] "
         "-am[am>a1,a2,a3] -a3[a3>] -a2[a2>] -a1[a1>] = ");
    mig_graph_free(g);
}

static void test_graph__downgrades_over_a_crisscross_dependency(void)
{
    /* a3 depends on b1, b2 depends on a2: reverting b2 leaves b1 implied by a3 */
    mig_graph *g = mk("a1 a2:a1 b1 b2:b1|a2 b3:b2 a3:a2|b1");
    PLAN(g, "a3 b2", "b1", 0, "-b2[b2>] = a3");
    PLAN(g, "", "b3", 1, "+b1[>b1] +a1[>a1] +a2[a1>a2] +b2[b1,a2>b2] +b3[b2>b3] = b3");
    PLAN(g, "b3", "a3", 1, "+a3[>a3] = b3,a3");
    mig_graph_free(g);
}

static void test_graph__treats_a_dependency_on_its_own_parent_as_one_link(void)
{
    mig_graph *g = mk("a1 a2:a1|a1");
    PLAN(g, "", "a2", 1, "+a1[>a1] +a2[a1>a2] = a2");
    PLAN(g, "a2", "a1", 0, "-a2[a2>a1] = a1");
    mig_graph_free(g);
}

static void test_graph__merges_part_of_three_lines(void)
{
    /* d1 merges c1, c2, c3; c2 and c3 also go on to d2 and d3 */
    mig_graph *g = mk("a1 b1:a1 c1:b1 a2 b2:a2 c2:b2 a3 b3:a3 c3:b3 d1:c1,c2,c3 d2:c2 d3:c3");
    PLAN(g, "d3 d2 b1", "d1", 1, "+c1[b1>c1] +d1[c1>d1] = d1,d2,d3");
    PLAN(g, "d3 d2 d1", "b1", 0, "-d1[d1>c1] -c1[c1>b1] = b1,d2,d3");
    PLAN(g, "d3 b2 b1", "d1", 1, "+c1[b1>c1] +c2[b2>c2] +d1[c1,c2>d1] = d1,d3");
    PLAN(g, "d3 d1", "d2", 1, "+d2[>d2] = d1,d2,d3");
    mig_graph_free(g);
}

static void test_graph__upgrades_twin_merges(void)
{
    /* two merge points of the same three branches */
    mig_graph *g = mk("a b1:a b2:a b3:a c1:b1,b2,b3 c2:b1,b2,b3 d1:c1 d2:c2");
    PLAN(g, "a", "heads", 1,
         "+b1[a>b1] +b2[>b2] +b3[>b3] +c1[b1,b2,b3>c1] +d1[c1>d1] +c2[>c2] +d2[c2>d2] = d1,d2");
    PLAN(g, "d1 d2", "a", 0,
         "-d2[d2>c2] -c2[c2>] -d1[d1>c1] -c1[c1>b1,b2,b3] -b3[b3>] -b2[b2>] -b1[b1>a] = a");
    mig_graph_free(g);
}

static void test_graph__stamps_across_a_dependency(void)
{
    mig_graph *g = mk("a1#lib1 b1:a1 c1:b1 a2 b2:a2 c2:b2|c1 d1:c1 e1:d1 f1:e1");
    STAMP(g, "e1 c2", "b1", 0, "b1");
    PLAN(g, "c2 d1", "c1", 0, "-d1[d1>] = c2");
    PLAN(g, "", "lib1@head", 1, "+a1[>a1] +b1[a1>b1] +c1[b1>c1] +d1[c1>d1] +e1[d1>e1] +f1[e1>f1] = f1");
    mig_graph_free(g);
}

static void test_graph__branches_again_after_a_merge(void)
{
    mig_graph *g = mk("a b:a c:a m:b,c d:m e:m");
    PLAN(g, "", "heads", 1, "+a[>a] +b[a>b] +c[>c] +m[b,c>m] +d[m>d] +e[>e] = d,e");
    PLAN(g, "d e", "m", 0, "-e[e>] -d[d>m] = m");
    PLAN(g, "d e", "d-1", 0, "-d[d>] = e");
    PLAN(g, "b c", "d", 1, "+m[b,c>m] +d[m>d] = d");
    PLAN_FAILS(g, "m", "+1", 1, "ambiguous: m branches into d, e");
    PLAN_FAILS(g, "d e", "-1", 0, "several current revisions (d, e)");
    mig_graph_free(g);
}

static void test_graph__downgrades_one_side_of_a_branch_in_mid_line(void)
{
    mig_graph *g = mk("a b:a c:b d:b e:d");
    PLAN(g, "c e", "c-1", 0, "-c[c>] = e");
    PLAN(g, "c e", "e-2", 0, "-e[e>d] -d[d>] = c");
    PLAN(g, "c e", "b", 0, "-e[e>d] -d[d>] -c[c>b] = b");
    PLAN(g, "c", "e", 1, "+d[>d] +e[d>e] = c,e");
    mig_graph_free(g);
}

static void test_graph__follows_labels_across_a_dependency(void)
{
    mig_graph *g = mk("x1#xs x2:x1 y1#ys y2:y1|x1");
    PLAN(g, "", "ys@head", 1, "+x1[>x1] +y1[>y1] +y2[y1,x1>y2] = y2");
    /* x1 is applied through y2's dependency: xs goes on from there as a new row */
    PLAN(g, "y2", "xs@+1", 1, "+x2[>x2] = x2,y2");
    PLAN(g, "x2 y2", "xs@base", 0, "-y2[y2>y1] -x2[x2>x1] -x1[x1>] = y1");
    PLAN(g, "x2 y2", "ys@base", 0, "-y2[y2>y1] -y1[y1>] = x2");
    mig_graph_free(g);
}

/* ---- stamp ---- */

static void test_graph__stamps_like_alembic(void)
{
    mig_graph *g = mk(LINE);
    STAMP(g, "", "c", 0, "c");
    STAMP(g, "d", "b", 0, "b");
    STAMP(g, "b", "d", 0, "d");
    STAMP(g, "d", "base", 0, "");
    STAMP(g, "b", "head", 0, "d");
    STAMP(g, "zz", "c", 1, "c");
    mig_graph_free(g);
    g = mk(FORK);
    STAMP(g, "a2", "b1", 0, "a2,b1");
    STAMP(g, "a2 b2", "a1", 0, "a1,b2");
    STAMP(g, "", "heads", 0, "a2,b2");
    STAMP(g, "a2", "b1", 1, "b1");
    STAMP(g, "a2 b2", "alpha@base", 0, "b2");
    STAMP(g, "a2 b2", "r", 0, "r");
    STAMP(g, "a1", "a2 b2", 0, "a2,b2");
    STAMP(g, "a1", "+1", 0, "ERR -7");
    STAMP(g, "zz", "b1", 0, "ERR -7");
    mig_graph_free(g);
}

/* ---- malformed and unresolvable targets ---- */

static void test_graph__refuses_malformed_targets(void)
{
    mig_graph *g = mk(FORK);
    PLAN_FAILS(g, "", "@head", 1, "unknown branch '' in target '@head'");
    PLAN_FAILS(g, "", "gamma@head", 1, "unknown branch 'gamma' in target 'gamma@head'");
    PLAN_FAILS(g, "", "alpha@", 1, "empty revision in target 'alpha@'");
    PLAN_FAILS(g, "", "alpha@b2", 1, "target 'alpha@b2': revision b2 is not on that branch");
    PLAN_FAILS(g, "", "head+1", 1, "target 'head+1' names 2 heads, not one");
    PLAN_FAILS(g, "", "head", 1, "there are 2 heads (a2, b2); use 'heads' or LABEL@head");
    STAMP(g, "", "+1", 0, "ERR -7");
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->message, "stamp takes no relative target ('+1')");
    STAMP(g, "", "a1+1", 0, "ERR -7");
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->message, "stamp takes no relative target ('a1+1')");
    mig_graph_free(g);
}

static void test_graph__refuses_a_step_from_several_applied_tips_of_a_branch(void)
{
    /* no current head is on x's branch, which depends_on applied both of its tips */
    mig_graph *g = mk("r a:r#x b:a c:a d|b e|c");
    PLAN_FAILS(g, "d e", "x@+1", 1,
               "relative target 'x@+1' is ambiguous: the branch has several applied tips");
    mig_graph_free(g);
}

/* What the graph alone decides, before any database is read (tenant runs check once). */
static void test_graph__checks_a_target_without_a_database(void)
{
    mig_graph *g = mk(LINE);
    MIG_PASS(ctx, mig_graph_check_target(the_ctx(), g, "-1", MIG_TARGET_DOWNGRADE));
    MIG_PASS(ctx, mig_graph_check_target(ctx, g, "+2", MIG_TARGET_UPGRADE));
    MIG_PASS(ctx, mig_graph_check_target(ctx, g, "b", MIG_TARGET_STAMP));
    MIG_FAILS(ctx, mig_graph_check_target(ctx, g, "+1", MIG_TARGET_DOWNGRADE), MIG_ETARGET,
              "downgrade target '+1' goes up: use upgrade");
    MIG_FAILS(ctx, mig_graph_check_target(ctx, g, "-1", MIG_TARGET_UPGRADE), MIG_ETARGET,
              "upgrade target '-1' goes down: use downgrade");
    MIG_FAILS(ctx, mig_graph_check_target(ctx, g, "-1", MIG_TARGET_STAMP), MIG_ETARGET,
              "stamp takes no relative target ('-1')");
    MIG_FAILS(ctx, mig_graph_check_target(ctx, g, "b+5", MIG_TARGET_UPGRADE), MIG_ETARGET,
              "relative target 'b+5' walks past the head: only 2 steps up");
    MIG_FAILS(ctx, mig_graph_check_target(ctx, g, "zz", MIG_TARGET_UPGRADE), MIG_ETARGET,
              "unknown revision 'zz'");
    mig_graph_free(g);
}

/* ---- lookups and structure ---- */

static void test_graph__finds_by_id_prefix_and_label(void)
{
    mig_graph *g = mk("abc123 abd456:abc123 xyz:abd456#feature-x abc:xyz");
    CU_ASSERT_STRING_EQUAL(find(g, "abc123")->id, "abc123");
    CU_ASSERT_STRING_EQUAL(find(g, "abd")->id, "abd456");
    /* an exact id wins over the prefix it is of others */
    CU_ASSERT_STRING_EQUAL(find(g, "abc")->id, "abc");
    CU_ASSERT_STRING_EQUAL(find(g, "feature-x")->id, "abc");
    const mig_rev *r;
    MIG_FAILS(ctx, mig_graph_find(&r, ctx, g, "ab"), MIG_ETARGET,
              "revision prefix 'ab' is ambiguous: abc, abc123, abd456");
    MIG_FAILS(ctx, mig_graph_find(&r, ctx, g, "nope"), MIG_ETARGET, "unknown revision 'nope'");
    mig_graph_free(g);
    g = mk(FORK);
    CU_ASSERT_STRING_EQUAL(find(g, "alpha")->id, "a2");
    mig_graph_free(g);
    g = mk("r a:r#x b:a c:a");
    MIG_FAILS(ctx, mig_graph_find(&r, ctx, g, "x"), MIG_ETARGET, "branch 'x' has 2 heads: b, c");
    PLAN_FAILS(g, "", "x@head", 1, "there are 2 heads (b, c)");
    PLAN(g, "", "x@heads", 1, "+r[>r] +a[r>a] +b[a>b] +c[>c] = b,c");
    mig_graph_free(g);
}

static void test_graph__orders_heads_bases_children_and_parents(void)
{
    mig_graph *g = mk(FORK " m:a2,b2");
    char *order = order_of(g);
    CU_ASSERT_STRING_EQUAL(order, "r a1 a2 b1 b2 m");
    free(order);
    CU_ASSERT_EQUAL(mig_graph_count(g), 6);
    CU_ASSERT_EQUAL(mig_graph_nheads(g), 1);
    CU_ASSERT_STRING_EQUAL(mig_graph_head(g, 0)->id, "m");
    CU_ASSERT_EQUAL(mig_graph_nbases(g), 1);
    CU_ASSERT_STRING_EQUAL(mig_graph_base(g, 0)->id, "r");
    const mig_rev *r = find(g, "r"), *m = find(g, "m"), *a1 = find(g, "a1"), *b2 = find(g, "b2");
    CU_ASSERT_EQUAL(mig_graph_nchildren(g, r), 2);
    CU_ASSERT_STRING_EQUAL(mig_graph_child(g, r, 0)->id, "a1");
    CU_ASSERT_STRING_EQUAL(mig_graph_child(g, r, 1)->id, "b1");
    CU_ASSERT_EQUAL(mig_graph_nparents(g, m), 2);
    CU_ASSERT_STRING_EQUAL(mig_graph_parent(g, m, 1)->id, "b2");
    CU_ASSERT_EQUAL(mig_graph_index(g, m), 5);
    CU_ASSERT_PTR_EQUAL(mig_graph_at(g, mig_graph_index(g, a1)), a1);
    CU_ASSERT_TRUE(mig_graph_is_ancestor(g, r, m));
    CU_ASSERT_TRUE(mig_graph_is_ancestor(g, a1, m));
    CU_ASSERT_FALSE(mig_graph_is_ancestor(g, a1, b2));
    CU_ASSERT_FALSE(mig_graph_is_ancestor(g, m, r));
    CU_ASSERT_FALSE(mig_graph_is_ancestor(g, m, m));
    mig_graph_free(g);
}

static void test_graph__orders_whole_branches_by_file_name(void)
{
    /* heads in load order: each head's branch comes out whole */
    mig_graph *g = mk("r x1:r y1:r x2:x1 y2:y1 x3:x2");
    char *order = order_of(g);
    CU_ASSERT_STRING_EQUAL(order, "r y1 y2 x1 x2 x3");
    free(order);
    PLAN(g, "", "heads", 1, "+r[>r] +y1[r>y1] +y2[y1>y2] +x1[>x1] +x2[x1>x2] +x3[x2>x3] = y2,x3");
    PLAN(g, "x3 y2", "base", 0, "-x3[x3>x2] -x2[x2>x1] -x1[x1>] -y2[y2>y1] -y1[y1>r] -r[r>] = ");
    mig_graph_free(g);
}

static void test_graph__handles_an_empty_graph(void)
{
    mig_graph *g = mk("");
    CU_ASSERT_EQUAL(mig_graph_count(g), 0);
    CU_ASSERT_EQUAL(mig_graph_nheads(g), 0);
    PLAN(g, "", "heads", 1, "= ");
    PLAN(g, "", "base", 0, "= ");
    PLAN_FAILS(g, "", "head", 1, "no revisions");
    const mig_rev *r;
    MIG_FAILS(ctx, mig_graph_find(&r, ctx, g, "a"), MIG_ETARGET, "unknown revision");
    mig_graph_free(g);
}

/* ---- validation ---- */

static void test_graph__rejects_duplicate_ids(void)
{
    CU_ASSERT(mk_fails("a b:a a", MIG_EREVFILE,
                       "duplicate revision id 'a' in versions/a_0.sql and versions/a_2.sql"));
}

static void test_graph__rejects_a_dangling_down_revision(void)
{
    CU_ASSERT(mk_fails("a b:zz", MIG_EREVFILE,
                       "versions/b_1.sql: down_revision 'zz' is not a known revision"));
    CU_ASSERT(mk_fails("a b:a,a", MIG_EREVFILE, "versions/b_1.sql: down_revision names 'a' twice"));
}

static void test_graph__rejects_a_dangling_dependency(void)
{
    CU_ASSERT(mk_fails("a b|zz", MIG_EREVFILE,
                       "versions/b_1.sql: depends_on 'zz' is not a known revision or branch label"));
    CU_ASSERT(mk_fails("abc1 abc2 c|abc", MIG_EREVFILE,
                       "versions/c_2.sql: depends_on 'abc' is ambiguous: abc1, abc2"));
}

static void test_graph__rejects_cycle(void)
{
    CU_ASSERT(mk_fails("a:c b:a c:b", MIG_EREVFILE, "revision cycle"));
    CU_ASSERT(mk_fails("a:a", MIG_EREVFILE, "versions/a_0.sql: revision cycle: a -> a"));
    CU_ASSERT(mk_fails("r a:r|b b:a", MIG_EREVFILE, "revision cycle"));
    CU_ASSERT(mk_fails("r a:r,c b:a c:b d:c", MIG_EREVFILE, "revision cycle"));
}

static void test_graph__rejects_a_branch_label_used_twice(void)
{
    CU_ASSERT(mk_fails("a#x b:a#x", MIG_EREVFILE,
                       "branch label 'x' is used by both versions/a_0.sql and versions/b_1.sql"));
    CU_ASSERT(mk_fails("a b:a#a", MIG_EREVFILE,
                       "versions/b_1.sql: branch label 'a' is the id of the revision in versions/a_0.sql"));
    CU_ASSERT(mk_fails("a#heads", MIG_EREVFILE, "'heads' cannot be a branch label"));
    CU_ASSERT(mk_fails("a#x,x", MIG_EREVFILE, "versions/a_0.sql: branch label 'x' given twice"));
}

/* ---- loading from files ---- */

static void test_graph__loads_a_folder_sorted_by_name(void)
{
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_load(&g, ctx, MIG_TEST_FIXTURES "/graph/basic"));
    char *order = order_of(g);
    CU_ASSERT_STRING_EQUAL(order, "1000aa 2000bb 3000cc");
    free(order);
    const mig_rev *lua = find(g, "3000");
    CU_ASSERT_TRUE(lua->is_lua);
    CU_ASSERT_STRING_EQUAL(lua->path, MIG_TEST_FIXTURES "/graph/basic/3000cc_backfill.lua");
    CU_ASSERT_STRING_EQUAL(find(g, "core")->id, "3000cc");
    CU_ASSERT_STRING_EQUAL(find(g, "1000aa")->message, "create the first table");
    PLAN(g, "1000aa", "core@head", 1, "+2000bb[1000aa>2000bb] +3000cc[2000bb>3000cc] = 3000cc");
    mig_graph_free(g);
}

static void test_graph__names_both_files_of_a_duplicate(void)
{
    mig_graph *g = NULL;
    MIG_FAILS(the_ctx(), mig_graph_load(&g, ctx, MIG_TEST_FIXTURES "/graph/dup"), MIG_EREVFILE,
              "duplicate revision id 'a1b2' in " MIG_TEST_FIXTURES
              "/graph/dup/a1b2_one.sql and " MIG_TEST_FIXTURES "/graph/dup/a1b2_two.sql");
    CU_ASSERT_PTR_NULL(g);
}

static void test_graph__refuses_a_missing_folder(void)
{
    mig_graph *g = NULL;
    MIG_FAILS(the_ctx(), mig_graph_load(&g, ctx, "/nonexistent/versions"), MIG_ECONFIG,
              "/nonexistent/versions");
}

/* ---- size ---- */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_graph__loads_and_plans_ten_thousand_files(void)
{
    char dir[] = "/tmp/mig_test_graph_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    enum { N = 10000 };
    for (int i = 0; i < N; i++) {
        char *path = mig_aprintf("%s/r%05d_step.sql", dir, i);
        FILE *f = fopen(path, "w");
        CU_ASSERT_FATAL(f != NULL);
        fprintf(f, "-- mig:revision r%05d\n", i);
        if (i)
            fprintf(f, "-- mig:down_revision r%05d\n", i - 1);
        fprintf(f,
                "-- mig:message step %d\n\n-- mig:upgrade\nCREATE TABLE t%d (id int);\n"
                "\n-- mig:downgrade\nDROP TABLE t%d;\n",
                i, i, i);
        fclose(f);
        free(path);
    }
    double t0 = now_ms();
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_load(&g, ctx, dir));
    double t1 = now_ms();
    mig_plan *pl = NULL;
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, NULL, 0, "head", MIG_TARGET_UPGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, N);
    CU_ASSERT_STRING_EQUAL(pl->steps[N - 1].rev->id, "r09999");
    mig_plan_free(pl);
    const char *cur[] = { "r09999" };
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, cur, 1, "base", MIG_TARGET_DOWNGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, N);
    mig_plan_free(pl);
    double t2 = now_ms();
    fprintf(stderr, "\n    10000 files: load %.1f ms, plan up and down %.1f ms ", t1 - t0, t2 - t1);
    mig_graph_free(g);
    char *cmd = mig_aprintf("rm -rf '%s'", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    free(cmd);
}

static void test_graph__plans_ten_thousand_revisions_on_many_branches(void)
{
    /* 100 branches of 100 off one root, merged by one revision */
    enum { B = 100, L = 100 };
    mig_rev *revs = calloc(B * L + 2, sizeof *revs);
    size_t n = 0;
    revs[n].id = mig_strdup("root");
    n++;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < L; i++) {
            mig_rev *r = &revs[n++];
            r->id = mig_aprintf("b%03d_%03d", b, i);
            mig_revlist_push_owned(&r->down, i ? mig_aprintf("b%03d_%03d", b, i - 1) : mig_strdup("root"));
            if (i == 0 && b) {
                mig_revlist l = { NULL, 0 };
                mig_revlist_push_owned(&l, mig_aprintf("branch%d", b));
                r->labels = l.v;
            }
        }
    mig_rev *m = &revs[n++];
    m->id = mig_strdup("merge");
    for (int b = 0; b < B; b++)
        mig_revlist_push_owned(&m->down, mig_aprintf("b%03d_%03d", b, L - 1));
    for (size_t i = 0; i < n; i++) {
        revs[i].path = mig_aprintf("versions/%s_x.sql", revs[i].id);
        revs[i].message = mig_strdup("");
        revs[i].create_date = mig_strdup("");
    }
    double t0 = now_ms();
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_from_revs(&g, ctx, revs, n));
    free(revs);
    mig_plan *pl = NULL;
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, NULL, 0, "head", MIG_TARGET_UPGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, n);
    CU_ASSERT_EQUAL(pl->steps[n - 1].delete_heads.n, B);
    CU_ASSERT_EQUAL(pl->final_heads.n, 1);
    mig_plan_free(pl);
    const char *cur[] = { "merge" };
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, cur, 1, "root", MIG_TARGET_DOWNGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, n - 1);
    CU_ASSERT_EQUAL(pl->final_heads.n, 1);
    mig_plan_free(pl);
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, cur, 1, "branch7@base", MIG_TARGET_DOWNGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, L + 1);
    CU_ASSERT_EQUAL(pl->final_heads.n, B - 1);
    mig_plan_free(pl);
    double t1 = now_ms();
    fprintf(stderr, "\n    10002 revisions, 100 branches: build and 3 plans %.1f ms ", t1 - t0);
    mig_graph_free(g);
}

static void test_graph__upgrades_a_long_chain_with_side_branches(void)
{
    /* every 10th revision of a 1000-chain has a one-revision side branch */
    mig_buf spec = MIG_BUF_INIT;
    mig_buf_puts(&spec, "c0000");
    for (int i = 1; i < 1000; i++) {
        mig_buf_printf(&spec, " c%04d:c%04d", i, i - 1);
        if (i % 10 == 0)
            mig_buf_printf(&spec, " s%04d:c%04d", i, i);
    }
    mig_graph *g = mk(spec.ptr);
    mig_buf_release(&spec);
    CU_ASSERT_EQUAL(mig_graph_nheads(g), 100);
    mig_plan *pl = NULL;
    MIG_PASS(ctx, mig_graph_plan(&pl, ctx, g, NULL, 0, "heads", MIG_TARGET_UPGRADE));
    CU_ASSERT_EQUAL(pl->nsteps, 1099);
    CU_ASSERT_EQUAL(pl->final_heads.n, 100);
    mig_plan_free(pl);
    PLAN(g, "c0995 s0990", "s0990", 0, "= s0990,c0995");
    PLAN(g, "c0995 s0990", "c0989", 0,
         "-c0995[c0995>c0994] -c0994[c0994>c0993] -c0993[c0993>c0992] "
         "-c0992[c0992>c0991] -c0991[c0991>] -s0990[s0990>c0990] -c0990[c0990>c0989] = c0989");
    mig_graph_free(g);
}

/* mig_heads fills the heads' views alone; mig_revisions then fills the rest around them. */
static void test_graph__views_of_the_heads_then_of_all(void)
{
    mig_ctx *c = NULL;
    CU_ASSERT_FATAL(mig_ctx_new_empty(&c) == 0);
    c->graph = mk("a b:a c:a");
    const mig_revision *const *heads, *const *all;
    size_t nh = 0, n = 0;
    MIG_PASS(c, mig_heads(c, &heads, &nh));
    CU_ASSERT_EQUAL_FATAL(nh, 2);
    CU_ASSERT_STRING_EQUAL(heads[0]->id, "b");
    CU_ASSERT_STRING_EQUAL(heads[1]->id, "c");
    CU_ASSERT_PTR_NULL(heads[2]);
    CU_ASSERT_STRING_EQUAL(heads[0]->down[0], "a");
    CU_ASSERT_PTR_NULL(heads[0]->next[0]);
    CU_ASSERT_PTR_NULL(heads[0]->labels[0]);
    CU_ASSERT_TRUE(heads[0]->is_head);
    CU_ASSERT_FALSE(heads[0]->is_base);
    CU_ASSERT_EQUAL(heads[0]->has_downgrade, -1);
    MIG_PASS(c, mig_revisions(c, &all, &n));
    CU_ASSERT_EQUAL_FATAL(n, 3);
    /* newest first; the heads' views are the same ones */
    CU_ASSERT_PTR_EQUAL(all[0], heads[1]);
    CU_ASSERT_PTR_EQUAL(all[1], heads[0]);
    CU_ASSERT_STRING_EQUAL(all[2]->id, "a");
    CU_ASSERT_TRUE(all[2]->is_base && all[2]->is_branch_point);
    CU_ASSERT_STRING_EQUAL(all[2]->next[0], "b");
    CU_ASSERT_STRING_EQUAL(all[2]->next[1], "c");
    CU_ASSERT_PTR_NULL(all[2]->next[2]);
    mig_ctx_free(c);
}

static void test_graph__cleans_up(void)
{
    mig_ctx_free(ctx);
    ctx = NULL;
}

/*
 * upgrade --expand: the plan (as plan() renders it) with the revisions in
 * contract (space-separated) marked -- mig:phase contract, then " held "
 * and the held-back ids.
 */
static char *plan_expand(const char *spec, const char *contract, const char *current, const char *target)
{
    mig_rev *revs;
    size_t n = parse_spec(&revs, spec);
    mig_strvec c = MIG_STRVEC_INIT;
    split_words(&c, contract);
    for (size_t i = 0; i < n; i++)
        revs[i].contract = mig_strvec_contains(&c, revs[i].id);
    mig_strvec_release(&c);
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_from_revs(&g, ctx, revs, n));
    free(revs);
    mig_strvec cur = MIG_STRVEC_INIT;
    split_words(&cur, current);
    mig_plan *pl = NULL;
    int rc = mig_graph_plan_ex(&pl, ctx, g, (const char *const *)cur.v, cur.n, target,
                               MIG_TARGET_UPGRADE, MIG_PLAN_EXPAND);
    mig_strvec_release(&cur);
    mig_buf b = MIG_BUF_INIT;
    if (rc) {
        mig_buf_printf(&b, "ERR %d", rc);
    } else {
        for (size_t i = 0; i < pl->nsteps; i++)
            mig_buf_printf(&b, "+%s ", pl->steps[i].rev->id);
        mig_buf_puts(&b, "= ");
        put_list(&b, &pl->final_heads);
        mig_buf_puts(&b, " held ");
        put_list(&b, &pl->held_back);
    }
    mig_plan_free(pl);
    mig_graph_free(g);
    return mig_buf_detach(&b);
}

#define EXPAND(spec, contract, current, target, want)                                                   \
    do {                                                                                                \
        char *got__ = plan_expand((spec), (contract), (current), (target));                             \
        if (strcmp(got__, (want)) != 0)                                                                 \
            fprintf(stderr, "\n%s:%d: expand %s\n  got  %s\n  want %s\n", __FILE__, __LINE__, (spec),   \
                    got__, (want));                                                                     \
        CU_ASSERT_STRING_EQUAL(got__, (want));                                                          \
        free(got__);                                                                                    \
    } while (0)

static void test_graph__expand_stops_before_the_first_contract_revision(void)
{
    EXPAND("a b:a c:b d:c", "c", "", "head", "+a +b = b held c,d");
    EXPAND("a b:a c:b d:c", "c", "b", "head", "= b held c,d");
    EXPAND("a b:a c:b d:c", "c d", "", "head", "+a +b = b held c,d");
    /* a contract revision already applied holds nothing back */
    EXPAND("a b:a c:b d:c", "b", "c", "head", "+d = d held ");
    /* a target short of the contract revision: nothing to hold */
    EXPAND("a b:a c:b d:c", "c", "", "b", "+a +b = b held ");
    EXPAND("a b:a c:b d:c", "a", "", "head", "=  held a,b,c,d");
}

static void test_graph__expand_holds_back_per_branch_merges_and_dependents(void)
{
    /* each branch stops at its own contract revision; the merge waits */
    EXPAND("r c1:r c2:c1 d1:r d2:d1 m:c2,d2", "c2", "", "head", "+r +c1 +d1 +d2 = c1,d2 held c2,m");
    /* depends_on a contract revision on another branch waits too, and what stands on it */
    EXPAND("r c1:r c2:c1 d1:r e1:d1|c2 e2:e1", "c2", "", "heads", "+r +c1 +d1 = c1,d1 held c2,e1,e2");
    /* a branch with no contract revision goes all the way */
    EXPAND("r c1:r c2:c1 d1:r d2:d1", "c1", "", "heads", "+r +d1 +d2 = d2 held c1,c2");
}

static void test_graph__expand_is_no_downgrade_option(void)
{
    mig_rev *revs;
    size_t n = parse_spec(&revs, "a b:a");
    mig_graph *g = NULL;
    MIG_PASS(the_ctx(), mig_graph_from_revs(&g, ctx, revs, n));
    free(revs);
    const char *cur[] = { "b" };
    mig_plan *pl = NULL;
    CU_ASSERT_EQUAL(mig_graph_plan_ex(&pl, ctx, g, cur, 1, "base", MIG_TARGET_DOWNGRADE, MIG_PLAN_EXPAND),
                    MIG_EUSAGE);
    CU_ASSERT_PTR_NULL(pl);
    unsigned char held[2] = { 9, 9 };
    MIG_PASS(ctx, mig_graph_held_back(held, ctx, g, NULL, 0));
    CU_ASSERT(held[0] == 0 && held[1] == 0);
    mig_graph_free(g);
}

/* A plan goes up or down; a stamp's targets are planned elsewhere. */
static void test_graph__plan_refuses_the_stamp_mode(void)
{
    mig_ctx *ctx = the_ctx();
    mig_rev *revs;
    size_t n = parse_spec(&revs, "a b:a");
    mig_graph *g = NULL;
    MIG_PASS(ctx, mig_graph_from_revs(&g, ctx, revs, n));
    free(revs);
    mig_plan *pl = NULL;
    CU_ASSERT_EQUAL(mig_graph_plan(&pl, ctx, g, NULL, 0, "head", MIG_TARGET_STAMP), MIG_EUSAGE);
    CU_ASSERT_PTR_NULL(pl);
    mig_plan_free(pl);
    mig_graph_free(g);
}

static CU_TestInfo tests[] = {
    { "plan refuses the stamp mode", test_graph__plan_refuses_the_stamp_mode },
    { "upgrades a line to head", test_graph__upgrades_a_line_to_head },
    { "upgrades a line to a revision or prefix", test_graph__upgrades_a_line_to_a_revision_or_prefix },
    { "upgrades a line by relative steps", test_graph__upgrades_a_line_by_relative_steps },
    { "refuses an upgrade target below the current revision",
      test_graph__refuses_an_upgrade_target_below_the_current_revision },
    { "refuses impossible relative upgrades", test_graph__refuses_impossible_relative_upgrades },
    { "downgrades a line", test_graph__downgrades_a_line },
    { "refuses a downgrade target above the current revision",
      test_graph__refuses_a_downgrade_target_above_the_current_revision },
    { "refuses impossible relative downgrades", test_graph__refuses_impossible_relative_downgrades },
    { "counts pending revisions", test_graph__counts_pending_revisions },
    { "refuses an unknown current revision", test_graph__refuses_an_unknown_current_revision },
    { "upgrades several bases", test_graph__upgrades_several_bases },
    { "downgrades one of several bases", test_graph__downgrades_one_of_several_bases },
    { "refuses a downgrade to a branch not applied",
      test_graph__refuses_a_downgrade_to_a_branch_not_applied },
    { "upgrades both sides of a branch point", test_graph__upgrades_both_sides_of_a_branch_point },
    { "downgrades through a branch point", test_graph__downgrades_through_a_branch_point },
    { "downgrades one branch by label", test_graph__downgrades_one_branch_by_label },
    { "upgrades one branch by label", test_graph__upgrades_one_branch_by_label },
    { "spreads branch labels as alembic does", test_graph__spreads_branch_labels_as_alembic_does },
    { "upgrades through a merge", test_graph__upgrades_through_a_merge },
    { "downgrades through a merge", test_graph__downgrades_through_a_merge },
    { "merges three branches", test_graph__merges_three_branches },
    { "upgrades a lopsided diamond", test_graph__upgrades_a_lopsided_diamond },
    { "merges two bases", test_graph__merges_two_bases },
    { "keeps other branches after a merge of two", test_graph__keeps_other_branches_after_a_merge_of_two },
    { "upgrades a dependency on another branch first",
      test_graph__upgrades_a_dependency_on_another_branch_first },
    { "downgrades what depends on a reverted revision",
      test_graph__downgrades_what_depends_on_a_reverted_revision },
    { "keeps a dependency that stays needed", test_graph__keeps_a_dependency_that_stays_needed },
    { "resolves depends_on by label and prefix", test_graph__resolves_depends_on_by_label_and_prefix },
    { "downgrades a dependency chain across three branches",
      test_graph__downgrades_a_dependency_chain_across_three_branches },
    { "keeps rows implied by a dependency", test_graph__keeps_rows_implied_by_a_dependency },
    { "downgrades over a crisscross dependency", test_graph__downgrades_over_a_crisscross_dependency },
    { "treats a dependency on its own parent as one link",
      test_graph__treats_a_dependency_on_its_own_parent_as_one_link },
    { "merges part of three lines", test_graph__merges_part_of_three_lines },
    { "upgrades twin merges", test_graph__upgrades_twin_merges },
    { "stamps across a dependency", test_graph__stamps_across_a_dependency },
    { "branches again after a merge", test_graph__branches_again_after_a_merge },
    { "downgrades one side of a branch in mid line",
      test_graph__downgrades_one_side_of_a_branch_in_mid_line },
    { "follows labels across a dependency", test_graph__follows_labels_across_a_dependency },
    { "stamps like alembic", test_graph__stamps_like_alembic },
    { "refuses malformed targets", test_graph__refuses_malformed_targets },
    { "refuses a step from several applied tips of a branch",
      test_graph__refuses_a_step_from_several_applied_tips_of_a_branch },
    { "checks a target without a database", test_graph__checks_a_target_without_a_database },
    { "finds by id prefix and label", test_graph__finds_by_id_prefix_and_label },
    { "orders heads bases children and parents", test_graph__orders_heads_bases_children_and_parents },
    { "orders whole branches by file name", test_graph__orders_whole_branches_by_file_name },
    { "handles an empty graph", test_graph__handles_an_empty_graph },
    { "rejects duplicate ids", test_graph__rejects_duplicate_ids },
    { "rejects a dangling down revision", test_graph__rejects_a_dangling_down_revision },
    { "rejects a dangling dependency", test_graph__rejects_a_dangling_dependency },
    { "rejects cycle", test_graph__rejects_cycle },
    { "rejects a branch label used twice", test_graph__rejects_a_branch_label_used_twice },
    { "loads a folder sorted by name", test_graph__loads_a_folder_sorted_by_name },
    { "names both files of a duplicate", test_graph__names_both_files_of_a_duplicate },
    { "refuses a missing folder", test_graph__refuses_a_missing_folder },
    { "loads and plans ten thousand files", test_graph__loads_and_plans_ten_thousand_files },
    { "plans ten thousand revisions on many branches",
      test_graph__plans_ten_thousand_revisions_on_many_branches },
    { "upgrades a long chain with side branches", test_graph__upgrades_a_long_chain_with_side_branches },
    { "expand stops before the first contract revision",
      test_graph__expand_stops_before_the_first_contract_revision },
    { "expand holds back per branch merges and dependents",
      test_graph__expand_holds_back_per_branch_merges_and_dependents },
    { "expand is no downgrade option", test_graph__expand_is_no_downgrade_option },
    { "views of the heads then of all", test_graph__views_of_the_heads_then_of_all },
    { "cleans up", test_graph__cleans_up },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("graph", tests)
