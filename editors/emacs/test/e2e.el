;;; e2e.el --- end-to-end driver for memlens through eglot  -*- lexical-binding: t -*-

;; Run by editors/emacs_e2e_test.go as
;;
;;   MEMLENS_E2E='{"bin":…,"file":…,"line":…,"out":…}' emacs --batch -l e2e.el
;;
;; with the documented configuration (../memlens-eglot.el). It acts as a user
;; does: opens the file, lets eglot-ensure connect, runs M-x
;; eglot-code-actions on the function line and picks "Profile memory: …",
;; waits for the diagnostics (flymake), then picks "Clear memory profile: …".
;; It writes what Emacs shows as JSON to plan.out; the Go test judges it.

;;; Code:

(require 'json)
(require 'cl-lib)

(defvar memlens-e2e-plan (json-read-from-string (getenv "MEMLENS_E2E")))
(defun memlens-e2e-get (key) (cdr (assq key memlens-e2e-plan)))

(defvar memlens-e2e-report (list (cons 'steps nil)))
(defun memlens-e2e-put (key value)
  (setf (alist-get key memlens-e2e-report) value))
(defun memlens-e2e-step (name)
  (memlens-e2e-put 'steps (vconcat (alist-get 'steps memlens-e2e-report) (list name))))

(defun memlens-e2e-finish (err)
  (when err (memlens-e2e-put 'error err))
  (with-temp-file (memlens-e2e-get 'out)
    (insert (json-encode memlens-e2e-report)))
  (kill-emacs (if err 1 0)))

(defun memlens-e2e-wait (what seconds pred)
  "Let Emacs run (process output, timers) until PRED is true."
  (let ((end (+ (float-time) seconds)))
    (while (not (funcall pred))
      (when (> (float-time) end)
        (error "Timed out after %ss waiting for %s" seconds what))
      (accept-process-output nil 0.1))))

(defun memlens-e2e-diagnostics ()
  "The flymake diagnostics of the buffer: ((line . L) (text . T) (type . Y))."
  (mapcar (lambda (d)
            (list (cons 'line (line-number-at-pos (flymake-diagnostic-beg d)))
                  (cons 'text (flymake-diagnostic-text d))
                  (cons 'type (format "%s" (flymake-diagnostic-type d)))))
          (flymake-diagnostics)))

(defun memlens-e2e-memory-diagnostics ()
  (cl-remove-if-not (lambda (d) (string-match-p "×" (alist-get 'text d)))
                    (memlens-e2e-diagnostics)))

(defun memlens-e2e-code-action (prefix)
  "M-x eglot-code-actions at point, picking the action whose title starts
with PREFIX, as a user does at the prompt. Returns the offered titles."
  (let (offered)
    (cl-letf (((symbol-function 'completing-read)
               (lambda (_prompt collection &rest _)
                 (setq offered (mapcar #'car collection))
                 (or (cl-find-if (lambda (title) (string-prefix-p prefix title)) offered)
                     (error "No code action %S among %S" prefix offered)))))
      ;; A keyboard (not mouse) invocation: eglot then prompts in the minibuffer.
      (let ((last-nonmenu-event ?\r))
        (call-interactively #'eglot-code-actions)))
    offered))

(defun memlens-e2e-run ()
  (let* ((here (file-name-directory (or load-file-name buffer-file-name)))
         (line (memlens-e2e-get 'line)))
    ;; What an interactive Emacs does at startup and batch mode skips: activate
    ;; the installed packages (eglot, go-mode from Debian's elpa-* packages).
    (package-initialize)
    (load (expand-file-name "../memlens-eglot.el" here) nil t)
    (setq memlens-program (memlens-e2e-get 'bin))
    (setq eglot-sync-connect 10)
    (find-file (memlens-e2e-get 'file))
    (memlens-e2e-put 'mode (format "%s" major-mode))
    ;; eglot-ensure connects after the next command, as in an init file's hook.
    (eglot-ensure)
    (run-hooks 'post-command-hook)
    (memlens-e2e-wait "eglot to connect" 20
                      (lambda () (and (eglot-current-server)
                                      (eglot--server-capable :codeActionProvider))))
    (memlens-e2e-step "connected")

    (goto-char (point-min))
    (forward-line (1- line))
    (memlens-e2e-put 'actions_before (vconcat (memlens-e2e-code-action "Profile memory")))
    (memlens-e2e-step "profile started")
    (memlens-e2e-wait "memory diagnostics" 150
                      (lambda () (memlens-e2e-memory-diagnostics)))
    ;; The full set arrives in one publishDiagnostics; let flymake settle.
    (let ((end (+ (float-time) 1))) (while (< (float-time) end) (accept-process-output nil 0.1)))
    (memlens-e2e-put 'diagnostics (vconcat (memlens-e2e-diagnostics)))
    (memlens-e2e-step "diagnostics")

    (goto-char (point-min))
    (forward-line (1- line))
    (memlens-e2e-put 'actions_after (vconcat (memlens-e2e-code-action "Clear memory profile")))
    (memlens-e2e-wait "the diagnostics to clear" 20
                      (lambda () (null (memlens-e2e-memory-diagnostics))))
    (memlens-e2e-step "cleared")))

(condition-case err
    (progn (memlens-e2e-run) (memlens-e2e-finish nil))
  (error (memlens-e2e-finish (error-message-string err))))

;;; e2e.el ends here
