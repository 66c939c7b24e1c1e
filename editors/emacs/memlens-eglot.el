;;; memlens-eglot.el --- memlens memory profiles through eglot  -*- lexical-binding: t -*-

;; Load this file (or copy its forms into your init file):
;;
;;   (load "/path/to/memlens/editors/emacs/memlens-eglot.el")
;;   (setq memlens-program "/path/to/memlens")   ; if memlens is not on PATH
;;
;; then M-x eglot in a Go or Python buffer. eglot has no code lenses, so the
;; "Profile memory" lens is a code action: M-x eglot-code-actions on the
;; function and pick "Profile memory: NAME" (or M-x memlens-profile-at-point).
;; eglot 1.9 (Emacs 28) has no inlay hints either, so the figures of the
;; heaviest lines come as information diagnostics (flymake), which this file
;; turns on; newer eglot (Emacs 29+) also shows the hints at line ends with
;; eglot-inlay-hints-mode. Hover shows every column through eldoc.
;;
;; eglot runs one server per buffer: with this file, memlens serves Go and
;; Python buffers in place of gopls or pylsp.

;;; Code:

(require 'eglot)

(defgroup memlens nil
  "Line-by-line memory profiles for Go and Python."
  :group 'tools)

(defcustom memlens-program "memlens"
  "The memlens binary, started as \"memlens serve\"."
  :type 'string)

(defcustom memlens-settings '(:diagnostics t)
  "memlens server settings, sent as initializationOptions under \"memlens\".
Keys: :timeout \"2m\", :env (:KEY \"value\"), :buildFlags [\"-tags=x\"],
:python \"python3\", :hints [\"mem\" \"increment\" \"occurrences\"], :diagnostics t."
  :type 'plist)

(defun memlens--contact (&rest _)
  "The eglot contact of the memlens server."
  (list memlens-program "serve" :initializationOptions (list :memlens memlens-settings)))

(add-to-list 'eglot-server-programs
             '((go-mode go-ts-mode python-mode python-ts-mode) . memlens--contact))

(defun memlens-profile-at-point ()
  "Profile the function at point with memlens."
  (interactive)
  (eglot-execute-command (eglot--current-server-or-lose) 'memlens.profileAtCursor
                         (vector (list :uri (eglot--path-to-uri (buffer-file-name))
                                       :position (eglot--pos-to-lsp-position)))))

(defun memlens-clear ()
  "Clear the memlens profiles of this buffer."
  (interactive)
  (eglot-execute-command (eglot--current-server-or-lose) 'memlens.clear
                         (vector (list :uri (eglot--path-to-uri (buffer-file-name))))))

(provide 'memlens-eglot)
;;; memlens-eglot.el ends here
