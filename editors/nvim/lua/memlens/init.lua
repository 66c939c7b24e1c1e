-- memlens for Neovim: starts `memlens serve` for Go and Python buffers and shows
-- its line-by-line memory profiles.
--
--   require('memlens').setup({ cmd = { 'memlens', 'serve' } })
--
-- What the server offers and how it is shown:
--   * code lenses ("Profile memory" above every function, then the summary with
--     Re-profile and Clear): Neovim's own codelens module, refreshed here because
--     Neovim before 0.12 never refreshes lenses by itself; run with
--     vim.lsp.codelens.run() on the lens line;
--   * inlay hints at line ends (memory, increment, ×N): native
--     vim.lsp.inlay_hint on Neovim >= 0.10, and end-of-line virtual text
--     (extmarks in the "memlens_hints" namespace) on 0.7 to 0.9;
--   * hover: vim.lsp.buf.hover() as usual.
-- User commands :MemlensProfile (the function at the cursor) and :MemlensClear.
local compat = require('memlens.compat')
local hints = require('memlens.hints')

local M = {}

local defaults = {
  -- The server command.
  cmd = { 'memlens', 'serve' },
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

local function client_config(root)
  local settings = server_settings()
  return {
    name = 'memlens',
    cmd = M.config.cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    capabilities = capabilities(),
    handlers = handlers(),
    init_options = { memlens = settings },
    -- Also answers workspace/configuration; Neovim sends it with
    -- workspace/didChangeConfiguration once the client is initialized.
    settings = { memlens = settings },
    on_attach = on_attach,
  }
end

-- attach starts (or reuses) the memlens client for buf's project and attaches it.
function M.attach(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local name = vim.api.nvim_buf_get_name(buf)
  if name == '' or vim.bo[buf].buftype ~= '' then
    return nil
  end
  if vim.fn.executable(M.config.cmd[1]) ~= 1 then
    vim.notify_once('memlens: ' .. M.config.cmd[1] .. ' not found; set cmd in require("memlens").setup()', vim.log.levels.WARN)
    return nil
  end
  local root = find_root(name)
  if vim.lsp.start then
    -- 0.8 and later: reuses the client of the same name and root.
    return vim.lsp.start(client_config(root), { bufnr = buf })
  end
  local id = clients_by_root[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil or vim.lsp.get_client_by_id(id).is_stopped() then
    id = vim.lsp.start_client(client_config(root))
    if id == nil then
      vim.notify('memlens: could not start ' .. table.concat(M.config.cmd, ' '), vim.log.levels.ERROR)
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

  -- Buffers opened before setup ran.
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(b) and vim.tbl_contains(M.config.filetypes, vim.bo[b].filetype) then
      M.attach(b)
    end
  end
end

return M
