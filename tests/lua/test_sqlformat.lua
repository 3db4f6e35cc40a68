-- Tests of hooks/sqlformat.lua, run with the lua5.4 interpreter:
--
--     lua5.4 tests/lua/test_sqlformat.lua SRC_DIR
--     lua5.4 tests/lua/test_sqlformat.lua SRC_DIR --print FILE   (show a file formatted)
--
-- Every fixture tests/fixtures/lua/sqlformat/NAME.sql is formatted and
-- checked for: the expected text (NAME.expected, when present), idempotence,
-- a header kept byte for byte, and the same tokens as before (words
-- compared without case; strings, quoted names, dollar bodies and comments
-- compared exactly), so the statements still mean what they meant.

local src = assert(arg[1], "usage: test_sqlformat.lua SRC_DIR")
local sf = dofile(src .. "/hooks/sqlformat.lua")
local fixtures = src .. "/tests/fixtures/lua/sqlformat/"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

if arg[2] == "--print" then
  io.write(sf.format_file(assert(read(arg[3]))))
  return
end

local fails, count = 0, 0
local function check(ok, name, msg)
  count = count + 1
  if not ok then
    fails = fails + 1
    io.stderr:write("FAIL: ", name, ": ", msg, "\n")
  end
end

local function header(text)
  local h = {}
  for line in text:gmatch("[^\n]*\n?") do
    if line:match("^%s*%-%-%s*mig:upgrade%s*$") or line:match("^%s*%-%-%s*mig:downgrade%s*$") or line == "" then
      break
    end
    h[#h + 1] = line
  end
  return table.concat(h)
end

-- the tokens of the SQL sections, words in lower case
local function tokens(text)
  local out = {}
  local in_body = false
  local body = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do
    if line:match("^%s*%-%-%s*mig:%a+grade%s*$") then
      in_body = true
      body[#body + 1] = "\n;\n"
    elseif in_body then
      body[#body + 1] = line .. "\n"
    end
  end
  local toks = sf._lex(table.concat(body), false)
  if not toks then return nil end
  for _, t in ipairs(toks) do
    out[#out + 1] = t.kind .. ":" .. (t.kind == "word" and t.text:lower() or t.text)
  end
  return table.concat(out, "\1")
end

-- fixtures, in a stable order
local names = {}
local p = io.popen('ls "' .. fixtures .. '"')
for f in p:lines() do
  local n = f:match("^(.*)%.sql$")
  if n then names[#names + 1] = n end
end
p:close()
check(#names >= 5, "fixtures", "found only " .. #names .. " fixtures in " .. fixtures)

for _, name in ipairs(names) do
  local input = assert(read(fixtures .. name .. ".sql"))
  local once = sf.format_file(input)
  local twice = sf.format_file(once)
  check(twice == once, name, "not idempotent:\n" .. once .. "\n--- formatted again ---\n" .. twice)
  check(header(once) == header(input), name, "header changed")
  check(tokens(once) == tokens(input), name, "tokens changed")
  local expected = read(fixtures .. name .. ".expected")
  if expected then
    check(once == expected, name, "differs from " .. name .. ".expected:\n" .. once)
  end
end

-- pieces of SQL, formatted on their own
local cases = {
  -- strings keep their spaces, quotes and semicolons
  { "select 'a  ;  b', 'it''s' from t", "SELECT 'a  ;  b', 'it''s'\nFROM t" },
  -- a dollar-quoted body is left as it is
  { "do $body$ begin  perform 1;  end $body$;", "DO $body$ begin  perform 1;  end $body$;" },
  -- quoted names keep their case; a qualified name is not a keyword
  { 'select "Select", t.order from "From" t', 'SELECT "Select", t.order\nFROM "From" t' },
  -- a name that could be a keyword stays as written where a name stands
  { "create table date (date date)", "CREATE TABLE date (\n    date DATE\n)" },
  -- comments stay, and a line comment still ends its line
  { "select 1 -- one\n, 2", "SELECT 1 -- one\n    , 2" },
  -- lower case on request
  { "SELECT A FROM B", "select A\nfrom B", { case = "lower" } },
  -- a backslash in a string: MySQL and PostgreSQL read it differently, so hands off
  { "select  'a\\'  ,  'b'", "select  'a\\'  ,  'b'" },
  -- nested comments (PostgreSQL) versus flat ones (MySQL): hands off
  { "select /* a /* b */ c */  1", "select /* a /* b */ c */  1" },
  -- MySQL line comments with '#' at the start of a line
  { "select 1\n# note\nfrom t", "SELECT 1\n    # note\nFROM t" },
  -- IS DISTINCT FROM and DELETE FROM are not clauses of their own
  { "delete from t where a is distinct from b", "DELETE FROM t\nWHERE a IS DISTINCT FROM b" },
  -- an unterminated quote: left alone
  { "select 'oops", "select 'oops" },
  -- a UTF-8 string and name survive
  { "insert into t (nom) values ('déjà vu ✓')", "INSERT INTO t (nom)\nVALUES ('déjà vu ✓')" },
  -- ON CONFLICT starts a clause, SET of an INSERT does not
  { "insert into t (a) values (1) on conflict (a) do update set a = 2",
    "INSERT INTO t (a)\nVALUES (1)\nON CONFLICT (a) DO UPDATE SET a = 2" },
}
for i, c in ipairs(cases) do
  local got = sf.format_sql(c[1], c[3])
  check(got == c[2], "case " .. i, "\n  input:    " .. c[1] .. "\n  got:      " .. got .. "\n  expected: " .. c[2])
  check(sf.format_sql(got, c[3]) == got, "case " .. i, "not idempotent: " .. got)
end

-- the hook itself: rewrites a .sql file in place, leaves a .lua file alone
local tmp = os.tmpname()
local sqlpath, luapath = tmp .. ".sql", tmp .. ".lua"
local function write(path, s) local f = assert(io.open(path, "wb")); f:write(s); f:close() end
write(sqlpath, "-- mig:revision ab\n-- mig:upgrade\nselect 1 from t;\n")
write(luapath, "-- mig:revision ab\nreturn { upgrade = function(db) db:exec('select 1 from t') end }\n")
sf(sqlpath, { x = {} })
sf(luapath, { x = {} })
check(read(sqlpath) == "-- mig:revision ab\n-- mig:upgrade\nSELECT 1\nFROM t;\n", "hook", "sql file: " .. tostring(read(sqlpath)))
check(read(luapath):find("db:exec('select 1 from t')", 1, true) ~= nil, "hook", "a lua revision was changed")
os.remove(sqlpath)
os.remove(luapath)
os.remove(tmp)

print(string.format("%d passed, %d failed", count - fails, fails))
os.exit(fails == 0 and 0 or 1)
