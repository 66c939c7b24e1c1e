-- Headless end-to-end driver for the memlens Neovim plugin, run by
-- editors/nvim_e2e_test.go as
--
--   MEMLENS_E2E='{"bin":…,"line":…,"mode":"lens"|"command","hover_line":…,"out":…}' \
--     nvim --headless -u e2e_init.lua FILE
--
-- It acts as a user would (waits for the "Profile memory" lens on the
-- function's line, runs it or :MemlensProfile, opens the hover, runs
-- :MemlensClear) and writes what Neovim shows, read back from extmarks, lenses
-- and the hover window, as JSON to plan.out. The Go test judges it.
local plan = vim.fn.json_decode(os.getenv('MEMLENS_E2E'))
local here = debug.getinfo(1, 'S').source:sub(2)
local plugin_dir = vim.fn.fnamemodify(here, ':p:h:h')
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'

local report = { messages = {}, steps = {} }

local function step(name)
  table.insert(report.steps, name)
end

local function finish(err)
  report.error = err
  local f = assert(io.open(plan.out, 'w'))
  f:write(vim.fn.json_encode(report))
  f:close()
  if err then
    vim.cmd('cquit!')
  else
    vim.cmd('qall!')
  end
end

-- Record what the server says to the user; an error message ends the test.
local show_message = vim.lsp.handlers['window/showMessage']
vim.lsp.handlers['window/showMessage'] = function(err, result, ctx, config)
  if result then
    table.insert(report.messages, { type = result.type, message = result.message })
  end
  return show_message(err, result, ctx, config)
end

local memlens = require('memlens')
local hints = require('memlens.hints')
memlens.setup({ cmd = { plan.bin, 'serve' }, native_inlay_hints = false })

local function wait(ms, what, cond)
  if not vim.wait(ms, cond, 100) then
    error('timed out after ' .. ms .. ' ms waiting for ' .. what, 0)
  end
end

local function hint_marks(buf)
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, hints.ns, 0, -1, { details = true })) do
    local texts = {}
    for _, chunk in ipairs(m[4].virt_text or {}) do
      table.insert(texts, chunk[1])
    end
    table.insert(out, { line = m[2] + 1, text = table.concat(texts), pos = m[4].virt_text_pos })
  end
  return out
end

local function lenses(buf)
  local out = {}
  for _, l in ipairs(vim.lsp.codelens.get(buf) or {}) do
    if l.command then
      table.insert(out, { line = l.range.start.line + 1, title = l.command.title, command = l.command.command })
    end
  end
  table.sort(out, function(a, b)
    return a.line < b.line or (a.line == b.line and a.title < b.title)
  end)
  return out
end

local function has_lens(buf, line, pattern)
  for _, l in ipairs(lenses(buf)) do
    if l.line == line and l.title:find(pattern) then
      return true
    end
  end
  return false
end

local function error_message()
  for _, m in ipairs(report.messages) do
    if m.type == vim.lsp.protocol.MessageType.Error then
      return m.message
    end
  end
end

local function float_text()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local buf = vim.api.nvim_win_get_buf(win)
      return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n')
    end
  end
end

local function run()
  local buf = vim.api.nvim_get_current_buf()
  wait(20000, 'the memlens client', function()
    local c = memlens.client(buf)
    return c ~= nil and c.initialized
  end)
  step('attached')

  -- Lenses are requested on attach, maybe before the server parsed the file:
  -- ask again until the lens is there.
  local found = false
  for _ = 1, 40 do
    memlens.refresh_lenses(buf)
    if vim.wait(500, function()
      return has_lens(buf, plan.line, '^Profile memory')
    end, 50) then
      found = true
      break
    end
  end
  if not found then
    error('no "Profile memory" lens on line ' .. plan.line .. '; lenses: ' .. vim.inspect(lenses(buf)), 0)
  end
  report.lenses_before = lenses(buf)
  step('lens')

  vim.api.nvim_win_set_cursor(0, { plan.line, 0 })
  if plan.mode == 'lens' then
    vim.lsp.codelens.run()
  else
    vim.cmd('MemlensProfile')
  end
  step('profile started')

  wait(plan.timeout_ms or 120000, 'hints', function()
    return error_message() ~= nil or #hint_marks(buf) > 0
  end)
  if error_message() then
    error('server: ' .. error_message(), 0)
  end
  -- The summary lens arrives with the codeLens refresh sent with the hints.
  wait(20000, 'the summary lens', function()
    return has_lens(buf, plan.line, '^memory:')
  end)
  report.hints = hint_marks(buf)
  report.lenses_after = lenses(buf)
  step('hints')

  -- Hover as a user does: cursor on the line, K, read the float. The float
  -- closes on CursorMoved, so open it a tick after moving.
  vim.api.nvim_win_set_cursor(0, { plan.hover_line, 0 })
  vim.defer_fn(vim.lsp.buf.hover, 50)
  wait(10000, 'the hover window', function()
    return float_text() ~= nil
  end)
  report.hover = float_text()
  step('hover')
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      vim.api.nvim_win_close(win, true)
    end
  end

  vim.cmd('MemlensClear')
  wait(10000, 'the "Profile memory" lens back', function()
    return has_lens(buf, plan.line, '^Profile memory')
  end)
  -- The plugin blanks its hints at once; ask the server again to see that
  -- it dropped them too.
  hints.request(memlens.client(buf), buf)
  vim.wait(1000)
  report.hints_after_clear = hint_marks(buf)
  step('cleared')
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = pcall(run)
      finish(not ok and tostring(err) or nil)
    end)
  end,
})
