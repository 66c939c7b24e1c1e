-- Inlay hints drawn as end-of-line virtual text, for Neovim 0.7 to 0.9, which
-- have no vim.lsp.inlay_hint. memlens puts every hint at the end of its line,
-- so an 'eol' extmark shows exactly what an inline hint would.
local compat = require('memlens.compat')

local M = {}

-- The namespace of the hint extmarks: read them back with
-- nvim_buf_get_extmarks(buf, require('memlens.hints').ns, 0, -1, {details = true}).
M.ns = vim.api.nvim_create_namespace('memlens_hints')

-- Per buffer: the sequence number of the newest request, so that an answer to
-- an older request never overwrites a newer one.
local latest = {}
local timers = {}

function M.setup()
  -- default = true keeps a colour scheme's or the user's own definition.
  vim.api.nvim_set_hl(0, 'MemlensHint', { link = 'Comment', default = true })
end

-- label_text flattens an InlayHint label (a string or InlayHintLabelPart[]).
local function label_text(hint)
  local label = hint.label
  if type(label) == 'table' then
    local parts = {}
    for _, part in ipairs(label) do
      table.insert(parts, part.value or '')
    end
    label = table.concat(parts)
  end
  return label or ''
end

function M.clear(buf)
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_clear_namespace(buf, M.ns, 0, -1)
  end
end

-- draw replaces the buffer's hint extmarks with hints (InlayHint[]).
function M.draw(buf, hints)
  M.clear(buf)
  local line_count = vim.api.nvim_buf_line_count(buf)
  -- Several hints on one line are joined in column order.
  local by_line = {}
  for _, h in ipairs(hints or {}) do
    local line = h.position and h.position.line
    if type(line) == 'number' and line >= 0 and line < line_count then
      by_line[line] = by_line[line] or {}
      table.insert(by_line[line], h)
    end
  end
  for line, list in pairs(by_line) do
    table.sort(list, function(a, b)
      return (a.position.character or 0) < (b.position.character or 0)
    end)
    local texts = {}
    for _, h in ipairs(list) do
      table.insert(texts, label_text(h))
    end
    vim.api.nvim_buf_set_extmark(buf, M.ns, line, 0, {
      virt_text = { { '  ' .. table.concat(texts, '  '), 'MemlensHint' } },
      virt_text_pos = 'eol',
      hl_mode = 'combine',
    })
  end
end

-- request asks the server for the hints of the whole buffer and draws them.
function M.request(client, buf)
  if not vim.api.nvim_buf_is_loaded(buf) then
    return
  end
  local seq = (latest[buf] or 0) + 1
  latest[buf] = seq
  local last = vim.api.nvim_buf_line_count(buf)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(buf) },
    range = { start = { line = 0, character = 0 }, ['end'] = { line = last, character = 0 } },
  }
  compat.request(client, 'textDocument/inlayHint', params, function(err, result)
    if latest[buf] ~= seq or not vim.api.nvim_buf_is_loaded(buf) then
      return
    end
    if err then
      -- An answer-less server leaves the old hints rather than blanking them.
      return
    end
    M.draw(buf, result)
  end, buf)
end

-- request_debounced calls request once the buffer has been quiet for ms.
function M.request_debounced(client, buf, ms)
  local t = timers[buf]
  if t then
    t:stop()
  else
    t = vim.loop.new_timer()
    timers[buf] = t
  end
  t:start(ms, 0, vim.schedule_wrap(function()
    M.request(client, buf)
  end))
end

-- forget drops the state kept for buf (its debounce timer).
function M.forget(buf)
  local t = timers[buf]
  if t then
    t:stop()
    t:close()
    timers[buf] = nil
  end
  latest[buf] = nil
end

return M
