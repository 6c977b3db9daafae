;;; scenario.el --- one eglot session, in batch  -*- lexical-binding: t -*-
;; Code action (eager: eglot 1.9 does not resolve), hover, the whole-file command, save.
;; Writes what it saw to $SCENARIO_OUT as JSON; any error exits non-zero.
(require 'json)
(setq eglot-sync-connect t)

(defun scenario--idle ()
  "What a user's pause does: eglot sends the pending didChange."
  (eglot--signal-textDocument/didChange))

(defun scenario--hover (server)
  (let ((result (jsonrpc-request server :textDocument/hover
                                 (eglot--TextDocumentPositionParams))))
    (plist-get (plist-get result :contents) :value)))

(defun scenario--count (needle)
  (how-many (regexp-quote needle) (point-min) (point-max)))

(condition-case err
    (progn
      (find-file "main.py")
      (run-hooks 'post-command-hook)  ; where eglot-ensure connects, as after a command
      (let ((server (eglot-current-server))
            (seen nil))
        (unless server (error "eglot did not connect"))
        (goto-char (point-min))
        (search-forward "return a + b")
        (eglot-code-actions (point) nil "refactor.rewrite.telemetry-inject.instrument" t)
        (push (cons 'probes_after_action (scenario--count "@_tel.probe(")) seen)
        (scenario--idle)
        (goto-char (point-min))
        (search-forward "def add")
        (push (cons 'hover_after (scenario--hover server)) seen)
        (eglot-execute-command server 'telemetry-inject.instrumentFile nil)
        (push (cons 'probes_after_command (scenario--count "@_tel.probe(")) seen)
        (save-buffer)
        (with-temp-file (getenv "SCENARIO_OUT") (insert (json-encode seen)))
        (kill-emacs 0)))
  (error
   (with-temp-file (getenv "SCENARIO_OUT")
     (insert (json-encode (list (cons 'error (error-message-string err))))))
   (kill-emacs 1)))
