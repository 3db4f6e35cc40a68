/*
 * The error slot (ctx.c): mig_error_save and mig_error_restore keep the
 * first error whole while a cleanup fails on its own, and hand an error
 * from one context to another.
 */
#include <string.h>

#include "ctx.h"
#include "unit.h"

static mig_ctx *new_ctx(void)
{
    mig_ctx *ctx = NULL;
    CU_ASSERT_EQUAL_FATAL(mig_ctx_new_empty(&ctx), 0);
    return ctx;
}

/* The first error, with every part set. */
static void set_first(mig_ctx *ctx)
{
    mig_fail_at(ctx, MIG_EFAIL, "v/1_a.sql", 7, "no such table: nosuch");
    mig_error_detail(ctx, "statement: INSERT INTO nosuch VALUES (1)");
    mig_error_hint(ctx, "create it first");
}

static void expect_first(mig_ctx *ctx)
{
    const mig_error *e = mig_last_error(ctx);
    CU_ASSERT_EQUAL(e->code, MIG_EFAIL);
    CU_ASSERT_STRING_EQUAL(e->message, "v/1_a.sql:7: no such table: nosuch");
    CU_ASSERT_STRING_EQUAL(e->detail, "statement: INSERT INTO nosuch VALUES (1)");
    CU_ASSERT_STRING_EQUAL(e->hint, "create it first");
    CU_ASSERT_STRING_EQUAL(e->file, "v/1_a.sql");
    CU_ASSERT_EQUAL(e->line, 7);
    CU_ASSERT_PTR_NOT_NULL(strstr(e->origin, "test_error.c:"));
}

static void test_error__save_leaves_the_context_without_error(void)
{
    mig_ctx *ctx = new_ctx();
    set_first(ctx);
    mig_error_state saved;
    mig_error_save(ctx, &saved);
    const mig_error *e = mig_last_error(ctx);
    CU_ASSERT_EQUAL(e->code, 0);
    CU_ASSERT_STRING_EQUAL(e->message, "");
    CU_ASSERT_STRING_EQUAL(e->detail, "");
    CU_ASSERT_STRING_EQUAL(e->hint, "");
    CU_ASSERT_STRING_EQUAL(e->file, "");
    CU_ASSERT_EQUAL(e->line, 0);
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), MIG_EFAIL);
    expect_first(ctx);
    mig_ctx_free(ctx);
}

static void test_error__restore_keeps_the_first_error_whole(void)
{
    mig_ctx *ctx = new_ctx();
    set_first(ctx);
    mig_error_state saved;
    mig_error_save(ctx, &saved);
    /* the cleanup fails too, with parts of its own */
    mig_fail_at(ctx, MIG_ELOCK, "other.sql", 99, "rollback failed");
    mig_error_detail(ctx, "error 7");
    mig_error_hint(ctx, "not this one");
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), MIG_EFAIL);
    expect_first(ctx);
    /* the state is empty afterwards: restoring it again changes nothing */
    CU_ASSERT_EQUAL(saved.code, 0);
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), MIG_EFAIL);
    expect_first(ctx);
    mig_ctx_free(ctx);
}

static void test_error__restore_without_error_keeps_the_cleanups(void)
{
    mig_ctx *ctx = new_ctx();
    mig_error_state saved;
    mig_error_save(ctx, &saved);
    CU_ASSERT_EQUAL(saved.code, 0);
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), 0);
    CU_ASSERT_EQUAL(mig_last_error(ctx)->code, 0);

    mig_error_save(ctx, &saved);
    mig_fail(ctx, MIG_ELOCK, "could not release the lock");
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), MIG_ELOCK);
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->message, "could not release the lock");
    mig_ctx_free(ctx);
}

static void test_error__moves_an_error_between_contexts(void)
{
    mig_ctx *child = new_ctx(), *parent = new_ctx();
    mig_fail(parent, MIG_ECONFIG, "an older error");
    set_first(child);
    mig_error_state st;
    mig_error_save(child, &st);
    CU_ASSERT_EQUAL(mig_error_restore(parent, &st), MIG_EFAIL);
    expect_first(parent);
    CU_ASSERT_EQUAL(mig_last_error(child)->code, 0);
    mig_ctx_free(child);
    mig_ctx_free(parent);
}

static void test_error__saved_error_survives_a_freed_context(void)
{
    /* the buffers moved: the state owns them, not the context it came from */
    mig_ctx *a = new_ctx();
    set_first(a);
    mig_error_state st;
    mig_error_save(a, &st);
    mig_ctx_free(a);
    mig_ctx *b = new_ctx();
    CU_ASSERT_EQUAL(mig_error_restore(b, &st), MIG_EFAIL);
    expect_first(b);
    mig_ctx_free(b);
}

static void test_error__keeps_an_out_of_memory_message(void)
{
    mig_ctx *ctx = new_ctx();
    mig_fail(ctx, MIG_ENOMEM, "out of memory");
    ctx->err_message.oom = 1; /* as when the message itself could not be written */
    mig_error_state saved;
    mig_error_save(ctx, &saved);
    CU_ASSERT_EQUAL(saved.message.oom, 1);
    mig_fail(ctx, MIG_EFAIL, "cleanup");
    CU_ASSERT_EQUAL(mig_error_restore(ctx, &saved), MIG_ENOMEM);
    CU_ASSERT_STRING_EQUAL(mig_last_error(ctx)->message, "out of memory");
    mig_ctx_free(ctx);
}

static CU_TestInfo tests[] = {
    { "save leaves the context without error", test_error__save_leaves_the_context_without_error },
    { "restore keeps the first error whole", test_error__restore_keeps_the_first_error_whole },
    { "restore without error keeps the cleanup's", test_error__restore_without_error_keeps_the_cleanups },
    { "moves an error between contexts", test_error__moves_an_error_between_contexts },
    { "a saved error survives its freed context", test_error__saved_error_survives_a_freed_context },
    { "keeps an out-of-memory message", test_error__keeps_an_out_of_memory_message },
    CU_TEST_INFO_NULL,
};

MIG_UNIT_MAIN("error", tests)
