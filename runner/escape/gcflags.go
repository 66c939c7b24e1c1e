package escape

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Package is a package whose diagnostics the build asks for.
type Package struct {
	ImportPath string // an external test package's ends in _test
	Dir        string
	// CmdLine says the package is named on the go command line (the
	// package built, its tests), to which -gcflags without a pattern
	// applies.
	CmdLine bool
}

// GCFlags returns the build flags with, for each package, a
// -gcflags=PATH=... that adds -json=0,dir to the compiler flags the user's
// own -gcflags give that package (the go command applies the last
// -gcflags whose pattern matches a package, so a plain PATH=-json=... would
// drop them). cwd is the directory go runs in, for relative patterns. A
// -json of the user's for those packages is replaced: the compiler takes
// one.
func GCFlags(flags []string, pkgs []Package, cwd, dir string) ([]string, error) {
	type value struct {
		pattern string
		hasPat  bool
		args    []string
	}
	var user []value
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		var v string
		switch {
		case strings.HasPrefix(f, "-gcflags=") || strings.HasPrefix(f, "--gcflags="):
			_, v, _ = strings.Cut(f, "=")
		case (f == "-gcflags" || f == "--gcflags") && i+1 < len(flags):
			i++
			v = flags[i]
		default:
			continue
		}
		var val value
		if v != "" && v[0] != '-' && strings.Contains(v, "=") {
			p, rest, _ := strings.Cut(v, "=")
			val.pattern, val.hasPat, v = strings.TrimSpace(p), true, rest
		}
		args, err := splitQuoted(v)
		if err != nil {
			return nil, fmt.Errorf("-gcflags %q: %v", v, err)
		}
		val.args = args
		user = append(user, val)
	}
	out := append([]string(nil), flags...)
	done := map[string]bool{}
	for _, p := range pkgs {
		// The go command gives an external test package the flags of the
		// package it tests: a pattern naming p_test matches nothing, and
		// the compiler would write no diagnostics for it.
		path := strings.TrimSuffix(p.ImportPath, "_test")
		if done[path] {
			continue // p and p_test: one flag serves both
		}
		done[path] = true
		var args []string
		for _, v := range user {
			if v.hasPat && matchPattern(v.pattern, p, cwd) || !v.hasPat && p.CmdLine {
				args = v.args
			}
		}
		var keep []string
		for _, a := range args {
			if !strings.HasPrefix(a, "-json=") && !strings.HasPrefix(a, "--json=") {
				keep = append(keep, a)
			}
		}
		joined, err := joinQuoted(append(keep, "-json=0,"+dir))
		if err != nil {
			return nil, err
		}
		out = append(out, "-gcflags="+path+"="+joined)
	}
	return out, nil
}

// matchPattern reports whether a -gcflags package pattern matches p, as
// the go command matches them: "all", an import path pattern with ...
// wildcards, or a directory pattern relative to cwd (./x/...).
func matchPattern(pattern string, p Package, cwd string) bool {
	switch pattern {
	case "all":
		return true
	case "std", "cmd":
		return false
	}
	if strings.HasPrefix(pattern, ".") || filepath.IsAbs(pattern) {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(cwd, pattern)
		}
		return wildcard(filepath.ToSlash(filepath.Clean(pattern))).MatchString(filepath.ToSlash(p.Dir))
	}
	return wildcard(pattern).MatchString(p.ImportPath) ||
		wildcard(pattern).MatchString(strings.TrimSuffix(p.ImportPath, "_test"))
}

// wildcard compiles a go command pattern: ... matches any string, and a
// trailing /... also matches the empty string (net/... matches net).
func wildcard(pattern string) *regexp.Regexp {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `/\.\.\.`, `(/.*)?`)
	re = strings.ReplaceAll(re, `\.\.\.`, `.*`)
	return regexp.MustCompile(`^` + re + `$`)
}

// splitQuoted splits a flag list as the go command does
// (cmd/internal/quoted): at spaces, with '...' and "..." fields.
func splitQuoted(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t\n\r")
		if s == "" {
			return out, nil
		}
		if q := s[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil, fmt.Errorf("unterminated %c string", q)
			}
			out = append(out, s[1:1+end])
			s = s[2+end:]
			continue
		}
		end := strings.IndexAny(s, " \t\n\r")
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
}

// joinQuoted is splitQuoted's inverse.
func joinQuoted(args []string) (string, error) {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch {
		case strings.Contains(a, "'") && strings.Contains(a, `"`):
			return "", fmt.Errorf("%q holds both kinds of quote", a)
		case a == "" || strings.ContainsAny(a, " \t\n\r'\""):
			q := "'"
			if strings.Contains(a, "'") {
				q = `"`
			}
			b.WriteString(q + a + q)
		default:
			b.WriteString(a)
		}
	}
	return b.String(), nil
}
