package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.lsp.dev/protocol"
)

// DidChangeConfiguration applies new settings; invalid ones are reported
// and change nothing.
func (s *Server) DidChangeConfiguration(ctx context.Context, params *protocol.DidChangeConfigurationParams) error {
	s.mu.Lock()
	st, err := parseSettings(s.settings, params.Settings)
	if err == nil {
		s.settings = st
	}
	s.mu.Unlock()
	if err != nil {
		s.showMessage(protocol.MessageTypeError, "memlens settings: "+err.Error())
		return nil
	}
	// Figures shown in hints or diagnostics may have changed. In the
	// background: a notification handler runs on the connection's read loop,
	// so waiting here for the client's answer to the refresh requests would
	// hang the session (seen from Neovim and VS Code, which support refresh).
	go s.refresh(s.ctx, s.openPaths())
	return nil
}

// Settings are the user's options; see the package doc.
type Settings struct {
	Timeout     time.Duration
	Env         map[string]string
	BuildFlags  []string
	Entries     map[string]Entry
	Python      string
	Hints       []string
	Diagnostics bool
	// SampleInterval is the timeline's sampling interval; 0 is the runner's
	// default (the setting unset), negative no timeline (set to 0 or "off").
	SampleInterval time.Duration
}

// Entry says how to run one function.
type Entry struct {
	Test  string `json:"test"`
	Bench string `json:"bench"`
	// In is the Go package of Test or Bench, Run the main package to run
	// with Args: a directory relative to the workspace folder ("./cmd/tool")
	// or an import path.
	In     string   `json:"in"`
	Run    string   `json:"run"`
	Args   []string `json:"args"`
	Script string   `json:"script"`
}

// hintFigures are the names accepted in the hints setting.
var hintFigureNames = []string{"mem", "increment", "alloc", "objects", "retained", "occurrences", "share"}

// defaultSettings leaves Hints empty: each language's own figures (see
// hintFigures).
func defaultSettings() Settings {
	return Settings{}
}

// parseSettings applies a settings object over base. Only the keys present
// change; an invalid value is an error and changes nothing.
func parseSettings(base Settings, raw []byte) (Settings, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		if string(raw) == "null" {
			return base, nil
		}
		return base, fmt.Errorf("settings must be an object: %v", err)
	}
	if nested, ok := top["memlens"]; ok {
		top = nil
		if err := json.Unmarshal(nested, &top); err != nil {
			return base, fmt.Errorf("memlens settings must be an object: %v", err)
		}
	}
	st := base
	for key, val := range top {
		var err error
		switch key {
		case "timeout":
			var s string
			var secs float64
			if err = json.Unmarshal(val, &s); err == nil {
				st.Timeout, err = time.ParseDuration(s)
			} else if err = json.Unmarshal(val, &secs); err == nil {
				st.Timeout = time.Duration(secs * float64(time.Second))
			}
			if err == nil && st.Timeout < 0 {
				err = errors.New("negative")
			}
		case "env":
			st.Env = nil
			err = json.Unmarshal(val, &st.Env)
		case "buildFlags":
			st.BuildFlags = nil
			err = json.Unmarshal(val, &st.BuildFlags)
		case "entries":
			st.Entries = nil
			err = json.Unmarshal(val, &st.Entries)
		case "python":
			err = json.Unmarshal(val, &st.Python)
		case "hints":
			var hints []string
			if err = json.Unmarshal(val, &hints); err == nil {
				for _, h := range hints {
					if !slices.Contains(hintFigureNames, h) {
						err = fmt.Errorf("unknown figure %q (want %s)", h, strings.Join(hintFigureNames, ", "))
						break
					}
				}
				if len(hints) == 0 {
					hints = nil // each language's default
				}
				st.Hints = hints
			}
		case "diagnostics":
			err = json.Unmarshal(val, &st.Diagnostics)
		case "sampleInterval":
			// As --sample-interval: a duration, 0 (or "off") for no timeline.
			var s string
			var d time.Duration
			if err = json.Unmarshal(val, &s); err == nil && s != "off" {
				d, err = time.ParseDuration(s)
			}
			switch {
			case err != nil:
			case d < 0:
				err = errors.New("negative")
			case d == 0:
				st.SampleInterval = -1 // the runner takes no timeline
			default:
				st.SampleInterval = d
			}
		default:
			continue // other tools' settings may share the object
		}
		if err != nil {
			return base, fmt.Errorf("setting %q: %v", key, err)
		}
	}
	return st, nil
}
