-- telemetry-inject language server in Neovim 0.7+ (vim.lsp.start_client; 0.8+ may use vim.lsp.start).
-- One client for the session, attached to every buffer of a supported language.
local telemetry_inject = nil

vim.api.nvim_create_autocmd('FileType', {
  pattern = { 'python', 'javascript', 'typescript', 'typescriptreact', 'go' },
  callback = function(args)
    if telemetry_inject == nil then
      telemetry_inject = vim.lsp.start_client({
        name = 'telemetry-inject',
        cmd = { 'telemetry-inject', 'lsp' },
        root_dir = vim.fn.getcwd(),
        -- Optional; these are the defaults but for the cache folder (default .telemetry_cache).
        init_options = { profile = 'tel', cacheDir = '.cache' },
        settings = { telemetryInject = {} },
      })
    end
    vim.lsp.buf_attach_client(args.buf, telemetry_inject)
  end,
})

-- Instrument the function at the cursor as typed instructions say (needs a model configured).
vim.keymap.set('n', '<leader>ti', function()
  local text = vim.fn.input('Instructions: ')
  if text == '' then return end
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  vim.lsp.buf.execute_command({
    command = 'telemetry-inject.instrumentWithInstructions',
    arguments = { { uri = vim.uri_from_bufnr(0), position = { line = row - 1, character = col },
                    instructions = text } },
  })
end)
