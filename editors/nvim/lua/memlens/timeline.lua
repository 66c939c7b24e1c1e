-- :MemlensTimeline and the Timeline lens: the memory timeline of a run in a
-- scratch buffer. The server's memlens.timeline command returns the run's
-- samples (RSS, heap, and the profiled line running at each); this draws
-- RSS against time as a text chart, marks where the function ran, and lists
-- the function's lines by their share of its time, each with when it ran on
-- the chart's time axis. <CR> on a line jumps to it in the source; q closes.
local compat = require('memlens.compat')

local M = {}

local blocks = { '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█' }

-- The chart's left margin, in display columns, and its height in rows.
local gutter = 12
local height = 8

local function bytes(n)
  local a = math.abs(n)
  if a < 1024 then
    return string.format('%d B', n)
  elseif a < 1024 * 1024 then
    return string.format('%.1f KiB', n / 1024)
  elseif a < 1024 * 1024 * 1024 then
    return string.format('%.1f MiB', n / 1024 / 1024)
  end
  return string.format('%.2f GiB', n / 1024 / 1024 / 1024)
end

local function seconds(ms)
  if ms < 1000 then
    return string.format('%g ms', tonumber(string.format('%.3g', ms)))
  end
  return string.format('%g s', tonumber(string.format('%.3g', ms / 1000)))
end

-- bins cuts the run's time into n equal columns and returns, per column,
-- the samples in it (their indices).
local function bins(samples, n)
  local first, last = samples[1].t_ms, samples[#samples].t_ms
  local cols = {}
  for i = 1, n do
    cols[i] = {}
  end
  for i, s in ipairs(samples) do
    local b = 1
    if last > first then
      b = math.floor((s.t_ms - first) / (last - first) * n) + 1
    end
    b = math.max(1, math.min(n, b))
    table.insert(cols[b], i)
  end
  return cols
end

-- column_values is the highest of field in each column, or the value
-- before where a column holds no sample (memory is a level).
local function column_values(samples, cols, field)
  local out = {}
  local prev = samples[1][field]
  for i, idx in ipairs(cols) do
    local v
    for _, j in ipairs(idx) do
      local x = samples[j][field]
      if v == nil or x > v then
        v = x
      end
    end
    if v == nil then
      v = prev
    end
    prev = v
    out[i] = v
  end
  return out
end

-- placed is a line's place in the buffer now (0-based), nil when the line
-- was edited since the run (null in the answer: nil or vim.NIL in Lua).
local function placed(at)
  if type(at) == 'number' then
    return at
  end
  return nil
end

local function pad(s, n)
  return string.rep(' ', n - vim.fn.strdisplaywidth(s)) .. s
end

-- render draws the timeline tl (the server's answer) in width columns of
-- chart. It returns the buffer lines and, by 1-based row, the 0-based
-- source line that <CR> on that row jumps to.
function M.render(tl, width)
  local samples = tl.samples
  local n = math.max(1, math.min(width, #samples))
  local cols = bins(samples, n)
  local rss = column_values(samples, cols, 'rss_bytes')
  local lo, hi = math.huge, -math.huge
  local peak = 1
  for i, s in ipairs(samples) do
    lo, hi = math.min(lo, s.rss_bytes), math.max(hi, s.rss_bytes)
    if s.rss_bytes > samples[peak].rss_bytes then
      peak = i
    end
  end
  local by_line = {}
  for _, l in ipairs(tl.lines) do
    by_line[l.line] = l
  end

  local out, jumps = {}, {}
  local function add(s, at)
    table.insert(out, s)
    jumps[#out] = placed(at)
  end

  local last_ms = samples[#samples].t_ms
  add(string.format('memlens timeline · %s · %s · %s', tl['function'], tl.entry, tl.status))
  add(string.format('%s sampled: %d samples, one every %s', seconds(last_ms), #samples, seconds(tl.interval_ms)))
  local p = samples[peak]
  local where = ''
  local pl = p['function'] == tl['function'] and by_line[p.line] or nil
  local peak_at = pl and placed(pl.at)
  if peak_at then
    where = string.format(' (line %d: %s)', peak_at + 1, vim.trim(pl.content))
  end
  add(string.format('peak RSS %s at %s%s', bytes(p.rss_bytes), seconds(p.t_ms), where), peak_at)
  if tl.stale then
    add('the function changed since this run: re-profile for current figures')
  end
  add('')

  -- RSS, from the run's lowest (bottom row) to its highest (top row), in
  -- eighths of a row.
  add(pad('RSS', gutter - 2))
  for row = height, 1, -1 do
    local label = ''
    if row == height then
      label = bytes(hi)
    elseif row == 1 then
      label = bytes(lo)
    end
    local line = { pad(label, gutter - 2), (row == height or row == 1) and ' ┤' or ' │' }
    for c = 1, n do
      local eighths = 8
      if hi > lo then
        eighths = math.floor((rss[c] - lo) / (hi - lo) * (height * 8 - 1) + 0.5) + 1
      end
      local fill = eighths - (row - 1) * 8
      if fill >= 8 then
        table.insert(line, '█')
      elseif fill >= 1 then
        table.insert(line, blocks[fill])
      else
        table.insert(line, ' ')
      end
    end
    add(table.concat(line))
  end
  add(string.rep(' ', gutter - 1) .. '└' .. string.rep('─', n))
  local t0, t1 = seconds(samples[1].t_ms), seconds(last_ms)
  add(string.rep(' ', gutter) .. t0 .. string.rep(' ', math.max(1, n - #t0 - #t1)) .. t1)

  -- Where the function ran (its call stretches), and the heap, on the
  -- same time axis.
  local first = samples[1].t_ms
  local step = (last_ms - first) / n
  local ran = {}
  for c = 1, n do
    local from, to = first + (c - 1) * step, first + c * step
    local on = false
    for _, call in ipairs(tl.calls or {}) do
      on = on or (call.start_ms < to and call.end_ms >= from)
    end
    table.insert(ran, on and '━' or ' ')
  end
  add(pad(tl['function'], gutter - 2) .. '  ' .. table.concat(ran))
  local heap = column_values(samples, cols, 'heap_bytes')
  local hlo, hhi = math.huge, -math.huge
  for _, v in ipairs(heap) do
    hlo, hhi = math.min(hlo, v), math.max(hhi, v)
  end
  local spark = {}
  for _, v in ipairs(heap) do
    local level = 1
    if hhi > hlo then
      level = math.floor((v - hlo) / (hhi - hlo) * 7 + 0.5) + 1
    end
    table.insert(spark, blocks[level])
  end
  add(pad('heap', gutter - 2) .. '  ' .. table.concat(spark) .. string.format('  %s – %s', bytes(hlo), bytes(hhi)))
  add('')

  -- The function's lines by time: share, line, when it ran, source.
  local ranked = {}
  for _, l in ipairs(tl.lines) do
    if l.samples > 0 then
      table.insert(ranked, l)
    end
  end
  table.sort(ranked, function(a, b)
    if a.share ~= b.share then
      return a.share > b.share
    end
    return a.line < b.line
  end)
  if #ranked == 0 then
    add(string.format('no sample found %s running: it ran for less than the sampling interval', tl['function']))
    return out, jumps
  end
  add(string.format('lines of %s by time (<CR>: go to the line)', tl['function']))
  for i = 1, math.min(#ranked, 10) do
    local l = ranked[i]
    local when = {}
    for c = 1, n do
      local on = 0
      for _, j in ipairs(cols[c]) do
        local s = samples[j]
        if s['function'] == tl['function'] and s.line == l.line then
          on = on + 1
        end
      end
      if on == 0 then
        table.insert(when, '·')
      else
        table.insert(when, blocks[math.max(1, math.min(8, math.ceil(on / #cols[c] * 8)))])
      end
    end
    local num = placed(l.at) and tostring(l.at + 1) or (l.line .. '*')
    add(string.format('%5.1f%% %-4s ', 100 * l.share, num) .. table.concat(when) .. '  ' .. vim.trim(l.content), l.at)
  end
  return out, jumps
end

-- The timelines on screen, by buffer: what follow asks for again.
local views = {}

-- render_fit renders tl for the editor's width.
local function render_fit(tl)
  return M.render(tl, math.max(16, math.min(60, vim.o.columns - gutter - 24)))
end

-- fill writes the rendered lines of tl into the timeline buffer buf and
-- keeps what <CR> and follow need.
local function fill(buf, tl, lines, jumps, source_win, client_id)
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.b[buf].memlens_run = tl.run
  views[buf] = { uri = tl.uri, fn = tl['function'], run = tl.run or 0, jumps = jumps, source_win = source_win, client_id = client_id }
end

-- show puts tl in a scratch buffer in a split below, and returns the buffer.
function M.show(tl, source_win, client_id)
  local name = 'memlens://timeline/' .. tl['function']
  local old = vim.fn.bufnr(name)
  if old ~= -1 then
    vim.api.nvim_buf_delete(old, { force = true })
  end
  local lines, jumps = render_fit(tl)
  -- Tall enough for the chart and the lines by time, leaving the source
  -- a few lines.
  vim.cmd('botright ' .. math.min(#lines, math.max(math.floor(vim.o.lines / 2), vim.o.lines - 16)) .. 'new')
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_name(buf, name)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  fill(buf, tl, lines, jumps, source_win, client_id)
  vim.bo[buf].filetype = 'memlens-timeline'
  vim.wo.wrap = false
  vim.wo.number = false
  vim.wo.list = false
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = buf,
    callback = function()
      views[buf] = nil
    end,
  })
  vim.keymap.set('n', '<CR>', function()
    local v = views[buf]
    local at = v and v.jumps[vim.api.nvim_win_get_cursor(0)[1]]
    if at == nil then
      return
    end
    local win = v.source_win
    if not (win and vim.api.nvim_win_is_valid(win)) then
      win = vim.fn.win_getid(vim.fn.winnr('#'))
    end
    vim.api.nvim_set_current_win(win)
    local target = vim.uri_to_bufnr(v.uri)
    if vim.api.nvim_win_get_buf(win) ~= target then
      vim.fn.bufload(target)
      vim.api.nvim_win_set_buf(win, target)
    end
    vim.api.nvim_win_set_cursor(win, { math.min(at + 1, vim.api.nvim_buf_line_count(target)), 0 })
    vim.cmd('normal! zz')
  end, { buffer = buf, desc = 'memlens: go to the line' })
  vim.keymap.set('n', 'q', '<cmd>close<cr>', { buffer = buf, desc = 'memlens: close the timeline' })
  return buf
end

-- open asks client for the timeline that args name (see memlens.timeline in
-- the server's documentation) and shows it.
function M.open(client, bufnr, args)
  local source_win = vim.api.nvim_get_current_win()
  compat.request(client, 'workspace/executeCommand', { command = 'memlens.timeline', arguments = { args } }, function(err, result)
    if err then
      vim.notify('memlens: ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if type(result) ~= 'table' or type(result.samples) ~= 'table' or #result.samples == 0 then
      vim.notify('memlens: the server sent no timeline', vim.log.levels.ERROR)
      return
    end
    M.show(result, source_win, client.id)
  end, bufnr)
end

-- follow redraws, in place, each open timeline of client's whose function
-- has a newer run (a run just ended: a re-profile), as the VS Code view
-- does; the windows and the cursor stay where they are.
function M.follow(client)
  for buf, v in pairs(views) do
    if not vim.api.nvim_buf_is_valid(buf) then
      views[buf] = nil
    elseif v.client_id == client.id then
      local args = { uri = v.uri, ['function'] = v.fn }
      compat.request(client, 'workspace/executeCommand', { command = 'memlens.timeline', arguments = { args } }, function(err, result)
        local cur = views[buf]
        if err or cur == nil or not vim.api.nvim_buf_is_valid(buf) or type(result) ~= 'table'
          or type(result.samples) ~= 'table' or #result.samples == 0
          or result['function'] ~= cur.fn or (result.run or 0) <= cur.run then
          return
        end
        local lines, jumps = render_fit(result)
        fill(buf, result, lines, jumps, cur.source_win, cur.client_id)
      end, vim.uri_to_bufnr(v.uri))
    end
  end
end

return M
