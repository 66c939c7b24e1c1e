package server

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSettings(t *testing.T) {
	base := defaultSettings()
	base.Python = "python3.11"
	tests := []struct {
		name, raw string
		want      func(*Settings) // applied to a copy of base; nil with wantErr
		wantErr   string
	}{
		{"null changes nothing", `null`, func(*Settings) {}, ""},
		{"nested under memlens", `{"memlens": {"timeout": "30s", "diagnostics": true}}`, func(s *Settings) {
			s.Timeout, s.Diagnostics = 30*time.Second, true
		}, ""},
		{"flat, timeout in seconds, others' keys ignored", `{"timeout": 1.5, "gopls": {"x": 1}}`, func(s *Settings) { s.Timeout = 1500 * time.Millisecond }, ""},
		{"empty hints mean the default", `{"hints": []}`, func(*Settings) {}, ""},
		{"every field", `{"hints": ["alloc", "occurrences"], "env": {"A": "1"}, "buildFlags": ["-tags=x"], "python": "py", "entries": {"F": {"test": "TestF"}, "G": {"test": "TestG", "in": "./app"}, "H": {"run": "./cmd/tool", "args": ["x"]}, "a/b.py:g": {"script": "main.py", "args": ["-v"]}}}`, func(s *Settings) {
			s.Hints = []string{"alloc", "occurrences"}
			s.Env = map[string]string{"A": "1"}
			s.BuildFlags = []string{"-tags=x"}
			s.Python = "py"
			s.Entries = map[string]Entry{"F": {Test: "TestF"}, "G": {Test: "TestG", In: "./app"}, "H": {Run: "./cmd/tool", Args: []string{"x"}},
				"a/b.py:g": {Script: "main.py", Args: []string{"-v"}}}
		}, ""},
		{"sample interval", `{"sampleInterval": "2ms"}`, func(s *Settings) { s.SampleInterval = 2 * time.Millisecond }, ""},
		{"negative sample interval", `{"sampleInterval": "-5ms"}`, nil, "negative"},
		{"no timeline", `{"sampleInterval": "off"}`, func(s *Settings) { s.SampleInterval = -1 }, ""},
		{"no timeline, as the flag says it", `{"sampleInterval": "0"}`, func(s *Settings) { s.SampleInterval = -1 }, ""},
		{"sample interval as a number", `{"sampleInterval": 10}`, nil, `setting "sampleInterval"`},
		{"unknown figure", `{"hints": ["mem", "bogus"], "python": "other"}`, nil, `unknown figure "bogus"`},
		{"negative timeout", `{"timeout": "-1s"}`, nil, "negative"},
		{"bad duration", `{"timeout": "soon"}`, nil, `setting "timeout"`},
		{"wrong type", `{"diagnostics": "yes"}`, nil, `setting "diagnostics"`},
		{"not an object", `[1]`, nil, "settings must be an object"},
		{"memlens not an object", `{"memlens": 3}`, nil, "memlens settings must be an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSettings(base, []byte(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one containing %q", err, tt.wantErr)
				}
				if !reflect.DeepEqual(got, base) {
					t.Errorf("a bad setting changed the settings: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}
