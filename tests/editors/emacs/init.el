;;; init.el --- telemetry-inject language server in Emacs 28+ with eglot  -*- lexical-binding: t -*-
(require 'eglot)
(add-to-list 'eglot-server-programs
             '((python-mode js-mode typescript-mode go-mode)
               . ("telemetry-inject" "lsp" :initializationOptions (:cacheDir ".cache"))))
(add-hook 'python-mode-hook #'eglot-ensure)
;; Apply the server's edits ("Instrument whole file") without a y-or-n prompt.
(setq eglot-confirm-server-initiated-edits nil)
