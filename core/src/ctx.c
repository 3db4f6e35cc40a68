/*
 * The context's life cycle, its error slot and its output. Loading the
 * configuration and the rest of what mig_ctx_new does lives in api.c;
 * freeing all of it is here.
 */
#include "ctx.h"

#include "cancel.h"

#include "drv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void default_log(void *payload, mig_log_level level, const char *line)
{
    (void)payload;
    (void)level;
    fprintf(stderr, "%s\n", line);
}

int mig_ctx_new_empty(mig_ctx **out)
{
    mig_ctx *ctx = calloc(1, sizeof *ctx);
    *out = ctx;
    if (ctx == NULL)
        return MIG_ENOMEM;
    mig_options dflt = MIG_OPTIONS_INIT;
    ctx->opts = dflt;
    ctx->log_fn = default_log;
    pthread_mutex_init(&ctx->run_mu, NULL);
    return 0;
}

void mig_ctx_free(mig_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->parent)
        mig_cancel_orphan(ctx->parent, ctx);
    /* what mig_ctx_new and the lazy loaders (api.c) filled in; a child borrows its parent's */
    if (ctx->parent == NULL) {
        mig_graph_free(ctx->graph);
        mig_config_free(ctx->cfg);
        mig_plugin_unload(ctx->plugin);
    }
    free(ctx->tenant);
    free(ctx->script_location);
    free(ctx->versions_dir);
    free(ctx->version_table);
    free(ctx->rev_views);
    free(ctx->rev_storage);
    free(ctx->next_storage);
    free(ctx->head_views);
    mig_strvec_release(&ctx->current);
    mig_strvec_release(&ctx->owned);
    mig_buf_release(&ctx->run_from);
    mig_buf_release(&ctx->run_to);
    mig_strvec_release(&ctx->run_current);
    mig_buf_release(&ctx->run_summary);
    mig_strvec_release(&ctx->run_held);
    mig_strvec_release(&ctx->pending_contract);
    mig_progress_release(&ctx->prog);
    mig_buf_release(&ctx->err_message);
    mig_buf_release(&ctx->err_detail);
    mig_buf_release(&ctx->err_hint);
    mig_buf_release(&ctx->err_file);
    mig_buf_release(&ctx->err_origin);
    pthread_mutex_destroy(&ctx->run_mu);
    free(ctx->kids);
    free(ctx);
}

void mig_set_logger(mig_ctx *ctx, mig_log_fn fn, void *payload)
{
    ctx->log_fn = fn ? fn : default_log;
    ctx->log_payload = payload;
}

void mig_log(mig_ctx *ctx, mig_log_level level, const char *fmt, ...)
{
    if (level == MIG_LOG_INFO && ctx->opts.quiet)
        return;
    if (level == MIG_LOG_VERBOSE && !ctx->opts.verbose)
        return;
    mig_buf b = MIG_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    mig_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    /* a warning goes to the event callback when there is one, as the step lines do */
    if (!b.oom && !(level == MIG_LOG_WARN && mig_event_warning(ctx, mig_buf_cstr(&b))))
        ctx->log_fn(ctx->log_payload, level, mig_buf_cstr(&b));
    mig_buf_release(&b);
}

int mig_error_set(mig_ctx *ctx, int code, const char *src_file, int src_line, const char *fmt, ...)
{
    mig_error_clear(ctx);
    ctx->err_code = code;
    va_list ap;
    va_start(ap, fmt);
    mig_buf_vprintf(&ctx->err_message, fmt, ap);
    va_end(ap);
    /* no room for the words: the run is out of memory, whatever failed first (exit 1, as
     * mig_error_set_at decides) */
    if (ctx->err_message.oom)
        ctx->err_code = code = MIG_ENOMEM;
    const char *base = strrchr(src_file, '/');
    mig_buf_printf(&ctx->err_origin, "%s:%d", base ? base + 1 : src_file, src_line);
    return code;
}

int mig_error_set_at(mig_ctx *ctx, int code, const char *src_file, int src_line, const char *file,
                     int line, const char *fmt, ...)
{
    mig_buf msg = MIG_BUF_INIT;
    if (file != NULL && file[0] != '\0') {
        if (line > 0)
            mig_buf_printf(&msg, "%s:%d: ", file, line);
        else
            mig_buf_printf(&msg, "%s: ", file);
    }
    va_list ap;
    va_start(ap, fmt);
    mig_buf_vprintf(&msg, fmt, ap);
    va_end(ap);
    if (msg.oom) {
        mig_buf_release(&msg);
        return mig_error_set(ctx, MIG_ENOMEM, src_file, src_line, "out of memory");
    }
    mig_error_set(ctx, code, src_file, src_line, "%s", mig_buf_cstr(&msg));
    mig_buf_release(&msg);
    if (file != NULL && file[0] != '\0')
        mig_error_where(ctx, file, line);
    return code;
}

static void append_line(mig_buf *b, const char *fmt, va_list ap)
{
    if (b->len)
        mig_buf_putc(b, '\n');
    mig_buf_vprintf(b, fmt, ap);
}

void mig_error_detail(mig_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append_line(&ctx->err_detail, fmt, ap);
    va_end(ap);
}

void mig_error_hint(mig_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append_line(&ctx->err_hint, fmt, ap);
    va_end(ap);
}

void mig_error_where(mig_ctx *ctx, const char *file, int line)
{
    mig_buf_clear(&ctx->err_file);
    mig_buf_puts(&ctx->err_file, file ? file : "");
    ctx->err_line = line;
}

void mig_error_clear(mig_ctx *ctx)
{
    ctx->err_code = 0;
    ctx->err_line = 0;
    mig_buf_clear(&ctx->err_message);
    mig_buf_clear(&ctx->err_detail);
    mig_buf_clear(&ctx->err_hint);
    mig_buf_clear(&ctx->err_file);
    mig_buf_clear(&ctx->err_origin);
}

/* The error's buffers, in one order for both sides of a move. */
#define ERROR_BUFS(c, pre)                                                                              \
    {                                                                                                   \
        &(c)->pre##message, &(c)->pre##detail, &(c)->pre##hint, &(c)->pre##file, &(c)->pre##origin      \
    }

void mig_error_save(mig_ctx *ctx, mig_error_state *st)
{
    mig_buf *from[] = ERROR_BUFS(ctx, err_);
    mig_buf *to[] = ERROR_BUFS(st, );
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        *to[i] = *from[i];
        mig_buf_init(from[i]);
    }
    st->code = ctx->err_code;
    st->line = ctx->err_line;
    ctx->err_code = 0;
    ctx->err_line = 0;
}

int mig_error_restore(mig_ctx *ctx, mig_error_state *st)
{
    mig_buf *to[] = ERROR_BUFS(ctx, err_);
    mig_buf *from[] = ERROR_BUFS(st, );
    int keep = st->code != 0;
    for (size_t i = 0; i < sizeof from / sizeof from[0]; i++) {
        if (keep) {
            mig_buf_release(to[i]);
            *to[i] = *from[i];
            mig_buf_init(from[i]);
        } else {
            mig_buf_release(from[i]);
        }
    }
    if (keep) {
        ctx->err_code = st->code;
        ctx->err_line = st->line;
    }
    st->code = 0;
    st->line = 0;
    return ctx->err_code;
}

const mig_error *mig_last_error(const mig_ctx *ctx)
{
    static const mig_error oom = { MIG_ENOMEM, "out of memory", "", "", "", 0, "" };
    if (ctx == NULL)
        return &oom;
    mig_ctx *c = (mig_ctx *)ctx; /* the view is a cache, logically const */
    c->err_view.code = ctx->err_code;
    c->err_view.message = ctx->err_message.oom ? "out of memory" : mig_buf_cstr(&ctx->err_message);
    c->err_view.detail = mig_buf_cstr(&ctx->err_detail);
    c->err_view.hint = mig_buf_cstr(&ctx->err_hint);
    c->err_view.file = mig_buf_cstr(&ctx->err_file);
    c->err_view.line = ctx->err_line;
    c->err_view.origin = mig_buf_cstr(&ctx->err_origin);
    return &c->err_view;
}

int mig_exit_status(int rc)
{
    switch (rc) {
    case MIG_OK:
        return 0;
    case MIG_EFAIL:
    case MIG_ENOMEM:
    case MIG_EPARTIAL:
        return 1;
    case MIG_EUSAGE:
    case MIG_ECONFIG:
    case MIG_EREVFILE:
    case MIG_ETARGET:
    case MIG_EDRIVER:
        return 2;
    case MIG_ECHECK:
        return 3;
    case MIG_ELOCK:
        return 4;
    default:
        return 1;
    }
}
