/*
 * The bridge that lets a driver built for ABI 1 (name lists as
 * NUL-separated strings) feed ABI 2's schema sink (arrays with counts).
 */
#include <stddef.h>
#include <string.h>

#include "ctx.h"
#include "drv.h"
#include "drv_abi1.h"
#include "unit.h"

typedef struct seen {
    char text[2048];
    int stop; /* what the sink returns */
} seen;

static void put(seen *s, const char *what, const char *const *v, size_t n)
{
    size_t o = strlen(s->text);
    o += (size_t)snprintf(s->text + o, sizeof s->text - o, "%s[%zu]", what, n);
    CU_ASSERT(n == 0 || v != NULL);
    for (size_t i = 0; i < n && o < sizeof s->text; i++)
        o += (size_t)snprintf(s->text + o, sizeof s->text - o, " %s", v[i]);
    snprintf(s->text + o, sizeof s->text - o, ";");
}

static int on_pk(void *p, const char *t, const char *name, const char *const *c, size_t n)
{
    (void)t, (void)name;
    put(p, "pk", c, n);
    return ((seen *)p)->stop;
}

static int on_index(void *p, const char *t, const char *name, int unique, const char *const *c, size_t n,
                    const char *expr, const char *where)
{
    (void)t, (void)name, (void)unique;
    put(p, "index", c, n);
    CU_ASSERT_STRING_EQUAL(expr, "lower(a)");
    CU_ASSERT_PTR_NULL(where);
    return 0;
}

static int on_fk(void *p, const char *t, const char *name, const char *const *c, size_t n,
                 const char *rt, const char *const *rc, size_t nr, const char *del, const char *upd)
{
    (void)t, (void)name, (void)del, (void)upd;
    CU_ASSERT_STRING_EQUAL(rt, "parent");
    put(p, "fk", c, n);
    put(p, "->", rc, nr);
    return 0;
}

static int on_enum(void *p, const char *name, const char *const *labels, size_t n)
{
    (void)name;
    put(p, "enum", labels, n);
    return 0;
}

static void test_drv_abi1__passes_lists_on_as_arrays(void)
{
    mig_schema_sink sink = {
        .primary_key = on_pk, .index = on_index, .foreign_key = on_fk, .enum_type = on_enum
    };
    seen s = { "", 0 };
    void *payload = &s;
    mig_abi1_bridge b;
    const mig_abi1_sink *old =
        (const mig_abi1_sink *)(const void *)mig_abi1_sink_bridge(&b, &sink, &payload);
    CU_ASSERT_PTR_EQUAL(payload, &b);
    /* what the sink does not take stays absent for the driver too */
    CU_ASSERT_PTR_NULL(old->table);
    CU_ASSERT_PTR_NULL(old->unique);
    CU_ASSERT_EQUAL(old->primary_key(payload, "t", "pk", "a\0b\0"), 0);
    CU_ASSERT_EQUAL(old->index(payload, "t", "ix", 0, "\0", "lower(a)", NULL), 0);
    CU_ASSERT_EQUAL(old->foreign_key(payload, "t", NULL, "x\0", "parent", "id\0", "CASCADE", "NO ACTION"),
                    0);
    CU_ASSERT_EQUAL(old->enum_type(payload, "mood", "sad\0ok\0happy\0"), 0);
    CU_ASSERT_STRING_EQUAL(s.text, "pk[2] a b;index[0];fk[1] x;->[1] id;enum[3] sad ok happy;");
}

static void test_drv_abi1__splits_long_lists_and_keeps_the_sinks_answer(void)
{
    mig_schema_sink sink = { .primary_key = on_pk };
    seen s = { "", 7 };
    void *payload = &s;
    mig_abi1_bridge b;
    const mig_abi1_sink *old =
        (const mig_abi1_sink *)(const void *)mig_abi1_sink_bridge(&b, &sink, &payload);
    char list[64];
    size_t o = 0;
    for (char c = 'a'; c <= 't'; c++) { /* 20 names: more than the bridge keeps on its stack */
        list[o++] = c;
        list[o++] = '\0';
    }
    list[o] = '\0';
    CU_ASSERT_EQUAL(old->primary_key(payload, "t", NULL, list), 7);
    CU_ASSERT_STRING_EQUAL(s.text, "pk[20] a b c d e f g h i j k l m n o p q r s t;");
}

/* A driver's introspect as ABI 1 wrote it: it knows only the old sink. */
static int abi1_introspect(mig_conn *conn, const char *schema, const mig_schema_sink *sink,
                           void *payload, mig_drv_error *err)
{
    (void)conn, (void)schema, (void)err;
    const mig_abi1_sink *old = (const mig_abi1_sink *)(const void *)sink;
    int rc = old->primary_key(payload, "t", "t_pkey", "a\0b\0");
    return rc ? rc : old->unique(payload, "t", "t_key", "c\0");
}

/* The same driver rebuilt against ABI 2's header. */
static int abi2_introspect(mig_conn *conn, const char *schema, const mig_schema_sink *sink,
                           void *payload, mig_drv_error *err)
{
    (void)conn, (void)schema, (void)err;
    static const char *const pk[] = { "a", "b" }, *const uq[] = { "c" };
    int rc = sink->primary_key(payload, "t", "t_pkey", pk, 2);
    return rc ? rc : sink->unique(payload, "t", "t_key", uq, 1);
}

static int on_unique(void *p, const char *t, const char *name, const char *const *c, size_t n)
{
    (void)t, (void)name;
    put(p, "unique", c, n);
    return 0;
}

static void introspect_with(const mig_driver *table)
{
    mig_ctx *ctx = NULL;
    CU_ASSERT_FATAL(mig_ctx_new_empty(&ctx) == 0);
    mig_plugin plugin = { NULL, table, NULL };
    mig_db db = { .plugin = &plugin };
    mig_schema_sink sink = { .primary_key = on_pk, .unique = on_unique };
    seen s = { "", 0 };
    MIG_PASS(ctx, mig_db_introspect(&db, ctx, &sink, &s));
    CU_ASSERT_STRING_EQUAL(s.text, "pk[2] a b;unique[1] c;");
    mig_ctx_free(ctx);
}

static void test_drv_abi1__an_abi1_driver_introspects_through_the_core(void)
{
    mig_driver abi1 = { .magic = MIG_DRIVER_MAGIC,
                        .abi = 1,
                        .size = offsetof(mig_driver, ident_max),
                        .name = "old",
                        .introspect = abi1_introspect };
    mig_driver abi2 = { .magic = MIG_DRIVER_MAGIC,
                        .abi = MIG_DRIVER_ABI,
                        .size = sizeof(mig_driver),
                        .name = "new",
                        .introspect = abi2_introspect };
    introspect_with(&abi1);
    introspect_with(&abi2);
}

static CU_TestInfo tests[] = {
    { "passes lists on as arrays", test_drv_abi1__passes_lists_on_as_arrays },
    { "splits long lists and keeps the sink's answer",
      test_drv_abi1__splits_long_lists_and_keeps_the_sinks_answer },
    { "an ABI 1 driver introspects through the core",
      test_drv_abi1__an_abi1_driver_introspects_through_the_core },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("drv_abi1", tests)
