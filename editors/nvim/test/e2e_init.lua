-- Headless end-to-end driver for the memlens Neovim plugin, run by
-- editors/nvim_e2e_test.go as
--
--   MEMLENS_E2E='{"bin":…,"plugin_dir":…,"line":…,"mode":"lens"|"command","hover_line":…,"out":…,
--                 "timeline":"lens"|"command" (optional)}' \
--     nvim --headless -u e2e_init.lua FILE
--
-- It acts as a user would (waits for the "Profile memory" lens on the
-- function's line, runs it or :MemlensProfile, opens the hover, opens the
-- memory timeline by its lens or :MemlensTimeline and jumps from it to a
-- line, runs :MemlensClear) and writes what Neovim shows, read back from
-- extmarks, lenses, the hover window and the timeline buffer, as JSON to
-- plan.out. The Go test judges it.
--
-- Without plan.bin the plugin finds memlens itself (PATH, then bin/memlens
-- of its checkout); plan.plugin_dir is the plugin to load (default: the one
-- beside this file). The hints are the plugin's default view: native inlay
-- hints on Neovim >= 0.10, end-of-line virtual text before.
local plan = vim.fn.json_decode(os.getenv('MEMLENS_E2E'))
local here = debug.getinfo(1, 'S').source:sub(2)
local plugin_dir = plan.plugin_dir or vim.fn.fnamemodify(here, ':p:h:h')
vim.opt.runtimepath:prepend(plugin_dir)
vim.opt.swapfile = false
-- Python's ftplugin probes the python3 provider (pynvim) otherwise: 10-20 s
-- under pyenv shims, and nothing memlens uses.
vim.g.loaded_python3_provider = 0
vim.opt.shadafile = 'NONE'

local report = { messages = {}, steps = {} }

local started = vim.loop.hrtime()
local function step(name)
  table.insert(report.steps, string.format('%s (%.1f s)', name, (vim.loop.hrtime() - started) / 1e9))
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
memlens.setup({ cmd = plan.bin and { plan.bin, 'serve' } or nil })
local native = vim.fn.has('nvim-0.10') == 1
local v = vim.version()
report.nvim = string.format('%d.%d.%d', v.major, v.minor, v.patch)
report.native = native

local function wait(ms, what, cond)
  if not vim.wait(ms, cond, 100) then
    error('timed out after ' .. ms .. ' ms waiting for ' .. what, 0)
  end
end

-- hint_marks reads the hints drawn in buf: the plugin's extmarks, or on
-- Neovim >= 0.10 those of vim.lsp.inlay_hint, which its decoration provider
-- sets when the window is redrawn (as a UI does after every event; headless
-- Neovim redraws only when told).
local function hint_marks(buf)
  local ns = hints.ns
  if native then
    vim.cmd('redraw')
    local spaces = vim.api.nvim_get_namespaces()
    ns = spaces['vim_lsp_inlayhint'] or spaces['nvim.lsp.inlayhint']
    if ns == nil then
      return {}
    end
  end
  local out = {}
  for _, m in ipairs(vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true })) do
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

-- open_timeline opens the memory timeline as a user does (the Timeline
-- lens, picked from the menu of the lenses on the function's line, or
-- :MemlensTimeline), reads the scratch buffer, presses <CR> on its first
-- line of "lines … by time" and reads where the cursor went.
local function open_timeline(buf)
  local r = {}
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_cursor(win, { plan.line, 0 })
  if plan.timeline == 'lens' then
    local select = vim.ui.select
    vim.ui.select = function(items, opts, on_choice)
      r.menu = {}
      local pick
      for _, item in ipairs(items) do
        local text = opts.format_item and opts.format_item(item) or tostring(item)
        table.insert(r.menu, text)
        if pick == nil and text:find('^Timeline') then
          pick = item
        end
      end
      vim.ui.select = select
      on_choice(pick)
    end
    vim.lsp.codelens.run()
  else
    vim.cmd('MemlensTimeline')
  end
  local tbuf
  wait(20000, 'the timeline buffer', function()
    for _, b in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(b) and vim.bo[b].filetype == 'memlens-timeline' then
        tbuf = b
        return true
      end
    end
    return error_message() ~= nil
  end)
  if error_message() then
    error('server: ' .. error_message(), 0)
  end
  r.name = vim.api.nvim_buf_get_name(tbuf)
  r.lines = vim.api.nvim_buf_get_lines(tbuf, 0, -1, false)
  r.buftype = vim.bo[tbuf].buftype
  -- <CR> on the first line listed by time.
  local row
  for i, l in ipairs(r.lines) do
    if l:find('^lines of .* by time') then
      row = i + 1
      break
    end
  end
  if row == nil or row > #r.lines then
    error('no lines by time in the timeline buffer:\n' .. table.concat(r.lines, '\n'), 0)
  end
  vim.api.nvim_set_current_win(vim.fn.bufwinid(tbuf))
  vim.api.nvim_win_set_cursor(0, { row, 0 })
  r.row = r.lines[row]
  vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<CR>', true, false, true), 'x', false)
  r.jump = { buf_is_source = vim.api.nvim_get_current_buf() == buf, line = vim.api.nvim_win_get_cursor(0)[1] }
  -- Re-profile with the timeline open: it follows the new run, redrawn in
  -- its own window.
  r.run = vim.b[tbuf].memlens_run
  local twin = vim.fn.bufwinid(tbuf)
  vim.api.nvim_set_current_win(win)
  vim.api.nvim_win_set_cursor(win, { plan.line, 0 })
  vim.cmd('MemlensProfile')
  wait(120000, 'the timeline following the re-profile', function()
    return error_message() ~= nil or (vim.api.nvim_buf_is_valid(tbuf) and (vim.b[tbuf].memlens_run or 0) > r.run)
  end)
  if error_message() then
    error('server: ' .. error_message(), 0)
  end
  r.followed = {
    run = vim.b[tbuf].memlens_run,
    same_window = vim.fn.bufwinid(tbuf) == twin,
    lines = vim.api.nvim_buf_get_lines(tbuf, 0, -1, false),
  }
  -- q in the timeline closes it.
  vim.api.nvim_set_current_win(vim.fn.bufwinid(tbuf))
  vim.api.nvim_feedkeys('q', 'x', false)
  r.closed = not vim.api.nvim_buf_is_valid(tbuf) or vim.fn.bufwinid(tbuf) == -1
  vim.api.nvim_set_current_win(win)
  return r
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

  wait(plan.timeout_ms or 120000, 'the summary lens', function()
    return error_message() ~= nil or has_lens(buf, plan.line, '^memory: .*%d+ calls?')
  end)
  if error_message() then
    error('server: ' .. error_message(), 0)
  end
  -- The hints come with the refresh sent with the summary lens's, at once:
  -- no edit, cursor move or reload needed.
  wait(10000, 'hints', function()
    return #hint_marks(buf) > 0
  end)
  vim.wait(300)
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

  if plan.timeline then
    report.timeline = open_timeline(buf)
    step('timeline')
  end

  vim.cmd('MemlensClear')
  wait(10000, 'the "Profile memory" lens back', function()
    return has_lens(buf, plan.line, '^Profile memory')
  end)
  -- The plugin blanks its hints at once; ask the server again to see that
  -- it dropped them too. Native hints go with the server's refresh.
  if native then
    vim.wait(5000, function()
      return #hint_marks(buf) == 0
    end, 100)
  else
    hints.request(memlens.client(buf), buf)
    vim.wait(1000)
  end
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
