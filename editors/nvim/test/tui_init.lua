-- Terminal run of the memlens Neovim plugin for editors/nvim_e2e_test.go
-- (TestNeovimScreen, inside tmux): open the file, wait for the "Profile
-- memory" lens on plan.line, run it, and leave the hints on screen for the
-- test to read with `tmux capture-pane`. Nothing is written to stderr: that
-- would corrupt the screen being read.
local plan = vim.fn.json_decode(os.getenv('MEMLENS_E2E'))
local here = debug.getinfo(1, 'S').source:sub(2)
vim.opt.runtimepath:prepend(vim.fn.fnamemodify(here, ':p:h:h'))
vim.opt.swapfile = false
-- Python's ftplugin probes the python3 provider (pynvim) otherwise: 10-20 s
-- under pyenv shims, and nothing memlens uses.
vim.g.loaded_python3_provider = 0
vim.opt.shadafile = 'NONE'
vim.opt.number = true
vim.opt.wrap = false
vim.opt.tabstop = 4
vim.opt.shiftwidth = 4
vim.opt.laststatus = 0
vim.opt.shortmess:append('I')

local memlens = require('memlens')
memlens.setup({ cmd = { plan.bin, 'serve' }, settings = plan.settings })

local function has_profile_lens(buf)
  for _, l in ipairs(vim.lsp.codelens.get(buf) or {}) do
    if l.range.start.line + 1 == plan.line and l.command and l.command.title:find('^Profile memory') then
      return true
    end
  end
  return false
end

-- Poll with a timer (the UI keeps drawing meanwhile) until the lens is there.
local tries = 0
local function try_profile()
  local buf = vim.api.nvim_get_current_buf()
  tries = tries + 1
  if tries > 120 then
    return
  end
  local c = memlens.client(buf)
  if c and c.initialized and has_profile_lens(buf) then
    vim.api.nvim_win_set_cursor(0, { plan.line, 0 })
    vim.cmd('normal! zt')
    vim.lsp.codelens.run()
    return
  end
  if c and c.initialized then
    memlens.refresh_lenses(buf)
  end
  vim.defer_fn(try_profile, 500)
end

vim.api.nvim_create_autocmd('VimEnter', { once = true, callback = function() vim.defer_fn(try_profile, 200) end })
