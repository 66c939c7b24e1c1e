package server

import (
	"strings"
	"testing"

	"github.com/memlens/memlens/profile"
)

// TestHintLabels checks the figures each language's hint shows by default,
// the share on the heaviest lines, and that the hints setting overrides.
func TestHintLabels(t *testing.T) {
	const kib, mib = 1 << 10, 1 << 20
	// line builds a line that ran n times with the given increment and
	// allocation.
	line := func(n int, occ uint64, incr, alloc int64) profile.Line {
		return profile.Line{Line: n, Code: true, Occurrences: occ, MemUsageBytes: 8 * mib, IncrementBytes: incr, AllocBytes: alloc}
	}
	tests := []struct {
		name     string
		language string
		lines    []profile.Line
		fnAlloc  int64 // the function's allocation, each allocation once
		hints    []string
		want     map[int]string
		hover    map[int]string // a line's hover says this
	}{
		{
			name: "go: allocation and ×N; no RSS below 1 MiB; the share of the function's allocation",
			// 10 KiB of the function's 16 KiB on line 2, 5 KiB on 3, 1 KiB on 4 (6%: no share).
			language: "go", fnAlloc: 16 * kib,
			lines: []profile.Line{line(1, 3, 0, 0), line(2, 3, 4096, 10*kib), line(3, 3, 0, 5*kib), line(4, 3, 0, kib), line(5, 6, -512, 0)},
			want: map[int]string{
				1: "×3",
				2: "alloc 10.0 KiB  ▲ 63%  ×3",
				3: "alloc 5.0 KiB  ▲ 31%  ×3",
				4: "alloc 1.0 KiB  ×3",
				5: "×6",
			},
		},
		{
			name:     "go: the RSS increment where it is at least 1 MiB either way",
			language: "go", fnAlloc: 24 * mib,
			lines: []profile.Line{line(1, 1, 25*mib, 24*mib), line(2, 1, -2*mib, 0), line(3, 1, mib-1, 0)},
			want: map[int]string{
				1: "alloc 24.0 MiB  ▲ 100%  +25.0 MiB  ×1",
				2: "-2.0 MiB  ×1",
				3: "×1",
			},
		},
		{
			name:     "go: at most three lines carry a share",
			language: "go", fnAlloc: 100 * kib,
			lines: []profile.Line{line(1, 1, 0, 20*kib), line(2, 1, 0, 20*kib), line(3, 1, 0, 30*kib), line(4, 1, 0, 30*kib)},
			want: map[int]string{
				1: "alloc 20.0 KiB  ▲ 20%  ×1", // the first of two equal lines
				2: "alloc 20.0 KiB  ×1",
				3: "alloc 30.0 KiB  ▲ 30%  ×1",
				4: "alloc 30.0 KiB  ▲ 30%  ×1",
			},
		},
		{
			name: "python: the increment and ×N, the allocation where it is larger, the share of the growth",
			// Growth: 12 MiB + 4 MiB = 16 MiB; line 4's -1 MiB does not count.
			language: "python", fnAlloc: 40 * mib,
			lines: []profile.Line{line(1, 5, 0, 0), line(2, 4, 12*mib, 12*mib), line(3, 1, 4*mib, 20*mib), line(4, 1, -mib, 0), line(5, 1, 0, 56)},
			want: map[int]string{
				1: "×5",
				2: "+12.0 MiB  ▲ 75%  ×4",
				3: "+4.0 MiB  ▲ 25%  alloc 20.0 MiB  ×1",
				4: "-1.0 MiB  ×1",
				5: "alloc 56 B  ×1",
			},
			hover: map[int]string{2: "75.0% of the memory growth of `f`"},
		},
		{
			name:     "python: a function that grew nothing ranks by allocation",
			language: "python", fnAlloc: 4 * kib,
			lines: []profile.Line{line(1, 1, 0, 3*kib), line(2, 1, 0, kib), line(3, 2, 0, 0)},
			want: map[int]string{
				1: "alloc 3.0 KiB  ▲ 75%  ×1",
				2: "alloc 1.0 KiB  ▲ 25%  ×1",
				3: "×2",
			},
		},
		{
			name:     "the hints setting overrides the defaults, share where asked",
			language: "go", fnAlloc: 16 * kib, hints: []string{"mem", "increment", "share", "occurrences"},
			lines: []profile.Line{line(1, 3, 0, 0), line(2, 3, 4096, 16*kib)},
			want: map[int]string{
				1: "8.0 MiB  +0 B  ×3",
				2: "8.0 MiB  +4.0 KiB  ▲ 100%  ×3",
			},
		},
		{
			// &T{\n m: make(...),\n}: the statement counts on line 1, the
			// make allocates on line 2, which has no count of its own.
			name:     "go: a continuation line shows its allocation and share, without ×0",
			language: "go", fnAlloc: 12 * kib,
			lines: []profile.Line{line(1, 3, 0, 2*kib), {Line: 2, AllocBytes: 10 * kib}, {Line: 3}},
			want: map[int]string{
				1: "alloc 2.0 KiB  ▲ 17%  ×3",
				2: "alloc 10.0 KiB  ▲ 83%",
			},
			hover: map[int]string{2: "| occurrences | counted on the first line of the statement |"},
		},
		{
			name:     "python objects are not measured",
			language: "python", hints: []string{"alloc", "objects", "occurrences"},
			lines: []profile.Line{line(1, 1, 0, 100)},
			want:  map[int]string{1: "alloc 100 B  ×1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := profile.Function{Name: "f", AllocBytes: tt.fnAlloc, Lines: tt.lines}
			res := &profile.Result{Language: tt.language, Functions: []profile.Function{fn}}
			r := &run{result: res, fn: &res.Functions[0]}
			r.shares = shares(r.result, r.fn)
			s := &Server{settings: Settings{Hints: tt.hints}}
			for i := range r.fn.Lines {
				l := &r.fn.Lines[i]
				got := hintLabel(r.result, l, s.hintFigures(r, l), r.shares.pct[l.Line])
				if got != tt.want[l.Line] {
					t.Errorf("line %d: %q, want %q", l.Line, got, tt.want[l.Line])
				}
				if want, ok := tt.hover[l.Line]; ok {
					if h := lineDetails(&runEntry{cur: r}, l, l.Line-1); !strings.Contains(h, want) {
						t.Errorf("line %d: hover lacks %q:\n%s", l.Line, want, h)
					}
				}
			}
		})
	}
}
