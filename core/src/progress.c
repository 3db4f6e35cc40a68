/*
 * Progress of the running step. Into a pipe or a log file a step is two
 * lines, `upgrade A -> B  message ...` when it begins and `upgrade A -> B
 * message  (4 ms)` when it ends, with a progress line from ctx.progress at
 * most every PLAIN_EVERY_MS in between: a log that gains a line per batch
 * of a long backfill is a log nobody reads. A caller that draws a live
 * line (the CLI on a terminal) takes the events instead.
 */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"

#define PLAIN_EVERY_MS 5000.0

double mig_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void mig_set_event_callback(mig_ctx *ctx, mig_event_fn fn, void *payload)
{
    ctx->event_fn = fn;
    ctx->event_payload = payload;
}

/* "12 s", "3 min 5 s", "2 h 4 min": as far as a person cares to know. */
static void put_duration(mig_buf *b, double ms)
{
    long s = (long)(ms / 1000.0 + 0.5);
    if (s < 60)
        mig_buf_printf(b, "%ld s", s);
    else if (s < 3600)
        mig_buf_printf(b, "%ld min %ld s", s / 60, s % 60);
    else
        mig_buf_printf(b, "%ld h %ld min", s / 3600, s % 3600 / 60);
}

/* "1200/5000 (24%, 310/s, about 12 s left)", or "1200 done (310/s)" without a total. */
static void put_detail(mig_buf *b, const mig_prog *p, double elapsed)
{
    if (p->done < 0)
        return;
    double rate = elapsed > 0 ? (double)p->done * 1000.0 / elapsed : 0;
    if (p->total >= 0) {
        double pct = p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 100.0;
        mig_buf_printf(b, "%lld/%lld (%.0f%%", (long long)p->done, (long long)p->total, pct);
        if (rate > 0) {
            mig_buf_printf(b, ", %.0f/s", rate);
            double left = (double)(p->total - p->done) * 1000.0 / rate;
            if (p->done < p->total && left >= 1000.0) {
                mig_buf_puts(b, ", about ");
                put_duration(b, left);
                mig_buf_puts(b, " left");
            } else if (p->done < p->total) {
                mig_buf_puts(b, ", under 1 s left");
            }
        }
        mig_buf_putc(b, ')');
    } else {
        mig_buf_printf(b, "%lld done", (long long)p->done);
        if (rate > 0)
            mig_buf_printf(b, " (%.0f/s)", rate);
    }
}

/*
 * A step's milliseconds as "%.0f" writes them (the nearest integer, a tie
 * to the even one), without printf: a run of 1,000 revisions ends 1,000
 * steps, and printf's two passes over a double were a third of each line.
 */
static void put_ms(mig_buf *b, double ms)
{
    if (!(ms >= 0 && ms < 1e15)) {
        mig_buf_printf(b, "%.0f", ms);
        return;
    }
    char digits[24];
    size_t n = sizeof digits;
    unsigned long long v = (unsigned long long)llrint(ms);
    do
        digits[--n] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    mig_buf_put(b, digits + n, sizeof digits - n);
}

static void emit(mig_ctx *ctx, mig_event_kind ev, int failed)
{
    if (!mig_progress_wanted(ctx))
        return;
    mig_prog *p = &ctx->prog;
    double elapsed = mig_now_ms() - p->t0;
    mig_buf detail = MIG_BUF_INIT, line = MIG_BUF_INIT;
    put_detail(&detail, p, elapsed);
    if (ctx->tenant)
        mig_buf_printf(&line, "tenant %s: ", ctx->tenant);
    mig_buf_puts(&line, mig_buf_cstr(&p->step));
    if (ev == MIG_EVENT_STEP_END) {
        mig_buf_puts(&line, failed ? "  failed (" : "  (");
        put_ms(&line, elapsed);
        mig_buf_puts(&line, " ms)");
    } else if (detail.len)
        mig_buf_printf(&line, " ... %s", mig_buf_cstr(&detail));
    else
        mig_buf_puts(&line, " ...");
    if (ctx->event_fn) {
        mig_event e = { ev,
                        mig_buf_cstr(&p->step),
                        mig_buf_cstr(&detail),
                        mig_buf_cstr(&line),
                        "",
                        elapsed,
                        failed,
                        ctx->tenant };
        ctx->event_fn(ctx->event_payload, &e);
    } else if (!line.oom) {
        /* the line as it is: mig_log would format it again */
        ctx->log_fn(ctx->log_payload, MIG_LOG_INFO, mig_buf_cstr(&line));
    }
    mig_buf_release(&detail);
    mig_buf_release(&line);
}

int mig_progress_wanted(const mig_ctx *ctx)
{
    return ctx->event_fn != NULL || !ctx->opts.quiet;
}

void mig_progress_begin(mig_ctx *ctx, const char *direction, const char *from, const char *to,
                        const char *message)
{
    mig_prog *p = &ctx->prog;
    mig_buf_clear(&p->step);
    if (!mig_progress_wanted(ctx)) {
        /* still a step in progress (the runner records a failed one by it), just no line */
        p->active = 1;
        p->done = p->total = -1;
        return;
    }
    /* "%s %s -> %s  %s", put piece by piece: printf formats each step's line twice */
    mig_buf_puts(&p->step, direction);
    mig_buf_putc(&p->step, ' ');
    mig_buf_puts(&p->step, from);
    mig_buf_puts(&p->step, " -> ");
    mig_buf_puts(&p->step, to);
    mig_buf_puts(&p->step, "  ");
    mig_buf_puts(&p->step, message ? message : "");
    p->active = 1;
    p->t0 = p->last_log = mig_now_ms();
    p->done = p->total = -1;
    emit(ctx, MIG_EVENT_STEP_BEGIN, 0);
}

void mig_progress_update(mig_ctx *ctx, int64_t done, int64_t total)
{
    mig_prog *p = &ctx->prog;
    if (!p->active)
        return;
    p->done = done;
    p->total = total;
    if (!ctx->event_fn) {
        double now = mig_now_ms();
        if (now - p->last_log < PLAIN_EVERY_MS)
            return;
        p->last_log = now;
    }
    emit(ctx, MIG_EVENT_PROGRESS, 0);
}

void mig_progress_end(mig_ctx *ctx, int failed)
{
    mig_prog *p = &ctx->prog;
    if (!p->active)
        return;
    emit(ctx, MIG_EVENT_STEP_END, failed);
    p->active = 0;
}

int mig_event_statement(mig_ctx *ctx, const char *sql, size_t len)
{
    if (ctx->event_fn) {
        mig_buf text = MIG_BUF_INIT, line = MIG_BUF_INIT;
        mig_buf_put(&text, sql, len);
        mig_prog *p = &ctx->prog;
        if (ctx->tenant)
            mig_buf_printf(&line, "tenant %s: ", ctx->tenant);
        mig_buf_puts(&line, mig_buf_cstr(&text));
        if (!text.oom && !line.oom) {
            mig_event e = {
                MIG_EVENT_STATEMENT, p->active ? mig_buf_cstr(&p->step) : "", "", mig_buf_cstr(&line),
                mig_buf_cstr(&text), p->active ? mig_now_ms() - p->t0 : 0.0,  0,  ctx->tenant
            };
            ctx->event_fn(ctx->event_payload, &e);
        }
        mig_buf_release(&text);
        mig_buf_release(&line);
    }
    return mig_cancel_check(ctx);
}

int mig_event_warning(mig_ctx *ctx, const char *line)
{
    if (ctx->event_fn == NULL)
        return 0;
    mig_prog *p = &ctx->prog;
    mig_event e = { MIG_EVENT_WARNING,
                    p->active ? mig_buf_cstr(&p->step) : "",
                    "",
                    line,
                    "",
                    p->active ? mig_now_ms() - p->t0 : 0.0,
                    0,
                    ctx->tenant };
    ctx->event_fn(ctx->event_payload, &e);
    return 1;
}

void mig_progress_release(mig_prog *p)
{
    mig_buf_release(&p->step);
    p->active = 0;
}
