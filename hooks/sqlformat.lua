--[[
sqlformat.lua: the SQL formatter shipped with mig, as a post-write hook.

    [post_write_hooks]
    hooks = sqlformat
    sqlformat.type = lua
    sqlformat.script = hooks/sqlformat.lua

It rewrites the `-- mig:upgrade` and `-- mig:downgrade` sections of a .sql
revision: keywords in one case (upper by default; -x sqlformat_case=lower),
one clause per line, four spaces per level of nesting, one column per line
in CREATE TABLE, one row per line in a VALUES list of several rows, and
single spaces elsewhere. What it never changes: the header (every line
above the first section), the marker lines, string literals, quoted
identifiers, dollar-quoted bodies and comments. Empty sections are left as
they are, so a fresh revision keeps its room to type in. Lua revisions are
left alone.

It only moves white space and changes the case of keywords, so the
statements mean what they meant. Where the lexical rules of the databases
disagree about a section (a backslash in a string: an escape for MySQL,
a plain character for PostgreSQL; nested block comments), that section is
left exactly as it was rather than guessed at.

Formatting is idempotent: a formatted file formats to itself.

Use from Lua:
    local sqlformat = require "sqlformat"   -- or dofile("hooks/sqlformat.lua")
    sqlformat.format_sql(text [, opts])      -- a piece of SQL
    sqlformat.format_file(text [, opts])     -- a whole revision file
    sqlformat(path, ctx)                     -- the hook: rewrites path
opts: { case = "upper" | "lower" | "keep", indent = "    " }
]]

local M = {}

local INDENT = "    "

-- Reserved words: never unquoted table names on any driver, so their case
-- can change safely anywhere.
local RESERVED = {}
for w in ([[
add all alter analyze and any as asc before between bigint binary blob both
by cascade case change char character check collate column constraint
convert create cross current_date current_time current_timestamp
current_user database decimal default delete desc distinct double drop
else elseif end except exists explain false fetch float for foreign from
full fulltext grant group having if ignore ilike in index inner insert int
integer intersect interval into is join key keys lateral leading left like
limit lock match natural not null numeric offset on only or order outer over
partition primary procedure references rename replace restrict returning
right select set smallint table then to trigger true union unique unsigned
update using values varchar when where window with
]]):gmatch("%S+") do RESERVED[w] = true end

-- Words that are keywords in most places but could name a table: their
-- case changes only where a name cannot stand.
local SOFT = {}
for w in ([[
action autoincrement auto_increment begin bigserial bool boolean bytea
commit concurrently conflict cycle date do each function json jsonb
language materialized no nothing owned plpgsql real replace restart returns
rollback row rows sequence serial temp temporary text time timestamp
timestamptz transaction truncate unlogged uuid view zone
]]):gmatch("%S+") do SOFT[w] = true end

-- After these, a word is a name (a table, an alias, a column).
local NAME_AFTER = {
  ["from"] = true, ["join"] = true, ["into"] = true, ["update"] = true,
  ["table"] = true, ["exists"] = true, ["references"] = true, ["on"] = true,
  ["as"] = true, ["index"] = true, ["view"] = true, [","] = true, ["("] = true,
  ["."] = true, ["sequence"] = true, ["trigger"] = true, ["function"] = true,
  ["column"] = true, ["constraint"] = true, ["to"] = true, ["type"] = true,
}

-- Words that start a clause on its own line.
local CLAUSE = {
  select = true, from = true, where = true, group = true, having = true,
  order = true, limit = true, offset = true, union = true, intersect = true,
  except = true, window = true, returning = true, values = true, set = true,
  join = true, inner = true, left = true, right = true, full = true,
  cross = true, natural = true, on = true,
}

------------------------------------------------------------------------
-- Lexer

--[[
Tokens: { kind, text, ws } where ws is the white space before the token.
Kinds: word, number, string (any quoted text), dollar, comment, lcomment
(a line comment, without its newline), op, punct ( ( ) , ; . ).
mysql_rules: backslash escapes in quotes, no nesting of /* */.
]]
-- The index of the closing quote of the quoted text opening at i.
local function scan_quote(s, i, q, escapes)
  local j = i + 1
  while true do
    local ch = s:sub(j, j)
    if ch == "" then return nil end
    if ch == "\\" and escapes then
      j = j + 2
    elseif ch == q then
      if s:sub(j + 1, j + 1) == q then j = j + 2 else return j end
    else
      j = j + 1
    end
  end
end

local function lex(s, mysql_rules)
  local toks = {}
  local i, n = 1, #s
  local ws_start = 1
  local line_start = true -- only white space since the last newline
  local function push(kind, j)
    toks[#toks + 1] = { kind = kind, text = s:sub(i, j), ws = s:sub(ws_start, i - 1) }
    i = j + 1
    ws_start = i
    line_start = false
  end
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      if c == "\n" then line_start = true end
      i = i + 1
    elseif c == "-" and s:sub(i + 1, i + 1) == "-" or (c == "#" and line_start) then
      local e = s:find("\n", i, true)
      push("lcomment", (e or n + 1) - 1)
    elseif c == "/" and s:sub(i + 1, i + 1) == "*" then
      local depth, j = 1, i + 2
      while j <= n and depth > 0 do
        local two = s:sub(j, j + 1)
        if two == "*/" then depth = depth - 1; j = j + 2
        elseif two == "/*" and not mysql_rules then depth = depth + 1; j = j + 2
        else j = j + 1 end
      end
      if depth > 0 then return nil, "unterminated comment" end
      push("comment", j - 1)
    elseif c == "'" or c == '"' or c == "`" then
      local j = scan_quote(s, i, c, mysql_rules and c ~= "`")
      if not j then return nil, "unterminated quote" end
      push("string", j)
    elseif c == "$" and s:match("^%$[%a_][%w_]*%$", i) or s:sub(i, i + 1) == "$$" then
      local tag = s:match("^%$[%a_]?[%w_]*%$", i)
      local e = s:find(tag, i + #tag, true)
      if not e then return nil, "unterminated dollar quote" end
      push("dollar", e + #tag - 1)
    elseif c:match("[%a_\128-\255]") then
      local j = i
      while s:sub(j + 1, j + 1):match("^[%w_$\128-\255]$") do j = j + 1 end
      -- E'...' (backslash escapes), B'...', X'...', N'...': one token
      if j == i and s:sub(j + 1, j + 1) == "'" and c:match("[eEbBxXnN]") then
        local e = scan_quote(s, j + 1, "'", mysql_rules or c == "e" or c == "E")
        if not e then return nil, "unterminated quote" end
        push("string", e)
      else
        push("word", j)
      end
    elseif c:match("%d") or (c == "." and s:sub(i + 1, i + 1):match("%d")) then
      local j = i
      local num = s:match("^%d*%.?%d*[eE][%+%-]?%d+", i) or s:match("^%d*%.?%d*", i)
      j = i + #num - 1
      push("number", j)
    elseif c:match("[%(%),;%.%[%]]") then
      push("punct", i)
    else
      local j = i
      while s:sub(j + 1, j + 1):match("^[%+%-%*/<>=~!@#%%%^&|%?:]$")
        and s:sub(j + 1, j + 2) ~= "--" and s:sub(j + 1, j + 2) ~= "/*" do
        j = j + 1
      end
      push("op", j)
    end
  end
  return toks, nil, s:sub(ws_start)
end

local function same_tokens(a, b)
  if #a ~= #b then return false end
  for k = 1, #a do
    if a[k].kind ~= b[k].kind or a[k].text ~= b[k].text then return false end
  end
  return true
end

------------------------------------------------------------------------
-- Layout

local function lower(t) return t.kind == "word" and t.text:lower() or t.text end

local function nl_count(ws)
  local _, k = ws:gsub("\n", "")
  return k
end

-- The next token that is not a comment, from index k.
local function next_sig(toks, k)
  while toks[k] and (toks[k].kind == "comment" or toks[k].kind == "lcomment") do k = k + 1 end
  return toks[k], k
end

local function format_tokens(toks, opts)
  local case = opts.case or "upper"
  local ind = opts.indent or INDENT
  local out = {}
  local function put(s) out[#out + 1] = s end

  -- contexts: { kind = "query" | "list" | "inline", level = n }
  local stack = {}
  local level = 0            -- indentation of the current query level
  local stmt = {}            -- significant words of the statement so far (lowercase)
  local prev = nil           -- previous significant token (lowercased text)
  local prev_tok = nil       -- previous token of any kind
  local first_in_query = true
  local clause = nil         -- current clause word at this level
  local values_multi = false -- a VALUES list of several rows at this level
  local pending_break = nil  -- a newline the layout owes before the next token
  local at_start = true      -- nothing written yet

  local function newline(lv, blank)
    if at_start then return end
    put(blank and "\n\n" or "\n")
    put(ind:rep(lv))
  end

  -- Does the VALUES keyword at index k have several rows?
  local function several_rows(k)
    local depth = 0
    for j = k + 1, #toks do
      local t = toks[j]
      if t.text == "(" then depth = depth + 1
      elseif t.text == ")" then depth = depth - 1; if depth < 0 then return false end
      elseif t.text == ";" and depth == 0 then return false
      elseif t.text == "," and depth == 0 then return true
      elseif t.kind == "word" and depth == 0 and CLAUSE[t.text:lower()] then return false end
    end
    return false
  end

  -- Is this statement a CREATE ... TABLE whose first parenthesis is opening?
  local function table_list()
    if stmt[1] ~= "create" then return false end
    for k = 2, #stmt do
      local w = stmt[k]
      if w == "table" then return true end
      if not (w == "temp" or w == "temporary" or w == "unlogged" or w == "global"
              or w == "local" or w == "or" or w == "replace") then
        return false
      end
    end
    return false
  end

  local function case_word(t, k)
    local w = t.text:lower()
    if case == "keep" then return t.text end
    local is_kw = RESERVED[w]
    if not is_kw and SOFT[w] then
      local nx = toks[k + 1]
      is_kw = not NAME_AFTER[prev or ""] and not (nx and nx.text == ".")
    end
    if w == "conflict" and prev == "on" then is_kw = true end
    if prev == "." then is_kw = false end
    if not is_kw then return t.text end
    return case == "lower" and w or w:upper()
  end

  for k, t in ipairs(toks) do
    local lw = lower(t)
    local sep -- "", " ", or "\n" (then indentation follows)
    local lv = level
    local blank = false
    local orig_nl = nl_count(t.ws) > 0

    if t.kind == "lcomment" or t.kind == "comment" then
      if at_start then sep = ""
      elseif orig_nl or (prev_tok and prev_tok.kind == "lcomment") then
        sep = "\n"
        blank = #stack == 0 and #stmt == 0 and nl_count(t.ws) > 1
      else sep = (t.ws ~= "" or pending_break) and " " or "" end
      if sep == "\n" and #stmt > 0 then lv = level + (pending_break and 0 or 1) end
      if pending_break and sep == "\n" then lv = pending_break end
    else
      local top = stack[#stack]
      local in_query = top == nil or top.kind == "query"
      if #stmt == 0 then
        -- a new statement
        sep = at_start and "" or "\n"
        blank = nl_count(t.ws) > 1
        lv = 0
        level, first_in_query, clause, values_multi = 0, true, nil, false
      elseif t.text == ")" and top and (top.kind == "query" or top.kind == "list") then
        sep, lv = "\n", top.level
      elseif t.kind == "word" and in_query and CLAUSE[lw] and not first_in_query then
        -- which words really start a clause here
        local brk = true
        local nx = next_sig(toks, k + 1)
        local nxw = nx and lower(nx) or ""
        if lw == "from" and (prev == "delete" or prev == "distinct") then brk = false end
        if lw == "set" and stmt[1] ~= "update" then brk = false end
        if lw == "values" and not (stmt[1] == "insert" or stmt[1] == "replace" or prev == "(") then
          brk = false
        end
        if lw == "on" then brk = nxw == "conflict" end
        if (lw == "left" or lw == "right" or lw == "full" or lw == "inner" or lw == "cross"
            or lw == "natural") then
          brk = nxw == "join" or nxw == "outer" or nxw == "inner" or nxw == "left" or nxw == "right"
        end
        if lw == "join" and (prev == "left" or prev == "right" or prev == "full" or prev == "inner"
            or prev == "cross" or prev == "natural" or prev == "outer") then
          brk = false
        end
        if (lw == "outer" or lw == "inner" or lw == "left") and (prev == "natural" or prev == "left"
            or prev == "right" or prev == "full") then
          brk = false
        end
        if lw == "select" and (prev == "union" or prev == "all" or prev == "intersect"
            or prev == "except" or prev == "distinct") then
          brk = prev ~= "distinct"
        end
        if (lw == "order" or lw == "group") and nxw ~= "by" then brk = false end
        if lw == "window" and stmt[1] ~= "select" and stmt[1] ~= "with" then brk = false end
        if lw == "offset" and nxw == "(" then brk = false end
        if lw == "limit" and nxw == "(" then brk = false end
        if brk then
          sep, lv = "\n", level
          clause = lw
          if lw == "values" then values_multi = several_rows(k) end
        end
      end
      if not sep and pending_break then
        sep, lv = "\n", pending_break
      elseif not sep and prev_tok and prev_tok.kind == "lcomment" then
        sep, lv = "\n", level + 1
      end
      if not sep then
        if t.text == "," or t.text == ";" or t.text == ")" then sep = ""
        elseif prev_tok and prev_tok.text == "(" then sep = ""
        elseif prev_tok and prev_tok.text == "," then sep = " "
        elseif t.ws ~= "" then sep = " "
        else sep = "" end
      end
    end

    if sep == "\n" then newline(lv, blank) else put(sep) end
    -- a newline the layout owes survives comments, for the token after them
    if t.kind ~= "comment" and t.kind ~= "lcomment" then pending_break = nil end

    -- the token itself
    if t.kind == "word" then put(case_word(t, k)) else put(t.text) end
    at_start = false

    -- what it changes for the next one
    if t.kind ~= "comment" and t.kind ~= "lcomment" then
      local top = stack[#stack]
      if t.text == "(" then
        local nx = next_sig(toks, k + 1)
        local nxw = nx and lower(nx) or ""
        if nxw == "select" or nxw == "with" then
          stack[#stack + 1] = { kind = "query", level = level, saved = { level, first_in_query, clause, values_multi } }
          level = level + 1
          first_in_query, clause, values_multi = true, nil, false
          pending_break = level
        elseif (top == nil) and table_list() and not stmt.seen_paren then
          stack[#stack + 1] = { kind = "list", level = level }
          pending_break = level + 1
        else
          stack[#stack + 1] = { kind = "inline", level = level }
        end
        stmt.seen_paren = true
      elseif t.text == ")" then
        local ctx = table.remove(stack)
        if ctx and ctx.kind == "query" then
          level, first_in_query, clause, values_multi = table.unpack(ctx.saved)
        end
      elseif t.text == "," then
        if top and top.kind == "list" then
          pending_break = top.level + 1
        elseif (top == nil or top.kind == "query") and clause == "values" and values_multi then
          pending_break = level + 1
        end
      elseif t.text == ";" and #stack == 0 then
        stmt = {}
      end
      if t.text ~= ";" then
        if t.kind == "word" then stmt[#stmt + 1] = lw
        elseif #stmt == 0 then stmt[1] = lw end
      end
      if lw == "values" and clause == "values" and values_multi then pending_break = level + 1 end
      if t.kind == "word" and (top == nil or top.kind == "query") then first_in_query = false end
      if t.text == ";" then first_in_query = true end
      prev = lw
    end
    prev_tok = t
  end
  return table.concat(out)
end

--- Format a piece of SQL. Returns the text unchanged where the databases'
--- lexical rules disagree about it, or it cannot be read (an open quote).
function M.format_sql(text, opts)
  opts = opts or {}
  local a = lex(text, false)
  local b = lex(text, true)
  if not a or not b or not same_tokens(a, b) then return text end
  if #a == 0 then return text end
  return format_tokens(a, opts)
end

------------------------------------------------------------------------
-- Revision files

local function marker(line)
  local w = line:match("^%s*%-%-%s*mig:(%a+)%s*$")
  if w == "upgrade" or w == "downgrade" then return w end
  return nil
end

--- Format the sections of a revision file; the header and markers stay.
function M.format_file(text, opts)
  local lines = {}
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("(.-)\n") do
    lines[#lines + 1] = line
  end
  local out = {}
  local k = 1
  -- the header: everything above the first marker, byte for byte
  while k <= #lines and not marker(lines[k]) do
    out[#out + 1] = lines[k] .. "\n"
    k = k + 1
  end
  while k <= #lines do
    out[#out + 1] = lines[k] .. "\n" -- the marker
    k = k + 1
    local body = {}
    while k <= #lines and not marker(lines[k]) do
      body[#body + 1] = lines[k]
      k = k + 1
    end
    local sql = table.concat(body, "\n")
    local last = k > #lines
    if sql:match("^%s*$") then
      -- an empty section keeps its room to type in
      out[#out + 1] = #body > 0 and (sql .. "\n") or ""
    else
      local f = M.format_sql(sql, opts)
      if f == sql then
        out[#out + 1] = sql .. "\n"
      else
        out[#out + 1] = f:gsub("^%s+", ""):gsub("%s+$", "") .. "\n" .. (last and "" or "\n")
      end
    end
  end
  local result = table.concat(out)
  if text:sub(-1) ~= "\n" and result:sub(-1) == "\n" and not text:find("\n") then
    result = result:sub(1, -2)
  end
  return result
end

--- The post-write hook: format the file at path in place (SQL revisions only).
local function hook(_, path, ctx)
  if not path:match("%.sql$") then return end
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local opts = {}
  if ctx and ctx.x and ctx.x.sqlformat_case then opts.case = ctx.x.sqlformat_case end
  local new = M.format_file(text, opts)
  if new ~= text then
    f = assert(io.open(path, "wb"))
    assert(f:write(new))
    assert(f:close())
  end
end

M._lex = lex -- for the tests

return setmetatable(M, { __call = hook })
