--[[
audit.lua: an example migration hook shipped with mig. It keeps a line in
the table mig_audit for every run and every step, written in the run's own
transaction, so a run that fails leaves no trace of the steps it undid.

    [hooks]
    scripts = hooks/audit.lua

The table is created on first use. Who ran it is taken from -x by=NAME,
else from $USER. The same file works on every driver: it speaks plain SQL
with `?` placeholders, and names its table through db:quote_ident.
]]

local function note(db, ctx, what)
  local by = ctx.x.by or os.getenv("USER") or ""
  db:exec("INSERT INTO " .. db:quote_ident("mig_audit") .. " (what, revision, tenant, by_whom) VALUES (?, ?, ?, ?)",
          what, ctx.revision, ctx.tenant, by)
end

return {
  before_migrate = function(db, ctx)
    db:exec("CREATE TABLE IF NOT EXISTS " .. db:quote_ident("mig_audit") ..
            " (what VARCHAR(32) NOT NULL, revision VARCHAR(64), tenant VARCHAR(200), by_whom VARCHAR(200))")
    note(db, ctx, "start " .. ctx.direction)
  end,
  after_each = function(db, ctx)
    note(db, ctx, ctx.direction)
  end,
  after_migrate = function(db, ctx)
    note(db, ctx, "end " .. ctx.direction)
  end,
  on_error = function(ctx, err)
    ctx.log("audit: the run failed: " .. tostring(err))
  end,
}
