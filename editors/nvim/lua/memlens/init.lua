-- memlens for Neovim: starts `memlens serve` for Go and Python buffers and shows
-- its line-by-line memory profiles.
--
--   require('memlens').setup({})   -- or setup({ cmd = { '/path/to/memlens', 'serve' } })
--
-- What the server offers and how it is shown:
--   * code lenses ("Profile memory" above every function, then the summary with
--     Re-profile and Clear): Neovim's own codelens module, refreshed here because
--     Neovim before 0.12 never refreshes lenses by itself; run with
--     vim.lsp.codelens.run() on the lens line;
--   * inlay hints at line ends (Go: allocated bytes, Python: increment; ×N): native
--     vim.lsp.inlay_hint on Neovim >= 0.10, and end-of-line virtual text
--     (extmarks in the "memlens_hints" namespace) on 0.7 to 0.9;
--   * hover: vim.lsp.buf.hover() as usual;
--   * the memory timeline of a run (memlens/timeline.lua): the Timeline lens
--     beside the summary (its title is the run's RSS as a sparkline) and
--     :MemlensTimeline open it in a scratch buffer.
-- User commands :MemlensProfile (the function at the cursor), :MemlensClear
-- and :MemlensTimeline (the profiled function at the cursor, else the
-- buffer's latest profile).
local compat = require('memlens.compat')
local hints = require('memlens.hints')
local timeline = require('memlens.timeline')

local M = {}

local defaults = {
  -- The server command. Unset: `memlens serve` with the memlens on PATH,
  -- else with bin/memlens of the checkout this plugin is in (`make build`
  -- there, or lazy.nvim's build = 'make build').
  cmd = nil,
  filetypes = { 'go', 'python' },
  -- The project root is the nearest directory holding one of these; a buffer
  -- outside any project uses its own directory.
  root_markers = { 'go.work', 'go.mod', 'pyproject.toml', 'setup.py', 'setup.cfg', '.git' },
  -- Server settings, sent as initializationOptions and
  -- workspace/didChangeConfiguration under "memlens" (see editors/README.md).
  settings = {},
  -- Use native inlay hints where Neovim has them (>= 0.10); false forces the
  -- virtual-text fallback everywhere.
  native_inlay_hints = true,
  -- Called as on_attach(client, bufnr) after the client attaches to a buffer.
  on_attach = nil,
}

M.config = vim.deepcopy(defaults)

-- Client ids by root directory, for Neovim 0.7 where vim.lsp.start does not exist.
local clients_by_root = {}

local function has_native_inlay_hints()
  return M.config.native_inlay_hints and vim.lsp.inlay_hint ~= nil and vim.fn.has('nvim-0.10') == 1
end

local function find_root(path)
  local dir = vim.fn.fnamemodify(path, ':p:h')
  for _, marker in ipairs(M.config.root_markers) do
    local f = vim.fn.findfile(marker, dir .. ';')
    if f ~= '' then
      return vim.fn.fnamemodify(f, ':p:h')
    end
    local d = vim.fn.finddir(marker, dir .. ';')
    if d ~= '' then
      return vim.fn.fnamemodify(d, ':p:h:h')
    end
  end
  return dir
end

-- client returns the memlens client attached to buf, if any.
function M.client(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local list = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf }) or vim.lsp.buf_get_clients(buf)
  for _, c in pairs(list) do
    if c.name == 'memlens' then
      return c
    end
  end
  return nil
end

-- attached_buffers lists the loaded buffers the client is attached to.
local function attached_buffers(client)
  local out = {}
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.lsp.buf_is_attached(b, client.id) then
      table.insert(out, b)
    end
  end
  return out
end

-- refresh_lenses asks the server for the code lenses of buf again.
function M.refresh_lenses(buf)
  if not vim.api.nvim_buf_is_loaded(buf) then
    return
  end
  if vim.fn.has('nvim-0.10') == 1 then
    vim.lsp.codelens.refresh({ bufnr = buf })
  else
    -- 0.7 to 0.9 refresh the current buffer only.
    vim.api.nvim_buf_call(buf, function()
      vim.lsp.codelens.refresh()
    end)
  end
end

-- refresh redraws lenses and hints for every buffer of the client.
function M.refresh(client)
  for _, b in ipairs(attached_buffers(client)) do
    M.refresh_lenses(b)
    if not has_native_inlay_hints() then
      hints.request(client, b)
    end
  end
end

-- Neovim 0.10's own workspace/inlayHint/refresh handler asks for the hints
-- again but never draws the answer while the buffer is unchanged: its
-- decoration provider skips every line already drawn for the buffer's
-- version, and a refresh after a profile arrives with the same version
-- (fixed in 0.11 by neovim/neovim#32446, which forgets the drawn lines).
-- enable() starts the buffer's hint state afresh, drawn lines included, and
-- requests the hints: what 0.11 does on a refresh.
local native_refresh_skips_drawn_lines = vim.fn.has('nvim-0.10') == 1 and vim.fn.has('nvim-0.11') == 0

local function redraw_native_hints(buf)
  if vim.lsp.inlay_hint.is_enabled({ bufnr = buf }) then
    vim.lsp.inlay_hint.enable(true, { bufnr = buf })
  end
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.workspace = caps.workspace or {}
  -- The refresh requests are answered below on every version.
  caps.workspace.codeLens = { refreshSupport = true }
  caps.workspace.inlayHint = { refreshSupport = true }
  caps.textDocument = caps.textDocument or {}
  caps.textDocument.inlayHint = caps.textDocument.inlayHint or { dynamicRegistration = false }
  return caps
end

local function handlers()
  local progress = vim.lsp.handlers['$/progress']
  return {
    ['workspace/codeLens/refresh'] = function(_, _, ctx)
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if client then
        vim.schedule(function()
          for _, b in ipairs(attached_buffers(client)) do
            M.refresh_lenses(b)
          end
        end)
      end
      return vim.NIL
    end,
    ['workspace/inlayHint/refresh'] = function(err, result, ctx)
      local client = vim.lsp.get_client_by_id(ctx.client_id)
      if client and not has_native_inlay_hints() then
        vim.schedule(function()
          for _, b in ipairs(attached_buffers(client)) do
            hints.request(client, b)
          end
        end)
        return vim.NIL
      end
      if client and native_refresh_skips_drawn_lines then
        vim.schedule(function()
          for _, b in ipairs(attached_buffers(client)) do
            redraw_native_hints(b)
          end
        end)
        return vim.NIL
      end
      local native = vim.lsp.handlers['workspace/inlayHint/refresh']
      if native then
        return native(err, result, ctx)
      end
      return vim.NIL
    end,
    -- A finished run also refreshes, for servers that send no refresh requests.
    ['$/progress'] = function(err, result, ctx, config)
      if progress then
        progress(err, result, ctx, config)
      end
      if result and type(result.value) == 'table' and result.value.kind == 'end' then
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        if client then
          vim.schedule(function()
            M.refresh(client)
            timeline.follow(client)
          end)
        end
      end
    end,
  }
end

local function on_attach(client, buf)
  if has_native_inlay_hints() then
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = buf })
  end
  local group = vim.api.nvim_create_augroup('memlens_buf_' .. buf, { clear = true })
  vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
    group = group,
    buffer = buf,
    callback = function()
      M.refresh_lenses(buf)
      if not has_native_inlay_hints() then
        hints.request(client, buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd('BufWipeout', {
    group = group,
    buffer = buf,
    callback = function()
      hints.forget(buf)
    end,
  })
  if not has_native_inlay_hints() then
    -- Hints follow edits: the server moves them with inserted lines and drops
    -- those of changed lines, so ask again once typing pauses.
    vim.api.nvim_create_autocmd({ 'TextChanged', 'TextChangedI' }, {
      group = group,
      buffer = buf,
      callback = function()
        hints.request_debounced(client, buf, 200)
      end,
    })
  end
  M.refresh_lenses(buf)
  if M.config.on_attach then
    M.config.on_attach(client, buf)
  end
end

-- server_settings is config.settings as the server wants it: JSON objects
-- where Lua has empty tables (vim.json would send them as arrays).
local function server_settings()
  local s = vim.deepcopy(M.config.settings or {})
  for _, key in ipairs({ 'env', 'entries' }) do
    if type(s[key]) == 'table' and next(s[key]) == nil then
      s[key] = vim.empty_dict()
    end
  end
  if next(s) == nil then
    return vim.empty_dict()
  end
  return s
end

local function client_config(root, cmd)
  local settings = server_settings()
  return {
    name = 'memlens',
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    capabilities = capabilities(),
    handlers = handlers(),
    -- The Timeline lens's command, run here rather than sent as is: its
    -- answer is drawn in a scratch buffer.
    commands = {
      ['memlens.timeline'] = function(command, ctx)
        local client = vim.lsp.get_client_by_id(ctx.client_id)
        if client then
          timeline.open(client, ctx.bufnr, (command.arguments or {})[1] or vim.empty_dict())
        end
      end,
    },
    init_options = { memlens = settings },
    -- Also answers workspace/configuration; Neovim sends it with
    -- workspace/didChangeConfiguration once the client is initialized.
    settings = { memlens = settings },
    on_attach = on_attach,
  }
end

-- checkout_binary is bin/memlens of the repository this file is in
-- (REPO/editors/nvim/lua/memlens/init.lua), or nil when it is not built.
local function checkout_binary()
  local source = debug.getinfo(1, 'S').source
  if source:sub(1, 1) ~= '@' then
    return nil
  end
  local root = vim.fn.fnamemodify(source:sub(2), ':p:h:h:h:h:h')
  for _, name in ipairs({ 'memlens', 'memlens.exe' }) do
    local bin = root .. '/bin/' .. name
    if vim.fn.executable(bin) == 1 then
      return bin
    end
  end
  return nil
end

-- server_cmd is the command that runs the server: config.cmd, else the
-- memlens on PATH, else the checkout's bin/memlens; nil (after saying how to
-- get one) when there is none. Looked up at each start, so that a binary
-- built after setup() is found.
local function server_cmd()
  if M.config.cmd then
    if vim.fn.executable(M.config.cmd[1]) == 1 then
      return M.config.cmd
    end
    vim.notify_once('memlens: ' .. M.config.cmd[1] .. ' not found (cmd in require("memlens").setup())', vim.log.levels.WARN)
    return nil
  end
  if vim.fn.executable('memlens') == 1 then
    return { 'memlens', 'serve' }
  end
  local bin = checkout_binary()
  if bin then
    return { bin, 'serve' }
  end
  vim.notify_once(
    'memlens: no memlens binary: not on PATH, and bin/memlens of the plugin\'s checkout is not built. '
      .. 'Run `make build` in the memlens repository (lazy.nvim: build = "make build"), '
      .. 'or set cmd in require("memlens").setup()',
    vim.log.levels.WARN
  )
  return nil
end

-- attach starts (or reuses) the memlens client for buf's project and attaches it.
function M.attach(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local name = vim.api.nvim_buf_get_name(buf)
  if name == '' or vim.bo[buf].buftype ~= '' then
    return nil
  end
  local cmd = server_cmd()
  if cmd == nil then
    return nil
  end
  local root = find_root(name)
  if vim.lsp.start then
    -- 0.8 and later: reuses the client of the same name and root.
    return vim.lsp.start(client_config(root, cmd), { bufnr = buf })
  end
  local id = clients_by_root[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil or vim.lsp.get_client_by_id(id).is_stopped() then
    id = vim.lsp.start_client(client_config(root, cmd))
    if id == nil then
      vim.notify('memlens: could not start ' .. table.concat(cmd, ' '), vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(buf, id)
  return id
end

local function position_params(buf)
  -- UTF-16 columns, as the server expects.
  local params = vim.lsp.util.make_position_params(0, 'utf-16')
  params.textDocument = nil
  params.uri = vim.uri_from_bufnr(buf)
  return params
end

-- execute sends workspace/executeCommand for the buffer's client.
local function execute(buf, command, args)
  local client = M.client(buf)
  if client == nil then
    vim.notify('memlens: no memlens server for this buffer', vim.log.levels.WARN)
    return
  end
  compat.request(client, 'workspace/executeCommand', { command = command, arguments = { args } }, function(err)
    if err then
      vim.notify('memlens: ' .. command .. ': ' .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end, buf)
end

-- profile_at_cursor profiles the function around the cursor.
function M.profile_at_cursor()
  local buf = vim.api.nvim_get_current_buf()
  execute(buf, 'memlens.profileAtCursor', position_params(buf))
end

-- clear drops the profiles shown in the current buffer.
function M.clear()
  local buf = vim.api.nvim_get_current_buf()
  execute(buf, 'memlens.clear', { uri = vim.uri_from_bufnr(buf) })
  if not has_native_inlay_hints() then
    hints.clear(buf)
  end
end

-- show_timeline opens the memory timeline of the profiled function at the
-- cursor (else of the buffer's latest profile).
function M.show_timeline()
  local buf = vim.api.nvim_get_current_buf()
  local client = M.client(buf)
  if client == nil then
    vim.notify('memlens: no memlens server for this buffer', vim.log.levels.WARN)
    return
  end
  local params = position_params(buf)
  timeline.open(client, buf, { uri = params.uri, position = params.position })
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  hints.setup()

  local group = vim.api.nvim_create_augroup('memlens', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_user_command('MemlensProfile', M.profile_at_cursor, { desc = 'memlens: profile the function at the cursor' })
  vim.api.nvim_create_user_command('MemlensClear', M.clear, { desc = 'memlens: clear the profile of this buffer' })
  vim.api.nvim_create_user_command('MemlensTimeline', M.show_timeline, { desc = 'memlens: the memory timeline of the function at the cursor' })

  -- Buffers opened before setup ran.
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.tbl_contains(M.config.filetypes, vim.bo[b].filetype) then
      M.attach(b)
    end
  end
end

return M
