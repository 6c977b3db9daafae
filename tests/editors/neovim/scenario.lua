-- Drives one session the way a user would: code action at a function (resolved lazily),
-- hover, instructions for the model on another, the whole-file command with no arguments, :write. Writes what it saw to
-- $SCENARIO_OUT as JSON and exits; any failure exits non-zero with the reason in the JSON.
local out = { messages = {} }

local function finish(code)
  local f = assert(io.open(vim.env.SCENARIO_OUT, 'w'))
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd((code == 0) and 'qall!' or 'cquit! ' .. code)
end

local function wait_for(what, cond)
  if not vim.wait(20000, cond, 20) then
    error('timed out waiting for ' .. what)
  end
end

local function buffer_text()
  return table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
end

local function count(text, needle)
  local n, from = 0, 1
  while true do
    local i = string.find(text, needle, from, true)
    if not i then return n end
    n, from = n + 1, i + 1
  end
end

local function hover()
  local params = vim.lsp.util.make_position_params()
  local results = vim.lsp.buf_request_sync(0, 'textDocument/hover', params, 10000) or {}
  for _, r in pairs(results) do
    if r.result then return r.result.contents.value end
  end
  return vim.NIL
end

local function run()
  vim.lsp.handlers['window/showMessage'] = function(_, result)
    table.insert(out.messages, result.message)
  end
  wait_for('the server', function()
    local clients = vim.lsp.buf_get_clients(0)
    return next(clients) ~= nil and select(2, next(clients)).initialized
  end)

  -- Cursor in add(); pick "Instrument function" from the menu.
  vim.fn.search('return a + b')
  vim.ui.select = function(items, opts, on_choice)
    out.titles = {}
    for i, item in ipairs(items) do
      out.titles[i] = item[2].title
    end
    on_choice(items[1], 1)
  end
  vim.lsp.buf.code_action({ only = { 'refactor.rewrite.telemetry-inject.instrument' } })
  wait_for('the instrumented function', function() return count(buffer_text(), '@_tel.probe(') == 1 end)
  wait_for('the runtime file', function() return vim.fn.filereadable('_telemetry_utils.py') == 1 end)

  vim.fn.search('def add', 'bw')
  vim.cmd('normal! w')
  out.hover_after = hover()

  -- "Instrument with instructions" on fail(), through init.lua's mapping; the text typed.
  vim.fn.search('raise ValueError', 'w')
  vim.fn.input = function() return 'print every call' end
  vim.cmd('normal \\ti')
  wait_for("the model's line", function() return count(buffer_text(), 'print("CALL", "fail")') == 1 end)
  wait_for('its message', function() return #out.messages > 0 end)
  out.instructions_messages, out.messages = out.messages, {}

  -- The command as a palette sends it: no arguments.
  vim.lsp.buf.execute_command({ command = 'telemetry-inject.instrumentFile' })
  wait_for('the whole file', function() return count(buffer_text(), '@_tel.probe(') == 3 end)
  wait_for('the summary', function() return #out.messages > 0 end)
  vim.cmd('write')
  out.written = true
  finish(0)
end

local ok, err = pcall(run)
if not ok then
  out.error = tostring(err)
  finish(1)
end
