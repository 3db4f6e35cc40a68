-- mig:revision 6f708192a3b4
-- mig:down_revision 5e6f708192a3
-- mig:message backfill display names from emails
-- mig:create_date 2026-11-26 06:25:00

-- A data migration in Lua: users without a display name get one made from
-- their email ("linus@example.com" -> "Linus"). It streams the rows with
-- db:rows and updates each one on the same connection, in the same
-- transaction as the SQL revisions around it.
local function from_email(email)
  local name = email:match("^([^@]+)@") or email
  return name:sub(1, 1):upper() .. name:sub(2)
end

return {
  upgrade = function(db, ctx)
    local n = 0
    for row in db:rows("SELECT id, email FROM users WHERE display_name IS NULL ORDER BY id") do
      db:exec("UPDATE users SET display_name = ? WHERE id = ?", from_email(row.email), row.id)
      n = n + 1
    end
    ctx.log(("named %d user(s) after their email"):format(n))
  end,

  downgrade = function(db, ctx)
    -- only the names this revision made: they are exactly what from_email gives
    for row in db:rows("SELECT id, email, display_name FROM users WHERE display_name IS NOT NULL") do
      if row.display_name == from_email(row.email) then
        db:exec("UPDATE users SET display_name = NULL WHERE id = ?", row.id)
      end
    end
  end,
}
