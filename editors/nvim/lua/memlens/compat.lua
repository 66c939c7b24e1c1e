-- Calls whose form changed across the Neovim versions memlens supports
-- (0.7 to 0.11+): client methods became `client:method()` in 0.11.
local M = {}

local method_calls = vim.fn.has('nvim-0.11') == 1

-- request sends an LSP request through client and calls handler(err, result, ctx).
function M.request(client, method, params, handler, buf)
  if method_calls then
    return client:request(method, params, handler, buf)
  end
  return client.request(method, params, handler, buf)
end

-- notify sends an LSP notification through client.
function M.notify(client, method, params)
  if method_calls then
    return client:notify(method, params)
  end
  return client.notify(method, params)
end

-- offset_encoding is the client's column encoding ("utf-16" unless negotiated).
function M.offset_encoding(client)
  return client.offset_encoding or 'utf-16'
end

return M
